import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import java.util.ArrayList;
import java.util.List;

/** The workload rows through tmrt's own API, dev.tmrt.memory.MemoryManager. */
public class TmrtApiWorkload {
    private final MemoryManager mm;
    private final int pageSize;
    private final Object owner = new Object();
    /** CPU time of the helper thread of the last two-thread row. */
    private volatile long helperCpuNanos;

    public TmrtApiWorkload(long size, int pageSize) {
        this.mm = MemoryManager.create(size, pageSize);
        this.pageSize = pageSize;
    }

    /** Runs {@code row} with batches of {@code n} pages, {@code times} times; returns the CPU time of helper threads. */
    public long run(String row, int n, int times) throws Exception {
        helperCpuNanos = 0;
        long sink = run(row, n, times, owner);
        if (!mm.verifyEmpty()) {
            throw new AssertionError(row + " left memory allocated");
        }
        return sink == Long.MIN_VALUE ? -1 : helperCpuNanos;
    }

    private long run(String row, int n, int times, Object owner) throws Exception {
        long sink = 0;
        ArrayList<Segment> target = new ArrayList<>(Math.max(n, 1));
        switch (row) {
            case "allocatePages(owner, 1) + release(segment)":
                for (int t = 0; t < times; t++) {
                    List<Segment> s = mm.allocatePages(owner, 1);
                    mm.release(s.get(0));
                    sink += s.size();
                }
                break;
            case "allocatePages(owner, target, n) + release(collection)":
                for (int t = 0; t < times; t++) {
                    mm.allocatePages(owner, target, n);
                    sink += target.size();
                    mm.release(target);
                }
                break;
            case "allocatePages(owner, n) + releaseAll(owner)":
                for (int t = 0; t < times; t++) {
                    sink += mm.allocatePages(owner, n).size();
                    mm.releaseAll(owner);
                }
                break;
            case "sorter: allocate n, write each, releaseAll":
                for (int t = 0; t < times; t++) {
                    mm.allocatePages(owner, target, n);
                    for (Segment s : target) {
                        s.putLong(0, t);
                    }
                    sink += target.size();
                    mm.releaseAll(owner);
                    target.clear();
                }
                break;
            case "hash table: grow 1 page at a time, release(collection)":
                for (int t = 0; t < times; t++) {
                    for (int i = 0; i < n; i++) {
                        mm.allocatePages(owner, target, 1);
                    }
                    sink += target.size();
                    mm.release(target);
                }
                break;
            case "spilling: allocate n, release(segment) one by one":
                for (int t = 0; t < times; t++) {
                    List<Segment> segs = mm.allocatePages(owner, n);
                    for (Segment s : segs) {
                        mm.release(s);
                    }
                    sink += segs.size();
                }
                break;
            case "reserveMemory + releaseMemory (one page of bytes)":
                for (int t = 0; t < times; t++) {
                    mm.reserveMemory(owner, pageSize);
                    mm.releaseMemory(owner, pageSize);
                    sink++;
                }
                break;
            case "2 threads, one slot: allocatePages(owner, 1) + release(segment)": {
                Thread other = new Thread(() -> {
                    long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
                    try {
                        run("allocatePages(owner, 1) + release(segment)", 1, times / 2, new Object());
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                    helperCpuNanos = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu;
                });
                other.start();
                sink += run("allocatePages(owner, 1) + release(segment)", 1, times - times / 2, owner);
                other.join();
                break;
            }
            default:
                throw new IllegalArgumentException(row);
        }
        return sink;
    }
}
