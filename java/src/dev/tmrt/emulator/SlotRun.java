package dev.tmrt.emulator;

import dev.tmrt.memory.MemoryManager;
import java.lang.ref.WeakReference;

/**
 * One slot's task in one round, run in its own thread (named like a Flink task thread) whose
 * context classloader is the round's user-code loader. What the task threw is described as plain
 * strings inside the thread, so that no exception object (whose class may come from the job)
 * outlives the round and keeps its classloader alive.
 */
final class SlotRun implements Runnable {
    private final String entryClass;
    private final String[] args;
    private final ClassLoader loader;
    private final TaskContext ctx;

    /** The failure, or null when the task completed. */
    volatile Failure failure;
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
            failure = Failures.ofTask(t);
        } finally {
            millis = (System.nanoTime() - start) / 1_000_000;
        }
    }

    /** The name of slot {@code slot}'s task thread in round {@code round}. */
    static String threadName(int slot, int round) {
        return "tmrt-slot-" + slot + " (round " + round + ")";
    }

    /** Starts the task in a new thread. */
    Thread start(int slot, int round) {
        Thread t = new Thread(this, threadName(slot, round));
        t.setContextClassLoader(loader);
        t.setDaemon(false);
        t.start();
        return t;
    }
}
