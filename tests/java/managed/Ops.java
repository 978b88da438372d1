import dev.tmrt.memory.MemoryAllocationException;
import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.MemoryReservationException;
import dev.tmrt.memory.Segment;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/** Every MemoryManager operation and error, from a real JVM. Prints "OK <check>" per check. */
public class Ops {
    interface Body {
        void run() throws Exception;
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    static <T extends Throwable> T expect(Class<T> type, String messagePart, Body body) throws Exception {
        try {
            body.run();
        } catch (Throwable t) {
            if (!type.isInstance(t)) {
                throw new AssertionError("expected " + type.getName() + " but got " + t, t);
            }
            if (t.getMessage() == null || !t.getMessage().contains(messagePart)) {
                throw new AssertionError("message of " + t + " lacks '" + messagePart + "'");
            }
            return type.cast(t);
        }
        throw new AssertionError("expected " + type.getName() + " containing '" + messagePart + "'");
    }

    /** Whether {@code mm} has {@code bytes} available within {@code millis} (collecting garbage). */
    static boolean awaitAvailable(MemoryManager mm, long bytes, long millis) throws Exception {
        long until = System.nanoTime() + millis * 1_000_000L;
        while (mm.availableMemory() != bytes) {
            if (System.nanoTime() > until) {
                return false;
            }
            System.gc();
            Thread.sleep(20);
        }
        return true;
    }

    static boolean awaitAvailable(MemoryManager mm, long bytes) throws Exception {
        return awaitAvailable(mm, bytes, 10_000);
    }

    static void ok(String what) {
        System.out.println("OK " + what);
    }

