import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Flink's org.apache.flink.runtime.memory.MemoryManager against dev.tmrt.memory.MemoryManager in
 * one JVM: same budget, page size and batch sizes; allocate a batch for an owner, release it;
 * rounds alternate between the two after a warm-up of both. Prints ns per page (median of the
 * measured rounds) and Flink's time divided by tmrt's.
 *
 * Usage: CompareManagedMemory [pageSize] [rounds] [pagesPerRound]
 */
public class CompareManagedMemory {
    interface Impl {
        /** Allocates {@code n} pages and releases them, {@code times} times. */
        void run(int n, int times) throws Exception;
    }

    static final Object OWNER = new Object();
    static volatile long sink;

    public static void main(String[] args) throws Exception {
        int pageSize = args.length > 0 ? Integer.parseInt(args[0]) : 32 * 1024;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int pagesPerRound = args.length > 2 ? Integer.parseInt(args[2]) : 400_000;
        long size = 2048L * pageSize;

        org.apache.flink.runtime.memory.MemoryManager flink =
                org.apache.flink.runtime.memory.MemoryManager.create(size, pageSize);
        dev.tmrt.memory.MemoryManager tmrt = dev.tmrt.memory.MemoryManager.create(size, pageSize);

        Impl flinkImpl = (n, times) -> {
            for (int t = 0; t < times; t++) {
                List<org.apache.flink.core.memory.MemorySegment> segs = flink.allocatePages(OWNER, n);
                sink += segs.size();
                if (n == 1) {
                    flink.release(segs.get(0));
                } else {
                    flink.release(segs);
                }
            }
        };
        Impl tmrtImpl = (n, times) -> {
            for (int t = 0; t < times; t++) {
                List<dev.tmrt.memory.Segment> segs = tmrt.allocatePages(OWNER, n);
                sink += segs.size();
                if (n == 1) {
                    tmrt.release(segs.get(0));
                } else {
                    tmrt.release(segs);
                }
            }
        };

        System.out.printf(Locale.ROOT, "java %s, %s; page size %d bytes, budget %d pages, %d rounds of %d pages%n",
                System.getProperty("java.version"), System.getProperty("java.vm.name"), pageSize, size / pageSize,
                rounds, pagesPerRound);
        System.out.printf(Locale.ROOT, "%-8s %16s %16s %8s%n", "batch", "flink ns/page", "tmrt ns/page", "ratio");
        for (int n : new int[] {1, 64, 1024}) {
            int times = Math.max(1, pagesPerRound / n);
            // Warm-up: both, alternating, until the JIT has settled.
            for (int w = 0; w < 3; w++) {
                flinkImpl.run(n, times);
                tmrtImpl.run(n, times);
            }
            double[] f = new double[rounds];
            double[] t = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                // Alternate which one goes first, so neither always follows the other.
                if (r % 2 == 0) {
                    f[r] = time(flinkImpl, n, times);
                    t[r] = time(tmrtImpl, n, times);
                } else {
                    t[r] = time(tmrtImpl, n, times);
                    f[r] = time(flinkImpl, n, times);
                }
            }
            double fm = median(f);
            double tm = median(t);
            System.out.printf(Locale.ROOT, "%-8d %16.1f %16.1f %7.1fx%n", n, fm, tm, fm / tm);
        }
        if (!flink.verifyEmpty() || !tmrt.verifyEmpty()) {
            throw new AssertionError("a memory manager is not empty after the run");
        }
        flink.shutdown();
        tmrt.shutdown();
    }

    static double time(Impl impl, int n, int times) throws Exception {
        long start = System.nanoTime();
        impl.run(n, times);
        long elapsed = System.nanoTime() - start;
        return (double) elapsed / ((long) n * times);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
