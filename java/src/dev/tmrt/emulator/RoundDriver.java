package dev.tmrt.emulator;

import dev.tmrt.classload.UserCodeClassLoaders;
import dev.tmrt.memory.MemoryManager;
import dev.tmrt.telemetry.Telemetry;
import java.io.File;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM half of {@code tmrt emulate}'s plain mode: the Rust host creates one driver and calls
 * {@link #baseline}, {@link #runRound} once per round, then {@link #finish}. Each call returns a
 * plain object ({@link RoundResult}, {@link RunSnapshot}) whose fields the host reads through JNI
 * into {@code runtime::emulator} values, the agent's report among them as the agent wrote it;
 * the host decides what to print and what it means.
 *
 * <p>A round is a job (re)start in a session cluster: a fresh user-code classloader over the job
 * jars, made like Flink's {@code FlinkUserCodeClassLoaders} with the configured resolve order and
 * parent-first patterns; the entry run in every slot's thread; then the loader closed, each
 * slot freed as Flink frees a job's slot (what the task's owner, or anyone else, left in its
 * managed memory is reported and released, and the slot gets a fresh memory manager), two full
 * GCs requested and the JVM's figures recorded. The parent of the user-code loader is the class
 * path the host started the JVM with: tmrt's jar and the {@code --lib} jars, as Flink's
 * {@code lib/}. The slot threads' context classloader is the user-code loader as Flink's task
 * threads see it (the safety-net wrapper when {@code classloader.check-leaked-classloader} is on).
 *
 * <p>The driver keeps only weak references to a round's loaders, and no frame of the calling
 * thread refers to them when it collects, so whatever keeps a loader alive is the job's doing.
 */
public final class RoundDriver {
    private final String resolveOrder;
    private final String[] parentFirstPatterns;
    private final boolean checkLeakedClassLoader;
    private final URL[] jars;
    private final String entryClass;
    private final String[] args;
    private final long[] slotBytes;
    private final int pageSize;
    private final MemoryManager[] slots;
    private final boolean exitIntercepted;
    /** How long a slot's task may run, milliseconds; 0 for no limit. */
    private final long taskTimeoutMillis;
    /** Per round, weak references to its user-code loader and the loaders that defined its entry. */
    private final List<List<WeakReference<ClassLoader>>> loaders = new ArrayList<>();

    /** How long {@link #finish} waits at most for the rounds' loaders to be collected. */
    static final long SETTLE_MILLIS = 1_000;
    /** How long a timed-out task gets to end after its interrupt. */
    static final long INTERRUPT_GRACE_MILLIS = 100;
    /** How long each round waits at most for its own loader to be collected. */
    static final long ROUND_SETTLE_MILLIS = 200;
    /** How often it collects while waiting. */
    static final long SETTLE_STEP_MILLIS = 25;