    public static void main(String[] args) throws Exception {
        final int ps = 32 * 1024;
        final MemoryManager mm = MemoryManager.create(8L * ps, ps);
        check(mm.getPageSize() == ps, "page size");
        check(mm.availableMemory() == 8L * ps, "available at start");
        check(mm.verifyEmpty(), "empty at start");
        ok("create");

        final Object o1 = "owner-one";
        final Object o2 = new StringBuilder("owner-two");
        List<Segment> a = mm.allocatePages(o1, 3);
        check(a.size() == 3, "three segments");
        HashSet<Long> addrs = new HashSet<>();
        for (Segment s : a) {
            check(s.size() == ps && !s.isFreed() && s.getOwner() == o1, "segment state");
            check(s.address() % 4096 == 0, "page aligned");
            addrs.add(s.address());
        }
        check(addrs.size() == 3, "distinct addresses");
        List<Segment> target = new ArrayList<>(a);
        mm.allocatePages(o2, target, 2);
        check(target.size() == 5, "appended into target");
        check(mm.availableMemory() == 3L * ps, "available after allocation");
        check(!mm.verifyEmpty(), "not empty");
        check(mm.usageReport().contains("owner-one: 3 pages"), mm.usageReport());
        ok("allocate");

        MemoryAllocationException over = expect(MemoryAllocationException.class,
                "Could not allocate 4 pages. Only 3 pages are remaining", () -> mm.allocatePages(new Object(), 4));
        check(over.getMessage().contains("memory manager") && over.getMessage().contains(" is java.lang.Object@"),
                over.getMessage());
        check(mm.availableMemory() == 3L * ps, "failed allocation changed nothing");
        expect(IllegalArgumentException.class, "Cannot allocate more segments 9 than the max number 8",
                () -> mm.allocatePages(o1, 9));
        // A huge count is the same clear error, not an OutOfMemoryError sizing arrays for it.
        expect(IllegalArgumentException.class, "Cannot allocate more segments 2147483647 than the max number 8",
                () -> mm.allocatePages(o1, Integer.MAX_VALUE));
        expect(IllegalArgumentException.class, "than the max number 8",
                () -> mm.allocatePages(o1, new ArrayList<>(), Integer.MAX_VALUE));
        expect(NullPointerException.class, "owner must not be null", () -> mm.allocatePages(null, 1));
        ok("over budget");

        Segment s0 = a.get(0);
        byte[] hello = "hello, managed memory".getBytes("UTF-8");
        s0.put(100, hello);
        byte[] back = new byte[hello.length];
        s0.get(100, back);
        check(Arrays.equals(hello, back), "bulk put/get");
        ByteBuffer view = s0.buffer();
        check(view.isDirect() && view.capacity() == ps, "direct view of the page");
        view.putLong(8, 0x1122334455667788L);
        check(s0.getLong(8) == 0x1122334455667788L, "view writes the page");
        check(s0.get(100) == 'h', "single byte");
        check(s0.wrap(100, 5).capacity() == 5 && s0.wrap(100, 5).get(0) == 'h', "wrap");
        expect(IndexOutOfBoundsException.class, "outside a segment", () -> s0.get(ps - 2, new byte[4]));
        a.get(1).put(0, new byte[] {7});
        check(a.get(1).get(0) == 7 && s0.get(0) == 0, "pages do not overlap");
        ok("access");

        mm.release(s0);
        check(s0.isFreed() && s0.getOwner() == null, "freed");
        expect(IllegalStateException.class, "use after release", () -> s0.get(0));
        expect(IllegalStateException.class, "use after release", () -> s0.address());
        expect(IllegalStateException.class, "use after release", () -> s0.buffer());
        expect(IllegalStateException.class, "use after release", () -> s0.put(0, hello));
        expect(IllegalStateException.class, "double release", () -> mm.release(s0));
        mm.release((Segment) null);
        // The buffers s0 handed out are still reachable: its page waits in quarantine (held,
        // counted), and comes back once they are collected.
        check(mm.availableMemory() == 3L * ps, "a released page with a reachable buffer stays in quarantine");
        view = null;
        check(awaitAvailable(mm, 4L * ps), "the quarantine ends when the buffers are collected");
        ok("release one");

        // A batch with a freed segment releases nothing.
        List<Segment> rest = new ArrayList<>(target.subList(1, 5));
        List<Segment> withFreed = new ArrayList<>(rest);
        withFreed.add(s0);
        expect(IllegalStateException.class, "double release", () -> mm.release(withFreed));
        for (Segment s : rest) {
            check(!s.isFreed(), "failed batch released nothing");
        }
        List<Segment> dup = new ArrayList<>(rest);
        dup.add(rest.get(0));
        expect(IllegalArgumentException.class, "appears twice", () -> mm.release(dup));
        check(mm.availableMemory() == 4L * ps, "failed batches changed nothing");
        mm.release(rest);
        check(rest.isEmpty(), "batch release clears the collection (as Flink)");
        for (Segment s : target.subList(1, 5)) {
            check(s.isFreed(), "batch freed");
        }
        check(mm.availableMemory() == 8L * ps && mm.verifyEmpty(), "all back");
        ok("release batch");

        MemoryManager other = MemoryManager.create(2L * ps, ps);
        Segment foreign = other.allocatePages(o1, 1).get(0);
        expect(IllegalArgumentException.class, "foreign segment", () -> mm.release(foreign));
        expect(IllegalArgumentException.class, "foreign segment", () -> mm.release(List.of(foreign)));
        check(!foreign.isFreed(), "foreign release changed nothing");
        other.release(foreign);
        ok("foreign");

        List<Segment> many = mm.allocatePages(o1, 3);
        Segment kept = mm.allocatePages(o2, 1).get(0);
        mm.releaseAll(o1);
        for (Segment s : many) {
            check(s.isFreed(), "releaseAll frees the owner's segments");
        }
        check(!kept.isFreed() && mm.availableMemory() == 7L * ps, "other owner kept");
        mm.releaseAll(new Object());
        mm.releaseAll(o2);
        check(kept.isFreed() && mm.verifyEmpty(), "all released");
        ok("releaseAll");

        mm.reserveMemory(o1, ps + 1);
        check(mm.availableMemory() == 7L * ps - 1, "reservation shares the budget");
        expect(MemoryAllocationException.class, "Only 6 pages are remaining", () -> mm.allocatePages(o2, 7));
        List<Segment> six = mm.allocatePages(o2, 6);
        expect(MemoryReservationException.class, "Could not allocate 32768 bytes, only 32767 bytes are remaining",
                () -> mm.reserveMemory(o1, ps));
        expect(IllegalStateException.class, "has only 32769 bytes reserved", () -> mm.releaseMemory(o1, ps + 2));
        expect(IllegalStateException.class, "is owner-one]", () -> mm.releaseMemory(o1, ps + 2));
        expect(IllegalStateException.class, "has no memory reserved", () -> mm.releaseMemory(new Object(), 1));
        expect(MemoryReservationException.class, "is owner-one]", () -> mm.reserveMemory(o1, ps));
        check(!mm.verifyEmpty() && mm.usageReport().contains("owner-one: 0 pages, 32769 reserved bytes"),
                mm.usageReport());
        mm.releaseMemory(o1, 1);
        mm.releaseAllMemory(o1);
        mm.release(six);
        check(mm.verifyEmpty() && mm.availableMemory() == 8L * ps, "reservations released");
        ok("reserve");

        // A released reservation stays with its owner as credit (up to 1/64 of the budget, here
        // ps / 8), yet it is available memory to everyone: nobody is refused because of it.
        long cap = 8L * ps / 64;
        mm.reserveMemory(o1, cap);
        mm.releaseMemory(o1, cap);
        check(mm.availableMemory() == 8L * ps && mm.verifyEmpty(), "credit is available memory");
        List<Segment> every = mm.allocatePages(o2, 8);
        check(mm.availableMemory() == 0, "every page despite o1's credit");
        mm.release(every);
        mm.reserveMemory(o1, cap);
        mm.releaseMemory(o1, cap);
        mm.reserveMemory(o2, 8L * ps);
        check(mm.availableMemory() == 0, "the whole budget reserved despite o1's credit");
        mm.releaseMemory(o2, 8L * ps);
        mm.reserveMemory(o1, cap);
        mm.releaseMemory(o1, cap);
        List<Segment> seven = mm.allocatePages(o2, 7);
        expect(MemoryReservationException.class, "Could not allocate 32769 bytes, only 32768 bytes are remaining",
                () -> mm.reserveMemory(o2, ps + 1));
        mm.reserveMemory(o2, ps);
        mm.releaseAllMemory(o2);
        mm.release(seven);
        check(mm.verifyEmpty() && mm.availableMemory() == 8L * ps, "credit released");
        ok("credit");

        expect(IllegalArgumentException.class, "taskmanager.memory.segment-size", () -> MemoryManager.create(1 << 20, 5000));
        expect(IllegalArgumentException.class, "at least 4096", () -> MemoryManager.create(1 << 20, 2048));
        expect(IllegalArgumentException.class, "non-negative", () -> MemoryManager.create(-1, 4096));
        expect(IllegalArgumentException.class, "Page size must be positive: -4096",
                () -> MemoryManager.create(1 << 20, -4096));
        // The native side refuses a negative byte count itself (no wrap-around to a huge u64),
        // whatever the Java side checked first.
        Field handleField = MemoryManager.class.getDeclaredField("handle");
        handleField.setAccessible(true);
        long handle = handleField.getLong(mm);
        for (String name : new String[] {"nativeReserve", "nativeReleaseMemory"}) {
            java.lang.reflect.Method m = MemoryManager.class.getDeclaredMethod(name, long.class, long.class, long.class);
            m.setAccessible(true);
            Throwable cause = null;
            try {
                m.invoke(null, handle, 1L, -1L);
            } catch (java.lang.reflect.InvocationTargetException e) {
                cause = e.getCause();
            }
            check(cause instanceof IllegalArgumentException
                    && cause.getMessage().contains("negative number of bytes: -1"), name + ": " + cause);
        }
        check(MemoryManager.create(1000, 4096).availableMemory() == 1000, "smaller than a page");
        ok("create errors");

        // Owners that hold nothing any more are dropped from the identity map in batches.
        for (int i = 0; i < 5000; i++) {
            Object owner = new Object();
            mm.release(mm.allocatePages(owner, 1));
        }
        Field f = MemoryManager.class.getDeclaredField("ownerIds");
        f.setAccessible(true);
        int owners = ((Map<?, ?>) f.get(mm)).size();
        check(owners <= 128, "owner map bounded, has " + owners);
        ok("owner map bounded");

        // A stale buffer never writes into another owner's page: A's released page is not handed
        // to B while A's buffer is reachable.
        MemoryManager two = MemoryManager.create(2L * ps, ps);
        Segment sa = two.allocatePages("A", 1).get(0);
        long addrA = sa.address();
        ByteBuffer staleA = sa.buffer();
        ByteBuffer sliceA = sa.wrap(8, 8);
        two.release(sa);
        Segment sb = two.allocatePages("B", 1).get(0);
        check(sb.address() != addrA, "B got another page");
        expect(MemoryAllocationException.class, "Could not allocate 1 pages", () -> two.allocatePages("B", 1));
        staleA.put(0, (byte) 42);
        sliceA.put(0, (byte) 43);
        check(sb.get(0) == 0 && sb.get(8) == 0, "B's page untouched by A's stale buffers");
        staleA = null;
        check(!awaitAvailable(two, ps, 300), "a derived buffer (slice) keeps the page in quarantine");
        sliceA = null;
        check(awaitAvailable(two, ps), "A's page back once its buffers are collected");
        Segment sb2 = two.allocatePages("B", 1).get(0);
        check(sb2.address() == addrA, "the quarantined page is reused after its buffers are gone");
        two.releaseAll("B");
        check(two.verifyEmpty() && two.availableMemory() == 2L * ps, "two: all back");
        ok("stale view");

        Segment leaked = mm.allocatePages("leaky-owner", 2).get(0);
        ByteBuffer stale = leaked.buffer();
        stale.put(0, (byte) 42);
        mm.shutdown();
        check(mm.isShutdown() && leaked.isFreed(), "shutdown frees held segments");
        check(stale.get(0) == 0, "a stale buffer reads zeros after shutdown");
        stale.put(1, (byte) 1); // writing does not crash either
        expect(IllegalStateException.class, "Memory manager has been shut down.", () -> mm.allocatePages(o1, 1));
        expect(IllegalStateException.class, "Memory manager has been shut down.", () -> mm.release(six));
        expect(IllegalStateException.class, "Memory manager has been shut down.", () -> mm.reserveMemory(o1, 1));
        check(mm.availableMemory() == 0, "nothing available after shutdown");
        mm.shutdown();
        ok("shutdown");
        System.out.println("ALL OK");
    }
}
