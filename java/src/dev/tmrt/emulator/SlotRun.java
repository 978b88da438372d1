package dev.tmrt.emulator;

import dev.tmrt.memory.MemoryManager;
import java.lang.ref.WeakReference;

/**
 * One slot's task in one round, run in its own thread (named like a Flink task thread) whose
 * context classloader is the round's user-code loader. What the task threw is rendered to JSON
 * inside the thread, so that no exception object (whose class may come from the job) outlives
 * the round and keeps its classloader alive.
 */
final class SlotRun implements Runnable {
    private final String entryClass;
    private final String[] args;
    private final ClassLoader loader;
    private final TaskContext ctx;

    /** The failure as JSON, or null when the task completed. */
    volatile String failureJson;
    volatile long millis;
    /** The loader that defined the entry class, once loaded (weakly: the host must not keep it). */
    volatile WeakReference<ClassLoader> definingLoader;

    SlotRun(String entryClass, String[] args, ClassLoader loader, MemoryManager memory, int slot, int slots, int round, Object owner) {
        this.entryClass = entryClass;
        this.args = args;
        this.loader = loader;
        this.ctx = new TaskContext(memory, slot, slots, round, owner, args);
    }

    @Override
    public void run() {
        long start = System.nanoTime();
        try {
            Class<?> c = EntryPoint.load(entryClass, loader);
            definingLoader = new WeakReference<>(c.getClassLoader());
            EntryPoint.run(c, ctx, args);
        } catch (Throwable t) {
            failureJson = Failures.render(t);
        } finally {
            millis = (System.nanoTime() - start) / 1_000_000;
        }
    }

    /** Starts the task in a new thread. */
    Thread start(int slot, int round) {
        Thread t = new Thread(this, "tmrt-slot-" + slot + " (round " + round + ")");
        t.setContextClassLoader(loader);
        t.setDaemon(false);
        t.start();
        return t;
    }
}
