import java.util.ArrayList;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.runtime.memory.MemoryAllocationException;
import org.apache.flink.runtime.memory.MemoryManager;
import org.apache.flink.runtime.memory.MemoryReservationException;
import org.apache.flink.runtime.memory.OpaqueMemoryResource;

/**
 * Flink's own tests of {@code MemoryManager} (MemoryManagerTest, MemoryManagerSharedResourcesTest,
 * MemoryManagerConcurrentModReleaseTest of apache/flink, ported from JUnit to plain asserts) plus
 * a few of tmrt's (segments cannot be wrapped, threads on one memory manager). Run against Flink's
 * own class and against tmrt's drop-in: both must pass every test. Prints "PASS name" per test and
 * "N passed, M failed".
 */
public class FlinkTests {
    static final long RANDOM_SEED = 643196033469871L;
    static final int MEMORY_SIZE = 1024 * 1024 * 72;
    static final int PAGE_SIZE = 1024 * 32;
    static final int NUM_PAGES = MEMORY_SIZE / PAGE_SIZE;

    interface Body {
        void run(MemoryManager mm) throws Exception;
    }

    static int passed;
    static int failed;

    static void test(String name, Body body) {
        test(name, MEMORY_SIZE, PAGE_SIZE, true, body);
    }

    static void test(String name, long size, int pageSize, boolean mustBeEmpty, Body body) {
        MemoryManager mm = MemoryManager.create(size, pageSize);
        try {
            body.run(mm);
            if (mustBeEmpty && !mm.verifyEmpty()) {
                throw new AssertionError("Memory manager is not complete empty and valid at the end of the test.");
            }
            passed++;
            System.out.println("PASS " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + t);
            t.printStackTrace(System.out);
        } finally {
            mm.shutdown();
        }
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static void expect(Class<? extends Throwable> type, Body body, MemoryManager mm) throws Exception {
        try {
            body.run(mm);
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return;
            }
            throw new AssertionError("expected " + type.getName() + ", got " + t, t);
        }
        throw new AssertionError("expected " + type.getName());
    }

    static boolean allValid(Collection<MemorySegment> segs) {
        for (MemorySegment s : segs) {
            if (s.isFreed()) {
                return false;
            }
        }
        return true;
    }

    static boolean allFreed(Collection<MemorySegment> segs) {
        for (MemorySegment s : segs) {
            if (!s.isFreed()) {
                return false;
            }
        }
        return true;
    }

    static void cannotAllocateAnymore(MemoryManager mm, Object owner, int numPages) throws Exception {
        expect(MemoryAllocationException.class, m -> m.allocatePages(owner, numPages), mm);
    }

    static void cannotReserveAnymore(MemoryManager mm, long size) throws Exception {
        expect(MemoryReservationException.class, m -> m.reserveMemory(new Object(), size), mm);
    }

    static final class TestResource implements AutoCloseable {
        final long size;
        boolean closed;

