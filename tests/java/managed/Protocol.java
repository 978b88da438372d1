import dev.tmrt.memory.MemoryAllocationException;
import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The shared page table from both sides: Java threads allocate and release single pages through
 * dev.tmrt.memory.PageTable (no JNI) while the native side checks the table's invariants
 * concurrently; then the native side's view (usage per owner, releaseAll, quiescent balance,
 * retained warm pages) must agree with what Java did, and pages allocated natively (batches) are
 * released by Java's single-page path and vice versa. Prints "OK <check>" per check.
 */
public class Protocol {
    static final int PS = 32 * 1024;
    static final int PAGES = 64;

    static Method check;
    static Field handle;

    static String check(MemoryManager mm, boolean quiet) throws Exception {
        return (String) check.invoke(null, handle.getLong(mm), quiet);
    }

    /** The warm pages of {@code mm} once at most {@code bound}, or after {@code millis}. */
    static int retainedWithin(MemoryManager mm, int bound, long millis) throws Exception {
        long until = System.nanoTime() + millis * 1_000_000L;
        for (;;) {
            String c = check(mm, true);
            int n = Integer.parseInt(c.substring(c.indexOf('=') + 1));
            if (n <= bound || System.nanoTime() > until) {
                return n;
            }
            Thread.sleep(50);
        }
    }

    static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    public static void main(String[] args) throws Exception {
        check = MemoryManager.class.getDeclaredMethod("nativeCheck", long.class, boolean.class);
        check.setAccessible(true);
        handle = MemoryManager.class.getDeclaredField("handle");
        handle.setAccessible(true);

        final MemoryManager mm = MemoryManager.create((long) PAGES * PS, PS);
        final AtomicLongArray claims = new AtomicLongArray(PAGES);
        final long base = base(mm);
        final AtomicInteger failures = new AtomicInteger();
        final AtomicBoolean done = new AtomicBoolean();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            final int me = t + 1;
            threads[t] = new Thread(() -> {
                try {
                    bounce(mm, base, claims, me);
                } catch (Throwable e) {
                    e.printStackTrace();
                    failures.incrementAndGet();
                }
            });
            threads[t].start();
        }
        int checks = 0;
        while (!allDone(threads)) {
            String r = check(mm, false);
            require(r.startsWith("ok"), "native check while Java operates: " + r);
            checks++;
        }
        for (Thread t : threads) {
            t.join();
        }
        require(failures.get() == 0, failures.get() + " threads failed");
        require(checks > 0, "checked concurrently");
        String r = check(mm, true);
        require(r.startsWith("ok"), "quiescent balance after Java's threads: " + r);
        require(mm.verifyEmpty() && mm.availableMemory() == (long) PAGES * PS, "all back: " + mm.usageReport());
        System.out.println("OK threads");