    /**
     * @param jarPaths the job jars (the host checked they exist)
     * @param slotBytes managed memory per slot, bytes
     * @param taskTimeoutMillis how long a slot's task may run (0: no limit); a task still running
     *     then is interrupted and reported as timed out
     */
    public RoundDriver(
            String resolveOrder,
            String[] parentFirstPatterns,
            boolean checkLeakedClassLoader,
            String[] jarPaths,
            String entryClass,
            String[] args,
            long[] slotBytes,
            int pageSize,
            long taskTimeoutMillis)
            throws MalformedURLException {
        this.resolveOrder = resolveOrder;
        this.parentFirstPatterns = parentFirstPatterns.clone();
        this.checkLeakedClassLoader = checkLeakedClassLoader;
        this.jars = new URL[jarPaths.length];
        for (int i = 0; i < jarPaths.length; i++) {
            jars[i] = new File(jarPaths[i]).toURI().toURL();
        }
        this.entryClass = entryClass;
        this.args = args.clone();
        this.slotBytes = slotBytes.clone();
        this.pageSize = pageSize;
        this.taskTimeoutMillis = taskTimeoutMillis;
        this.slots = new MemoryManager[slotBytes.length];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = MemoryManager.create(slotBytes[i], pageSize);
        }
        warmUp();
        exitIntercepted = ExitInterceptor.install();
    }

    /**
     * Whether a job's {@code System.exit} is intercepted (thrown as {@link
     * UserSystemExitException} in its thread) rather than ending the process.
     */
    public boolean exitIntercepted() {
        return exitIntercepted;
    }

    /**
     * Runs every host-side path of a round once, before any job code: a job that exhausts
     * metaspace for good (its classes kept by a leak) leaves no room to load a class, and the
     * host must still report it, free the slots and judge the loaders.
     */
    private void warmUp() throws MalformedURLException {
        Failures.warmUp();
        try {
            UserCodeClassLoaders.create(
                            resolveOrder,
                            jars,
                            RoundDriver.class.getClassLoader(),
                            parentFirstPatterns,
                            checkLeakedClassLoader)
                    .close();
        } catch (IOException | RuntimeException e) {
            // A jar the loader cannot use shows again, with its round and slot, in runRound.
        }
        MemoryManager mm = MemoryManager.create(2L * pageSize, pageSize);
        Object owner = new TaskOwner(0, 0);
        try {
            mm.allocatePages(owner, 1);
        } catch (dev.tmrt.memory.MemoryAllocationException e) {
            throw new IllegalStateException("cannot allocate one page of a two-page memory manager", e);
        }
        mm.usageReport();
        mm.releaseAll(owner);
        mm.releaseAllMemory(owner);
        mm.availableMemory();
        mm.shutdown();
        new RoundResult(0, 0, new SlotResult[] {new SlotResult(0, 0, null, new SlotResult.Leftover[] {new SlotResult.Leftover("", 0)})},
                null, new Failure[0], "", 0);
        new RunSnapshot("", true, new int[0]);
        aliveLoaders();
        roundsAlive();
        Telemetry.snapshot().toJson();
    }

    /**
     * The JVM before the first round, after a full GC: the agent's report (the host leaves the
     * loaders it already knows out of this job's verdict).
     */
    public RunSnapshot baseline() {
        fullGc();
        return new RunSnapshot(Telemetry.snapshot().toJson(), exitIntercepted, new int[0]);
    }

    /** Runs round {@code round} (from 1) in every slot and returns what it observed. */
    public RoundResult runRound(int round) throws InterruptedException, IOException {
        long start = System.nanoTime();
        ExitInterceptor.drain();
        SlotResult[] results = runSlots(round);
        // runSlots has returned: no frame of this thread refers to the round's loader any more
        // (a dead local of a running frame would still be a GC root).
        fullGc();
        settle(ROUND_SETTLE_MILLIS);
        Failure[] incidents = incidents(round, results);
        String report = Telemetry.snapshot().toJson();
        return new RoundResult(
                round, (System.nanoTime() - start) / 1_000_000, results, null, incidents, report, aliveLoaders());
    }

    /**
     * The incidents of the round, but those a slot's own failure already reports (an exit from
     * the task's thread fails the task with the same kind).
     */
    private Failure[] incidents(int round, SlotResult[] results) {
        List<Failure> out = new ArrayList<>();
        for (Failure f : ExitInterceptor.drain()) {
            boolean reported = false;
            for (SlotResult r : results) {
                if (r.failure != null && r.failure.kind.equals(f.kind) && SlotRun.threadName(r.slot, round).equals(f.thread)) {
                    reported = true;
                }
            }
            if (!reported) {
                out.add(f);
            }
        }
        return out.toArray(new Failure[0]);
    }

    /**
     * The round's work: a fresh user-code loader, the entry in every slot's thread, then the
     * loader closed and the slots freed. Returns the slots' outcomes; keeps only a weak
     * reference to the loader.
     */
    private SlotResult[] runSlots(int round) throws InterruptedException, IOException {
        URLClassLoader loader = UserCodeClassLoaders.create(
                resolveOrder, jars, RoundDriver.class.getClassLoader(), parentFirstPatterns, checkLeakedClassLoader);
        Object[] owners = new Object[slots.length];
        SlotRun[] runs = new SlotRun[slots.length];
        Thread[] threads = new Thread[slots.length];
        for (int s = 0; s < slots.length; s++) {
            owners[s] = new TaskOwner(round, s);
            runs[s] = new SlotRun(entryClass, args, loader, slots[s], s, slots.length, round, owners[s]);
            threads[s] = runs[s].start(s, round);
        }
        Failure[] timedOut = awaitTasks(threads);
        loader.close();
        List<WeakReference<ClassLoader>> refs = new ArrayList<>();
        refs.add(new WeakReference<>(loader));
        for (SlotRun run : runs) {
            WeakReference<ClassLoader> defining = run.definingLoader;
            ClassLoader cl = defining == null ? null : defining.get();
            if (cl != null && cl != loader && !isHostLoader(cl)) {
                refs.add(new WeakReference<>(cl));
            }
        }
        loaders.add(refs);
        SlotResult[] results = new SlotResult[slots.length];
        for (int s = 0; s < slots.length; s++) {
            results[s] = new SlotResult(
                    s,
                    timedOut[s] != null ? taskTimeoutMillis : runs[s].millis,
                    timedOut[s] != null ? timedOut[s] : runs[s].failure,
                    freeSlot(s, owners[s]));
        }
        return results;
    }

    /**
     * Waits for every slot's task, at most until the task timeout. A task still running then is
     * interrupted and given {@link #INTERRUPT_GRACE_MILLIS}; its failure (with the stack it was
     * at) is returned at its slot's index, null for tasks that ended in time.
     */
    private Failure[] awaitTasks(Thread[] threads) throws InterruptedException {
        Failure[] timedOut = new Failure[threads.length];
        long deadline = System.nanoTime() + taskTimeoutMillis * 1_000_000L;
        for (int s = 0; s < threads.length; s++) {
            if (taskTimeoutMillis <= 0) {
                threads[s].join();
                continue;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left > 0) {
                threads[s].join(left);
            }
            if (threads[s].isAlive()) {
                StackTraceElement[] at = threads[s].getStackTrace();
                threads[s].interrupt();
                threads[s].join(INTERRUPT_GRACE_MILLIS);
                timedOut[s] = Failures.timedOut(taskTimeoutMillis, at, threads[s].isAlive());
            }
        }
        return timedOut;
    }

    /**
     * Frees slot {@code s} after its task, as Flink's TaskExecutor frees a job's slot: what the
     * task's owner left (pages and reservations) is released and reported, anything other
     * owners still hold is reported, and the slot's memory manager is shut down and replaced by
     * a fresh one for the next round (so it keeps no reference to the job's owner objects).
     */
    private SlotResult.Leftover[] freeSlot(int s, Object owner) {
        List<SlotResult.Leftover> left = new ArrayList<>();
        MemoryManager mm = slots[s];
        long before = mm.availableMemory();
        mm.releaseAll(owner);
        mm.releaseAllMemory(owner);
        long freed = mm.availableMemory() - before;
        if (freed > 0) {
            left.add(new SlotResult.Leftover(owner.toString(), pages(freed)));
        }
        long held = mm.getMemorySize() - mm.availableMemory();
        if (held > 0) {
            left.add(new SlotResult.Leftover(mm.usageReport(), pages(held)));
        }
        mm.shutdown();
        slots[s] = MemoryManager.create(slotBytes[s], pageSize);
        return left.toArray(new SlotResult.Leftover[0]);
    }

    /**
     * Two full collections: what the first finds unreachable but must finalize or clean first
     * (and anything that object referenced) goes in the second.
     */
    private static void fullGc() {
        System.gc();
        System.gc();
    }

    private long pages(long bytes) {
        return (bytes + pageSize - 1) / pageSize;
    }

    /** Rounds whose user-code loader (or the loader that defined their entry) is still reachable. */
    private int aliveLoaders() {
        int alive = 0;
        for (List<WeakReference<ClassLoader>> refs : loaders) {
            if (anyAlive(refs)) {
                alive++;
            }
        }
        return alive;
    }

    private static boolean anyAlive(List<WeakReference<ClassLoader>> refs) {
        for (WeakReference<ClassLoader> r : refs) {
            if (r.get() != null) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code cl} is the host's class path loader or one of its ancestors (never collected). */
    private static boolean isHostLoader(ClassLoader cl) {
        for (ClassLoader h = RoundDriver.class.getClassLoader(); h != null; h = h.getParent()) {
            if (h == cl) {
                return true;
            }
        }
        return false;
    }

    /** Rounds whose user-code loader is still reachable, from 1. */
    private int[] roundsAlive() {
        List<Integer> alive = new ArrayList<>();
        for (int i = 0; i < loaders.size(); i++) {
            if (anyAlive(loaders.get(i))) {
                alive.add(i + 1);
            }
        }
        int[] out = new int[alive.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = alive.get(i);
        }
        return out;
    }

    /**
     * Ends the run: the agent forces {@code gcCycles} full collections and reports every loader
     * (its JSON report), then the slots' pools are shut down. Returns that report and the rounds
     * whose user-code loader is still reachable.
     */
    public RunSnapshot finish(int gcCycles) throws InterruptedException {
        settle(SETTLE_MILLIS);
        String report = Telemetry.collectAndSnapshot(gcCycles).toJson();
        int[] alive = roundsAlive();
        for (MemoryManager mm : slots) {
            mm.shutdown();
        }
        return new RunSnapshot(report, exitIntercepted, alive);
    }

    /**
     * Gives transient references to the loaders time to go: right after a round, its loader may
     * still be held for a moment (a JIT compilation of the job's code in flight holds its class
     * through the compiler's own handles; the agent and the JDK's cleaner threads briefly hold
     * what they are processing). Collects every {@link #SETTLE_STEP_MILLIS} until no round's
     * loader is reachable or {@code maxMillis} have passed; a real leak waits it out.
     */
    private void settle(long maxMillis) throws InterruptedException {
        long deadline = System.nanoTime() + maxMillis * 1_000_000L;
        while (aliveLoaders() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(SETTLE_STEP_MILLIS);
            fullGc();
        }
    }

    /** The owner a slot's task allocates for in one round (Flink uses the task's invokable). */
    static final class TaskOwner {
        private final int round;
        private final int slot;

        TaskOwner(int round, int slot) {
            this.round = round;
            this.slot = slot;
        }

        @Override
        public String toString() {
            return "task (round " + round + ", slot " + slot + ")";
        }
    }
}