        TestResource(long size) {
            this.size = size;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    public static void main(String[] args) throws Exception {
        // MemoryManagerTest
        test("allocateAllSingle", mm -> {
            Object owner = new Object();
            List<MemorySegment> segments = new ArrayList<>();
            for (int i = 0; i < NUM_PAGES; i++) {
                segments.add(mm.allocatePages(owner, 1).get(0));
            }
            mm.release(segments);
        });
        test("allocateAllMulti", mm -> {
            Object owner = new Object();
            List<MemorySegment> segments = new ArrayList<>();
            for (int i = 0; i < NUM_PAGES / 2; i++) {
                segments.addAll(mm.allocatePages(owner, 2));
            }
            mm.release(segments);
        });
        test("allocateMultipleOwners", mm -> {
            int numOwners = 17;
            Random random = new Random(RANDOM_SEED);
            Object[] owners = new Object[numOwners];
            List<List<MemorySegment>> mems = new ArrayList<>();
            for (int i = 0; i < numOwners; i++) {
                owners[i] = new Object();
                mems.add(new ArrayList<>(64));
            }
            for (int i = 0; i < NUM_PAGES; i++) {
                int owner = random.nextInt(numOwners);
                mems.get(owner).addAll(mm.allocatePages(owners[owner], 1));
            }
            for (int i = 0; i < numOwners; i++) {
                mm.releaseAll(owners[i]);
                check(allFreed(mems.get(i)), "Released memory segments have not been destroyed.");
                for (int k = i + 1; k < numOwners; k++) {
                    check(allValid(mems.get(k)), "Non-released memory segments are accidentaly destroyed.");
                }
            }
        });
        test("allocateTooMuch", mm -> {
            Object owner = new Object();
            List<MemorySegment> segs = mm.allocatePages(owner, NUM_PAGES);
            cannotAllocateAnymore(mm, owner, 1);
            check(allValid(segs), "The previously allocated segments were not valid any more.");
            mm.releaseAll(owner);
        });
        test("doubleReleaseReturnsMemoryOnlyOnce", mm -> {
            Object owner = new Object();
            Collection<MemorySegment> segs = mm.allocatePages(owner, NUM_PAGES);
            MemorySegment segment = segs.iterator().next();
            mm.release(segment);
            mm.release(segment);
            cannotAllocateAnymore(mm, owner, 2);
            mm.releaseAll(owner);
        });
        test("testMemoryReservation", mm -> {
            Object owner = new Object();
            mm.reserveMemory(owner, PAGE_SIZE);
            mm.releaseMemory(owner, PAGE_SIZE);
        });
        test("testAllMemoryReservation", mm -> {
            Object owner = new Object();
            mm.reserveMemory(owner, mm.getMemorySize());
            mm.releaseAllMemory(owner);
        });
        test("testCannotReserveBeyondTheLimit", mm -> {
            Object owner = new Object();
            mm.reserveMemory(owner, mm.getMemorySize());
            cannotReserveAnymore(mm, 1L);
            mm.releaseAllMemory(owner);
        });
        test("testMemoryTooBigReservation", mm -> cannotReserveAnymore(mm, mm.getMemorySize() + PAGE_SIZE));
        test("testMemoryReleaseMultipleTimes", mm -> {
            Object owner = new Object();
            Object owner2 = new Object();
            long total = mm.availableMemory();
            mm.reserveMemory(owner2, PAGE_SIZE);
            mm.reserveMemory(owner, PAGE_SIZE);
            mm.releaseMemory(owner, PAGE_SIZE);
            mm.releaseMemory(owner, PAGE_SIZE);
            check(mm.availableMemory() == total - PAGE_SIZE, "Memory leak happens");
            mm.releaseAllMemory(owner2);
        });
        test("testMemoryReleaseMoreThanReserved", mm -> {
            Object owner = new Object();
            Object owner2 = new Object();
            long total = mm.availableMemory();
            mm.reserveMemory(owner2, PAGE_SIZE);
            mm.reserveMemory(owner, PAGE_SIZE);
            mm.releaseMemory(owner, PAGE_SIZE * 2);
            check(mm.availableMemory() == total - PAGE_SIZE, "Memory leak happens");
            mm.releaseAllMemory(owner2);
        });
        test("testMemoryAllocationAndReservation", mm -> {
            int totalPages = (int) mm.getMemorySize() / PAGE_SIZE;
            Object owner1 = new Object();
            mm.allocatePages(owner1, totalPages / 2);
            Object owner2 = new Object();
            mm.reserveMemory(owner2, (long) PAGE_SIZE * totalPages / 2);
            cannotAllocateAnymore(mm, new Object(), 1);
            cannotReserveAnymore(mm, 1L);
            mm.releaseAll(owner1);
            mm.releaseAllMemory(owner2);
        });
        test("testComputeMemorySize", mm -> {
            check(mm.computeMemorySize(0.6) == (long) (mm.getMemorySize() * 0.6), "0.6");
            check(mm.computeMemorySize(1.0) == mm.getMemorySize(), "1.0");
            expect(IllegalArgumentException.class, m -> m.computeMemorySize(0.0), mm);
            expect(IllegalArgumentException.class, m -> m.computeMemorySize(1.1), mm);
            expect(IllegalArgumentException.class, m -> m.computeMemorySize(-0.1), mm);
        });

        // MemoryManagerSharedResourcesTest
        long shared = 128L * 1024 * 1024;
        test("getSameTypeGetsSameHandle", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            OpaqueMemoryResource<TestResource> r1 = mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.1);
            OpaqueMemoryResource<TestResource> r2 = mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.1);
            check(r1 != r2 && r1.getResourceHandle() == r2.getResourceHandle(), "same handle");
        });
        test("getDifferentTypeGetsDifferentResources", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            OpaqueMemoryResource<TestResource> r1 = mm.getSharedMemoryResourceForManagedMemory("type1", TestResource::new, 0.1);
            OpaqueMemoryResource<TestResource> r2 = mm.getSharedMemoryResourceForManagedMemory("type2", TestResource::new, 0.1);
            check(r1.getResourceHandle() != r2.getResourceHandle(), "different handles");
        });
        test("testAllocatesFractionOfTotalMemory", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            OpaqueMemoryResource<TestResource> r = mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.2);
            check(r.getSize() == (long) (0.2 * mm.getMemorySize()), "fraction");
        });
        test("getAllocateNewReservesMemory", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.5);
            check(mm.availableMemory() == mm.getMemorySize() / 2, "half reserved");
        });
        test("getExistingDoesNotAllocateAdditionalMemory", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.8);
            long free = mm.availableMemory();
            mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.8);
            check(mm.availableMemory() == free, "no more reserved");
        });
        test("testFailReservation", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.8);
            expect(MemoryAllocationException.class,
                    m -> m.getSharedMemoryResourceForManagedMemory("type2", TestResource::new, 0.8), mm);
        });
        test("testPartialReleaseDoesNotReleaseMemory", shared, MemoryManager.DEFAULT_PAGE_SIZE, false, mm -> {
            OpaqueMemoryResource<TestResource> r1 = mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.1);
            mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.1);
            check(!mm.verifyEmpty(), "reserved");
            r1.close();
            check(!r1.getResourceHandle().closed && !mm.verifyEmpty(), "still leased");
        });
        test("testLastReleaseReleasesMemory", shared, MemoryManager.DEFAULT_PAGE_SIZE, true, mm -> {
            OpaqueMemoryResource<TestResource> r1 = mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.1);
            OpaqueMemoryResource<TestResource> r2 = mm.getSharedMemoryResourceForManagedMemory("type", TestResource::new, 0.1);
            check(!mm.verifyEmpty(), "reserved");
            r1.close();
            r2.close();
            check(r1.getResourceHandle().closed && mm.verifyEmpty(), "released");
        });
        test("getExistingExternalResource", shared, MemoryManager.DEFAULT_PAGE_SIZE, true, mm -> {
            OpaqueMemoryResource<TestResource> r1 = mm.getExternalSharedMemoryResource("external-type", TestResource::new, 1337);
            OpaqueMemoryResource<TestResource> r2 = mm.getExternalSharedMemoryResource("external-type", TestResource::new, 1337);
            check(r1.getSize() == 1337 && r1 != r2 && r1.getResourceHandle() == r2.getResourceHandle(), "same");
            r1.close();
            check(!r1.getResourceHandle().closed, "leased");
            r2.close();
            check(r1.getResourceHandle().closed, "disposed");
        });

        // MemoryManagerConcurrentModReleaseTest
        test("testConcurrentModificationOnce", 10000L * 4096, 4096, true, mm -> {
            ArrayList<MemorySegment> segs = new ListWithConcModExceptionOnFirstAccess<>();
            mm.allocatePages(FlinkTests.class, segs, 10000);
            mm.release(segs);
        });
        // As in Flink's test, nothing is checked beyond "no exception": the list is shared without
        // synchronisation, so a pass may miss an element without a ConcurrentModificationException.
        test("testConcurrentModificationWhileReleasing", 10000L * 4096, 4096, false, mm -> {
            ArrayList<MemorySegment> segs = new ArrayList<>(10000);
            mm.allocatePages(FlinkTests.class, segs, 10000);
            Modifier mod = new Modifier(segs);
            Thread runner = new Thread(mod);
            runner.start();
            Thread.sleep(200);
            try {
                mm.release(segs);
            } finally {
                mod.running = false;
            }
            runner.join();
        });

        // tmrt's: managed segments as Flink makes them, and threads on one memory manager.
        test("managedSegmentsCannotBeWrapped", mm -> {
            MemorySegment s = mm.allocatePages("owner", 1).get(0);
            check(s.isOffHeap() && s.size() == PAGE_SIZE && "owner".equals(s.getOwner()), "segment");
            expect(UnsupportedOperationException.class, m -> s.wrap(0, 8), mm);
            s.putLong(PAGE_SIZE - 8, 42L);
            check(s.getLong(PAGE_SIZE - 8) == 42L, "write and read");
            mm.release(s);
            check(s.isFreed(), "freed");
            expect(IllegalStateException.class, m -> s.getLong(0), mm);
        });
        test("threadsOnOneMemoryManager", 256L * 4096, 4096, true, mm -> {
            AtomicInteger errors = new AtomicInteger();
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                final Object owner = t % 2 == 0 ? "shared-owner" : new Object();
                final int me = t;
                threads[t] = new Thread(() -> {
                    Random rnd = new Random(me);
                    try {
                        for (int i = 0; i < 20000; i++) {
                            int n = 1 + rnd.nextInt(8);
                            List<MemorySegment> got = mm.allocatePages(owner, n);
                            for (MemorySegment s : got) {
                                s.putLong(0, me * 1_000_000L + i);
                            }
                            for (MemorySegment s : got) {
                                if (s.getLong(0) != me * 1_000_000L + i) {
                                    errors.incrementAndGet();
                                }
                            }
                            if (rnd.nextBoolean()) {
                                mm.release(got);
                            } else {
                                for (MemorySegment s : got) {
                                    mm.release(s);
                                }
                            }
                        }
                    } catch (Throwable e) {
                        e.printStackTrace(System.out);
                        errors.incrementAndGet();
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            check(errors.get() == 0, errors.get() + " errors (a page shared, or an allocation failed)");
        });
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    static final class Modifier implements Runnable {
        final ArrayList<MemorySegment> toModify;
        volatile boolean running = true;

        Modifier(ArrayList<MemorySegment> toModify) {
            this.toModify = toModify;
        }

        @Override
        public void run() {
            while (running) {
                try {
                    MemorySegment seg = toModify.remove(0);
                    toModify.add(seg);
                } catch (IndexOutOfBoundsException e) {
                    // may happen, just retry
                }
            }
        }
    }

    static final class ListWithConcModExceptionOnFirstAccess<E> extends ArrayList<E> {
        private static final long serialVersionUID = 1L;
        private boolean returnedIterator;

        @Override
        public Iterator<E> iterator() {
            if (returnedIterator) {
                return super.iterator();
            }
            returnedIterator = true;
            return new Iterator<E>() {
                @Override
                public boolean hasNext() {
                    return true;
                }

                @Override
                public E next() {
                    throw new ConcurrentModificationException();
                }
            };
        }
    }
}
