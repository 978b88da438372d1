import dev.tmrt.memory.MemoryAllocationException;
import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Threads allocating and releasing in one MemoryManager: no page is handed out twice (a claim
 * per page, and a stamp in each page checked before release), none is lost (all memory back at
 * the end), and racing double releases succeed exactly once.
 */
public class Stress {
    static final int PS = 4096;
    static final int PAGES = 256;

    public static void main(String[] args) throws Exception {
        final MemoryManager mm = MemoryManager.create((long) PAGES * PS, PS);
        final long base = baseOf(mm);
        final AtomicLongArray claims = new AtomicLongArray(PAGES);
        final AtomicInteger failures = new AtomicInteger();
        Thread[] threads = new Thread[8];
        for (int t = 0; t < threads.length; t++) {
            final long me = t + 1;
            threads[t] = new Thread(() -> {
                try {
                    run(mm, base, claims, me);
                } catch (Throwable e) {
                    e.printStackTrace();
                    failures.incrementAndGet();
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failures.get() > 0) {
            throw new AssertionError(failures.get() + " threads failed");
        }
        if (!mm.verifyEmpty() || mm.availableMemory() != (long) PAGES * PS) {
            throw new AssertionError("memory lost: " + mm.usageReport());
        }
        // Racing double releases: exactly one wins each time.
        for (int i = 0; i < 200; i++) {
            final Segment s = mm.allocatePages("racer", 1).get(0);
            final AtomicInteger wins = new AtomicInteger();
            Runnable r = () -> {
                try {
                    mm.release(s);
                    wins.incrementAndGet();
                } catch (IllegalStateException expected) {
                    // the loser
                }
            };
            Thread x = new Thread(r);
            Thread y = new Thread(r);
            x.start();
            y.start();
            x.join();
            y.join();
            if (wins.get() != 1) {
                throw new AssertionError("double release won " + wins.get() + " times");
            }
        }
        if (!mm.verifyEmpty()) {
            throw new AssertionError(mm.usageReport());
        }
        System.out.println("ALL OK");
    }

    static long baseOf(MemoryManager mm) throws Exception {
        Segment s = mm.allocatePages("probe", PAGES).get(0);
        long min = Long.MAX_VALUE;
        mm.releaseAll("probe");
        List<Segment> all = mm.allocatePages("probe", PAGES);
        for (Segment x : all) {
            min = Math.min(min, x.address());
        }
        mm.release(all);
        if (!s.isFreed()) {
            throw new AssertionError("releaseAll left a segment live");
        }
        return min;
    }

    static void claim(AtomicLongArray claims, long base, Segment s, long who) {
        int page = (int) ((s.address() - base) / PS);
        long prev = claims.getAndSet(page, who);
        if (prev != 0) {
            throw new AssertionError("page " + page + " handed to " + who + " while " + prev + " holds it");
        }
        s.putLong(0, who);
        s.putLong(8, s.address());
    }

    static void unclaim(AtomicLongArray claims, long base, Segment s, long who) {
        if (s.getLong(0) != who || s.getLong(8) != s.address()) {
            throw new AssertionError("page overwritten by another holder");
        }
        int page = (int) ((s.address() - base) / PS);
        if (claims.getAndSet(page, 0) != who) {
            throw new AssertionError("claim lost");
        }
    }

    static void run(MemoryManager mm, long base, AtomicLongArray claims, long me) throws Exception {
        Random rnd = new Random(me);
        Object owner = "thread-" + me;
        List<Segment> held = new ArrayList<>();
        for (int i = 0; i < 20000; i++) {
            int op = rnd.nextInt(10);
            if (op < 4) {
                int n = 1 + rnd.nextInt(16);
                try {
                    List<Segment> got = mm.allocatePages(owner, n);
                    for (Segment s : got) {
                        claim(claims, base, s, me);
                    }
                    held.addAll(got);
                } catch (MemoryAllocationException full) {
                    if (!full.getMessage().startsWith("Could not allocate " + n + " pages")) {
                        throw full;
                    }
                }
            } else if (op < 6 && !held.isEmpty()) {
                Segment s = held.remove(rnd.nextInt(held.size()));
                unclaim(claims, base, s, me);
                mm.release(s);
                try {
                    mm.release(s);
                    throw new AssertionError("double release accepted");
                } catch (IllegalStateException expected) {
                    // refused
                }
            } else if (op < 8 && !held.isEmpty()) {
                int k = 1 + rnd.nextInt(held.size());
                List<Segment> batch = new ArrayList<>(held.subList(0, k));
                held.subList(0, k).clear();
                for (Segment s : batch) {
                    unclaim(claims, base, s, me);
                }
                mm.release(batch);
            } else if (op == 8) {
                for (Segment s : held) {
                    unclaim(claims, base, s, me);
                }
                mm.releaseAll(owner);
                for (Segment s : held) {
                    if (!s.isFreed()) {
                        throw new AssertionError("releaseAll missed a segment");
                    }
                }
                held.clear();
            } else {
                long bytes = 1 + rnd.nextInt(3 * PS);
                try {
                    mm.reserveMemory(owner, bytes);
                    mm.releaseMemory(owner, bytes);
                } catch (dev.tmrt.memory.MemoryReservationException full) {
                    // budget momentarily used up by others
                }
            }
        }
        for (Segment s : held) {
            unclaim(claims, base, s, me);
        }
        mm.release(held);
    }
}
