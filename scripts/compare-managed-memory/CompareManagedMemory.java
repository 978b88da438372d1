import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Flink's org.apache.flink.runtime.memory.MemoryManager against tmrt in ONE JVM, row by row: tmrt's
 * own API (dev.tmrt.memory.MemoryManager) and Flink's API served by tmrt's drop-in (the class the
 * agent substitutes with runtime=managed-memory; here it shadows Flink's on the class path, and
 * Flink's own class runs in a class loader over Flink's jars alone). Every row: warm-up of all
 * three, then rounds in rotating order; the median ns per page (per reservation for that row) of
 * each, in CPU time of the threads that ran it (thread CPU time: a shared, busy machine makes
 * wall-clock times meaningless, while CPU time only counts the work). Rows are printed worst ratio
 * first.
 *
 * Usage: CompareManagedMemory FLINK_LIB_DIR [pageSize=32768] [rounds=7] [pagesPerRound=200000]
 */
public class CompareManagedMemory {
    static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    static final String[] SINGLE = {
        "allocatePages(owner, 1) + release(segment)",
        "reserveMemory + releaseMemory (one page of bytes)",
        "2 threads, one slot: allocatePages(owner, 1) + release(segment)",
    };
    static final String[] BATCHED = {
        "allocatePages(owner, target, n) + release(collection)",
        "allocatePages(owner, n) + releaseAll(owner)",
        "sorter: allocate n, write each, releaseAll",
        "hash table: grow 1 page at a time, release(collection)",
        "spilling: allocate n, release(segment) one by one",
    };
    static final int[] BATCHES = {1, 4, 16, 64, 1024};

    /** One side: a workload object and its run(String, int, int) method. */
    static final class Side {
        final Object workload;
        final Method run;

        Side(Class<?> type, long size, int pageSize) throws Exception {
            Constructor<?> c = type.getConstructor(long.class, int.class);
            workload = c.newInstance(size, pageSize);
            run = type.getMethod("run", String.class, int.class, int.class);
        }

        /** CPU ns per page of the threads that ran the row (immune to waiting for a busy CPU). */
        double time(String row, int n, int times) throws Exception {
            long start = THREADS.getCurrentThreadCpuTime();
            long helpers = (Long) run.invoke(workload, row, n, times);
            return (double) (THREADS.getCurrentThreadCpuTime() - start + helpers) / ((long) n * times);
        }
    }

    public static void main(String[] args) throws Exception {
        File lib = new File(args[0]);
        int pageSize = args.length > 1 ? Integer.parseInt(args[1]) : 32 * 1024;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        int pagesPerRound = args.length > 3 ? Integer.parseInt(args[3]) : 200_000;
        long size = 2048L * pageSize;

        // Flink's own MemoryManager: Flink's jars and this harness's classes, nothing of tmrt.
        List<URL> urls = new ArrayList<>();
        urls.add(CompareManagedMemory.class.getProtectionDomain().getCodeSource().getLocation());
        File[] jars = lib.listFiles((d, n) -> n.endsWith(".jar"));
        Arrays.sort(jars);
        for (File f : jars) {
            urls.add(f.toURI().toURL());
        }
        ClassLoader flinkOnly = new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Class<?> flinkType = Class.forName("FlinkApiWorkload", true, flinkOnly);
        Side flink = new Side(flinkType, size, pageSize);
        Side dropin = new Side(FlinkApiWorkload.class, size, pageSize);
        Side tmrt = new Side(TmrtApiWorkload.class, size, pageSize);
        Class<?> flinkMm = Class.forName("org.apache.flink.runtime.memory.MemoryManager", false, flinkOnly);
        Class<?> dropinMm = Class.forName("org.apache.flink.runtime.memory.MemoryManager");
        System.out.printf(Locale.ROOT, "flink MemoryManager from %s%ndrop-in MemoryManager from %s%n",
                flinkMm.getProtectionDomain().getCodeSource().getLocation(),
                dropinMm.getProtectionDomain().getCodeSource().getLocation());
        System.out.printf(Locale.ROOT,
                "java %s; page size %d bytes, budget %d pages, %d rounds of %d pages (median CPU ns per page)%n",
                System.getProperty("java.version"), pageSize, size / pageSize, rounds, pagesPerRound);

        List<String[]> rows = new ArrayList<>();
        List<Double> worst = new ArrayList<>();
        double flinkReservation = 0;
        for (String row : SINGLE) {
            double f = measure(row, 1, flink, tmrt, dropin, rounds, pagesPerRound, rows, worst);
            if (row.startsWith("reserveMemory")) {
                flinkReservation = f;
            }
        }
        for (String row : BATCHED) {
            for (int n : BATCHES) {
                measure(row, n, flink, tmrt, dropin, rounds, pagesPerRound, rows, worst);
            }
        }
        Integer[] order = new Integer[rows.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(worst.get(a), worst.get(b)));
        System.out.printf(Locale.ROOT, "%-66s %6s %10s %10s %8s %10s %8s%n",
                "row (worst ratio first)", "batch", "flink", "tmrt API", "ratio", "drop-in", "ratio");
        for (int i : order) {
            System.out.println(rows.get(i)[0]);
        }
        System.out.printf(Locale.ROOT, "worst ratio: %.1fx%n", worst.get(order[0]));
        double floor = budgetFloor(rounds, pagesPerRound);
        double lockFloor = lockFloor(rounds, pagesPerRound);
        System.out.printf(Locale.ROOT,
                "floor of a reserve+release pair: any thread may book for any owner, so each call changes shared"
                        + " memory with at least one atomic read-modify-write; a CAS then a getAndAdd on one"
                        + " AtomicLong (Flink's budget word, nothing else): %.1f ns; an uncontended lock taken and"
                        + " released per call (tmrt's owner record, nothing else): %.1f ns; so at most %.1fx Flink's"
                        + " %.1f ns for any thread-safe design%n",
                floor, lockFloor, flinkReservation / Math.min(floor, lockFloor), flinkReservation);
    }