        // Java's state words name the owners the native report names.
        Object a = "owner-a";
        Object b = "owner-b";
        List<Segment> as = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            as.add(mm.allocatePages(a, 1).get(0)); // Java's path
        }
        List<Segment> bs = mm.allocatePages(b, 5); // native batch
        String report = mm.usageReport();
        require(report.contains("owner owner-a: 3 pages") && report.contains("owner owner-b: 5 pages"), report);
        require(check(mm, true).startsWith("ok"), "balanced with pages out");
        // Native releases Java's pages; Java releases native pages one by one.
        mm.releaseAll(a);
        for (Segment s : as) {
            require(s.isFreed(), "releaseAll (native) freed a Java-allocated segment");
        }
        for (Segment s : bs) {
            mm.release(s);
        }
        for (Segment s : as) {
            try {
                mm.release(s);
                throw new AssertionError("double release after native releaseAll accepted");
            } catch (IllegalStateException expected) {
                require(expected.getMessage().contains("double release"), expected.getMessage());
            }
        }
        require(mm.verifyEmpty() && check(mm, true).startsWith("ok"), "empty and balanced: " + mm.usageReport());
        System.out.println("OK agreement");

        // The return policy from Java's releases: 64 pages of 32 KiB keep at most 16 (+ the hot
        // page) warm while in use, and an idle slot with 1 MiB warm gives everything back. A
        // return due within the grace period (1 s) after the previous one waits for its end (the
        // reaper looks again), so the bound holds again at the latest one grace period later.
        List<Segment> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Segment s = mm.allocatePages(a, 1).get(0);
            s.putLong(0, i);
            many.add(s);
        }
        for (int i = 0; i < 39; i++) {
            mm.release(many.get(i));
        }
        int retained = retainedWithin(mm, 17, 5_000);
        require(retained <= 17, "warm pages bounded while in use (within a grace period), saw " + retained);
        mm.release(many.get(39));
        int left = retainedWithin(mm, 31, 5_000);
        require(left < 32, "an idle slot keeps fewer than 1 MiB warm: " + check(mm, true));
        // 1024 pages: the cap is 256, so 40 single releases stay warm until the slot is idle
        // with at least 1 MiB (32 pages) warm, and then all go back at once.
        MemoryManager big = MemoryManager.create(1024L * PS, PS);
        List<Segment> forty = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Segment s = big.allocatePages(a, 1).get(0);
            s.putLong(0, i);
            forty.add(s);
        }
        for (int i = 0; i < 39; i++) {
            big.release(forty.get(i));
        }
        require(check(big, true).equals("ok retained=39"), "warm while in use: " + check(big, true));
        big.release(forty.get(39));
        require(check(big, true).equals("ok retained=0"), "idle slot gave memory back: " + check(big, true));
        big.shutdown();
        System.out.println("OK policy");

        // Over budget from Java's path: the native error, and the parked page never blocks.
        List<Segment> all = new ArrayList<>();
        for (int i = 0; i < PAGES; i++) {
            all.add(mm.allocatePages(a, 1).get(0));
        }
        try {
            mm.allocatePages(a, 1);
            throw new AssertionError("allocation beyond the budget accepted");
        } catch (MemoryAllocationException expected) {
            require(expected.getMessage().contains("Could not allocate 1 pages. Only 0 pages are remaining"),
                    expected.getMessage());
        }
        mm.release(all.remove(0)); // parked as the hot page
        mm.reserveMemory(b, PS); // needs exactly that page's budget
        try {
            mm.allocatePages(a, 1);
            throw new AssertionError("reserved budget handed out as a page");
        } catch (MemoryAllocationException expected) {
            require(expected.getMessage().contains("Only 0 pages"), expected.getMessage());
        }
        mm.releaseMemory(b, PS);
        mm.release(all);
        require(mm.verifyEmpty() && check(mm, true).startsWith("ok"), "empty after budget checks");
        System.out.println("OK budget");

        // Shutdown with a Java-allocated page out: reported as a leak, later release refused.
        Segment leaked = mm.allocatePages(a, 1).get(0);
        mm.shutdown();
        require(leaked.isFreed(), "shutdown freed the Java-allocated segment");
        System.out.println("OK shutdown");
        System.out.println("ALL OK");
    }

    static boolean allDone(Thread[] threads) {
        for (Thread t : threads) {
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    static long base(MemoryManager mm) throws Exception {
        List<Segment> all = mm.allocatePages("probe", PAGES);
        long min = Long.MAX_VALUE;
        for (Segment x : all) {
            min = Math.min(min, x.address());
        }
        mm.release(all);
        return min;
    }

    /** Mostly single pages, two owners per thread (so the owner cache changes hands). */
    static void bounce(MemoryManager mm, long base, AtomicLongArray claims, long me) throws Exception {
        Random rnd = new Random(me);
        Object[] owners = {"t" + me + "-x", "t" + me + "-y"};
        List<Segment> held = new ArrayList<>();
        List<Long> whose = new ArrayList<>();
        for (int i = 0; i < 50_000; i++) {
            int op = rnd.nextInt(20);
            int o = rnd.nextInt(owners.length);
            long who = me * 10 + o;
            if (op < 9) {
                try {
                    Segment s = mm.allocatePages(owners[o], 1).get(0);
                    claim(claims, base, s, who);
                    held.add(s);
                    whose.add(who);
                } catch (MemoryAllocationException full) {
                    require(full.getMessage().startsWith("Could not allocate 1 pages"), full.getMessage());
                }
            } else if (op < 18 && !held.isEmpty()) {
                int k = rnd.nextInt(held.size());
                Segment s = held.remove(k);
                unclaim(claims, base, s, whose.remove(k));
                mm.release(s);
                try {
                    mm.release(s);
                    throw new AssertionError("double release accepted");
                } catch (IllegalStateException expected) {
                    // refused
                }
            } else if (op == 18 && !held.isEmpty()) {
                for (int k = 0; k < held.size(); k++) {
                    unclaim(claims, base, held.get(k), whose.get(k));
                }
                mm.release(held);
                held.clear();
                whose.clear();
            } else {
                try {
                    mm.reserveMemory(owners[o], PS / 2);
                    mm.releaseMemory(owners[o], PS / 2);
                } catch (dev.tmrt.memory.MemoryReservationException full) {
                    // budget momentarily used up by others
                }
            }
        }
        for (int k = 0; k < held.size(); k++) {
            unclaim(claims, base, held.get(k), whose.get(k));
        }
        mm.release(held);
    }

    static void claim(AtomicLongArray claims, long base, Segment s, long who) {
        int page = (int) ((s.address() - base) / PS);
        long prev = claims.getAndSet(page, who);
        require(prev == 0, "page " + page + " handed to " + who + " while " + prev + " holds it");
        s.putLong(0, who);
        s.putLong(8, s.address());
    }

    static void unclaim(AtomicLongArray claims, long base, Segment s, long who) {
        require(s.getLong(0) == who && s.getLong(8) == s.address(), "page overwritten by another holder");
        int page = (int) ((s.address() - base) / PS);
        require(claims.getAndSet(page, 0) == who, "claim lost");
    }
}
