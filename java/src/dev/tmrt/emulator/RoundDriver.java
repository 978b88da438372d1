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
 * The JVM half of {@code tmrt emulate}: the Rust host creates one driver and calls {@link
 * #runRound} once per round, then {@link #finish}. Each call returns JSON that the host parses
 * into {@code runtime::emulator} values; the host decides what to print and what it means.
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
    /** Per round, weak references to its user-code loader and the loaders that defined its entry. */
    private final List<List<WeakReference<ClassLoader>>> loaders = new ArrayList<>();

    /** How long {@link #finish} waits at most for the rounds' loaders to be collected. */
    static final long SETTLE_MILLIS = 1_000;
    /** How often it collects while waiting. */
    static final long SETTLE_STEP_MILLIS = 25;

    /**
     * @param jarPaths the job jars (the host checked they exist)
     * @param slotBytes managed memory per slot, bytes
     */
    public RoundDriver(
            String resolveOrder,
            String[] parentFirstPatterns,
            boolean checkLeakedClassLoader,
            String[] jarPaths,
            String entryClass,
            String[] args,
            long[] slotBytes,
            int pageSize)
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
        this.slots = new MemoryManager[slotBytes.length];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = MemoryManager.create(slotBytes[i], pageSize);
        }
        warmUp();
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
        new JsonWriter().beginObject().name("w").value("\u0001").raw(null).value(0).endObject().toString();
        JvmFigures.write(new JsonWriter());
        aliveLoaders();
        Telemetry.snapshot().toJson();
    }

    /**
     * The JVM before the first round, after a full GC: {@code {"figures": {...}, "agent":
     * report}}; the host leaves the loaders the agent already knows out of this job's verdict.
     */
    public String baseline() {
        fullGc();
        JsonWriter json = new JsonWriter();
        json.beginObject().name("figures");
        JvmFigures.write(json);
        json.name("agent").raw(Telemetry.snapshot().toJson());
        return json.endObject().toString();
    }

    /** Runs round {@code round} (from 1) in every slot and returns its record as JSON. */
    public String runRound(int round) throws InterruptedException, IOException {
        long start = System.nanoTime();
        JsonWriter json = new JsonWriter();
        json.beginObject().name("round").value(round).name("slots").beginArray();
        runSlots(round, json);
        json.endArray();
        // runSlots has returned: no frame of this thread refers to the round's loader any more
        // (a dead local of a running frame would still be a GC root).
        fullGc();
        json.name("after");
        JvmFigures.write(json);
        json.name("loaders_alive").value(aliveLoaders());
        json.name("millis").value((System.nanoTime() - start) / 1_000_000);
        return json.endObject().toString();
    }

    /**
     * The round's work: a fresh user-code loader, the entry in every slot's thread, then the
     * loader closed and the slots freed. Writes the slots' outcomes; keeps only a weak
     * reference to the loader.
     */
    private void runSlots(int round, JsonWriter json) throws InterruptedException, IOException {
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
        for (int s = 0; s < slots.length; s++) {
            threads[s].join();
        }
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
        for (int s = 0; s < slots.length; s++) {
            json.beginObject()
                    .name("slot").value(s)
                    .name("millis").value(runs[s].millis)
                    .name("failure").raw(runs[s].failureJson)
                    .name("leftover").beginArray();
            freeSlot(s, owners[s], json);
            json.endArray().endObject();
        }
    }

    /**
     * Frees slot {@code s} after its task, as Flink's TaskExecutor frees a job's slot: what the
     * task's owner left (pages and reservations) is released and reported, anything other
     * owners still hold is reported, and the slot's memory manager is shut down and replaced by
     * a fresh one for the next round (so it keeps no reference to the job's owner objects).
     * Each leftover is written as {@code {"owner","pages"}}.
     */
    private void freeSlot(int s, Object owner, JsonWriter json) {
        MemoryManager mm = slots[s];
        long before = mm.availableMemory();
        mm.releaseAll(owner);
        mm.releaseAllMemory(owner);
        long freed = mm.availableMemory() - before;
        if (freed > 0) {
            json.beginObject().name("owner").value(owner.toString()).name("pages").value(pages(freed)).endObject();
        }
        long held = mm.getMemorySize() - mm.availableMemory();
        if (held > 0) {
            json.beginObject().name("owner").value(mm.usageReport()).name("pages").value(pages(held)).endObject();
        }
        mm.shutdown();
        slots[s] = MemoryManager.create(slotBytes[s], pageSize);
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

    /**
     * Ends the run: the agent forces {@code gcCycles} full collections and reports every loader
     * (its JSON report), then the slots' pools are shut down. Returns {@code {"agent": report,
     * "rounds_alive": [rounds whose loader is still reachable]}}.
     */
    public String finish(int gcCycles) throws InterruptedException {
        settle();
        String report = Telemetry.collectAndSnapshot(gcCycles).toJson();
        JsonWriter json = new JsonWriter();
        json.beginObject().name("agent").raw(report).name("rounds_alive").beginArray();
        for (int i = 0; i < loaders.size(); i++) {
            if (anyAlive(loaders.get(i))) {
                json.value(i + 1);
            }
        }
        json.endArray().endObject();
        for (MemoryManager mm : slots) {
            mm.shutdown();
        }
        return json.toString();
    }

    /**
     * Gives transient references to the rounds' loaders time to go before the agent's verdict:
     * a JIT compilation of the job's code still in flight holds its class (and loader) through
     * the compiler's own handles. Collects every {@link #SETTLE_STEP_MILLIS} until every
     * round's loader is gone or {@link #SETTLE_MILLIS} have passed; a real leak waits it out.
     */
    private void settle() throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE_MILLIS * 1_000_000L;
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