    /** The budget word of {@link #budgetFloor}: a static field, so escape analysis cannot drop the atomics. */
    static final java.util.concurrent.atomic.AtomicLong AVAILABLE = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Median CPU ns of the least a byte budget shared between threads and changed on every call
     * (Flink's design) costs per reserve+release pair: one atomic read-modify-write to reserve,
     * another to release, and nothing else.
     */
    static double budgetFloor(int rounds, int times) {
        double[] t = new double[rounds];
        long bytes = 32 * 1024;
        for (int r = -3; r < rounds; r++) {
            AVAILABLE.set(1L << 40);
            long start = THREADS.getCurrentThreadCpuTime();
            for (int i = 0; i < times; i++) {
                long a;
                do {
                    a = AVAILABLE.get();
                    if (a < bytes) {
                        throw new IllegalStateException("budget exhausted");
                    }
                } while (!AVAILABLE.compareAndSet(a, a - bytes));
                AVAILABLE.getAndAdd(bytes);
            }
            if (r >= 0) {
                t[r] = (double) (THREADS.getCurrentThreadCpuTime() - start) / times;
            }
        }
        return median(t);
    }

    /** The lock word and counter of {@link #lockFloor} (static: escape analysis cannot drop them). */
    static final java.util.concurrent.atomic.AtomicInteger LOCKED = new java.util.concurrent.atomic.AtomicInteger();

    static long booked;

    /**
     * Median CPU ns of a per-owner lock taken and released around a plain update, twice (reserve,
     * release): the least a booking kept per owner under a lock costs (tmrt's design with credit,
     * without the owner lookup and the checks).
     */
    static double lockFloor(int rounds, int times) {
        double[] t = new double[rounds];
        long bytes = 32 * 1024;
        for (int r = -3; r < rounds; r++) {
            long start = THREADS.getCurrentThreadCpuTime();
            for (int i = 0; i < times; i++) {
                while (!LOCKED.compareAndSet(0, 1)) {
                    Thread.onSpinWait();
                }
                booked += bytes;
                LOCKED.lazySet(0);
                while (!LOCKED.compareAndSet(0, 1)) {
                    Thread.onSpinWait();
                }
                booked -= bytes;
                LOCKED.lazySet(0);
            }
            if (r >= 0) {
                t[r] = (double) (THREADS.getCurrentThreadCpuTime() - start) / times;
            }
        }
        return median(t);
    }

    /** Measures one row, adds its line; returns Flink's median. */
    static double measure(String row, int n, Side flink, Side tmrt, Side dropin, int rounds, int pagesPerRound,
            List<String[]> rows, List<Double> worst) throws Exception {
        int times = Math.max(1, pagesPerRound / n);
        Side[] sides = {flink, tmrt, dropin};
        for (int w = 0; w < 3; w++) {
            for (Side s : sides) {
                s.time(row, n, times);
            }
        }
        double[][] t = new double[3][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < 3; k++) {
                int side = (r + k) % 3; // rotate who goes first
                t[side][r] = sides[side].time(row, n, times);
            }
        }
        double f = median(t[0]);
        double a = median(t[1]);
        double d = median(t[2]);
        rows.add(new String[] {String.format(Locale.ROOT, "%-66s %6d %10.1f %10.1f %7.1fx %10.1f %7.1fx",
                row, n, f, a, f / a, d, f / d)});
        worst.add(Math.min(f / a, f / d));
        return f;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
