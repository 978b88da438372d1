package org.apache.flink.runtime.memory;

import dev.tmrt.memory.SlotPages;
import dev.tmrt.memory.dropin.OwnerSegments;
import dev.tmrt.memory.dropin.Owners;
import dev.tmrt.memory.dropin.PageRelease;
import dev.tmrt.memory.dropin.SharedLeases;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.LongConsumer;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.core.memory.MemorySegmentFactory;
import org.apache.flink.core.memory.TmrtManagedSegments;
import org.apache.flink.util.MathUtils;
import org.apache.flink.util.Preconditions;
import org.apache.flink.util.function.LongFunctionWithException;
import org.apache.flink.util.function.ThrowingRunnable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * tmrt's substitute for Flink's {@code MemoryManager} (1.13, 1.20 and 2.2 share its API): the
 * same public and package-private members, the same behaviour, exceptions and messages, with the
 * pages taken from a tmrt slot pool ({@link SlotPages}: the slot's budget as one anonymous
 * mapping, a lock-free page table, the budget of pages and reservations enforced by tmrt) instead
 * of one {@code Unsafe.allocateMemory} per page.
 *
 * <p>Segments are Flink's own {@link MemorySegment}s, made as Flink makes managed segments: off
 * heap, wrapping disallowed, a cleanup action (here: the page goes back to the pool) that
 * {@code free()} runs once. What Flink keeps per owner in a {@code ConcurrentHashMap} of
 * {@code HashSet}s, and the owner's reserved bytes it keeps in a second map, are kept in
 * {@link OwnerSegments} records (owners compared with {@code equals}, as Flink does), so one page
 * costs no hashing and no lock beyond one CAS on the owner's record, and a reservation is that
 * CAS and the page table header's (no JNI: {@link SlotPages#reserve}).
 * Shared resources ({@code getSharedMemoryResourceForManagedMemory}, RocksDB) follow Flink's
 * {@code SharedResources} ({@link SharedLeases}).
 *
 * <p>Fail-safe: when the slot pool cannot be made (no native library, no address space), this
 * memory manager logs one warning and allocates pages exactly as Flink does ({@code
 * MemorySegmentFactory.allocateOffHeapUnsafeMemory} against Flink's {@code UnsafeMemoryBudget}).
 *
 * <p>Known difference: {@code allocatePages} with a negative page count adds that many pages to
 * Flink's budget (a quirk of its budget); here it changes no budget.
 */
public class MemoryManager {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryManager.class);

    /** The default memory page size. Currently set to 32 KiBytes. */
    public static final int DEFAULT_PAGE_SIZE = 32 * 1024;

    /** The minimal memory page size. Currently set to 4 KiBytes. */
    public static final int MIN_PAGE_SIZE = 4 * 1024;

    private static final String NOT_ENOUGH =
            "Could not allocate %d bytes, only %d bytes are remaining. This usually indicates that you are "
                    + "requesting more memory than you have reserved. However, when running an old JVM version it "
                    + "can also be caused by slow garbage collection. Try to upgrade to Java 8u72 or higher if "
                    + "running on an old Java version.";
    private static final String SHUT_DOWN = "Memory manager has been shut down.";
    private static final String CONCURRENTLY_SHUT_DOWN = "Memory manager has been concurrently shut down.";
    private static final String BOOK_KEEPING = "Error removing book-keeping reference to allocated memory segment.";

    private final long pageSize;
    private final long memorySize;
    private final long totalNumberOfPages;
    /** The tmrt slot pool, or null: Flink's own allocation ({@link #fallbackBudget}). */
    private final SlotPages pages;
    private final UnsafeMemoryBudget fallbackBudget;
    /** The most an owner keeps as credit ({@link dev.tmrt.memory.OwnerBook}): 1/64 of the budget. */
    private final long creditCap;
    private final Owners owners;
    /** Per page: the position of its segment in its owner's record (a hint, checked). */
    private final int[] slotOf;
    /** Per page: a direct buffer over it, made once; segments get duplicates. */
    private final ByteBuffer[] views;
    private final SharedLeases sharedResources;
    private volatile boolean isShutDown;

    MemoryManager(long memorySize, int pageSize) {
        sanityCheck(memorySize, pageSize);
        this.pageSize = pageSize;
        this.memorySize = memorySize;
        this.totalNumberOfPages = memorySize / pageSize;
        this.sharedResources = new SharedLeases();
        verifyIntTotalNumberOfPages(memorySize, totalNumberOfPages);
        SlotPages made = null;
        try {
            made = SlotPages.create(memorySize, pageSize);
        } catch (Throwable t) {
            LOG.warn("tmrt: managed memory from Flink's own allocator (the tmrt slot pool could not be made)", t);
        }
        this.pages = made;
        this.fallbackBudget = made == null ? new UnsafeMemoryBudget(memorySize) : null;
        this.owners = new Owners(made);
        this.creditCap = memorySize >>> 6;
        if (made != null) {
            made.describeOwnersWith(owners::usage);
        }
        int total = made == null ? 0 : made.totalPages();
        this.slotOf = new int[total];
        this.views = new ByteBuffer[total];
        LOG.debug("Initialized MemoryManager with total memory size {} and page size {}.", memorySize, pageSize);
    }

    private static void sanityCheck(long memorySize, int pageSize) {
        Preconditions.checkArgument(memorySize >= 0L, "Size of total memory must be non-negative.");
        Preconditions.checkArgument(
                pageSize >= MIN_PAGE_SIZE, "The page size must be at least %d bytes.", MIN_PAGE_SIZE);
        Preconditions.checkArgument(MathUtils.isPowerOf2(pageSize), "The given page size is not a power of two.");
    }

    private static void verifyIntTotalNumberOfPages(long memorySize, long numberOfPagesLong) {
        Preconditions.checkArgument(
                numberOfPagesLong <= Integer.MAX_VALUE,
                "The given number of memory bytes (%d) corresponds to more than MAX_INT pages (%d > %d).",
                memorySize,
                numberOfPagesLong,
                Integer.MAX_VALUE);
    }

    // ------------------------------------------------------------------------
    //  Shutdown
    // ------------------------------------------------------------------------

    /** Frees every segment still held (their pages go back) and refuses further work. */
    public void shutdown() {
        if (!isShutDown) {
            isShutDown = true;
            // Flink clears reservedMemory (the budget keeps the bytes): the records forget them.
            for (OwnerSegments owner : owners.all()) {
                MemorySegment[] held;
                owner.lock();
                try {
                    held = owner.takeAll();
                    owner.present = false;
                    owner.reserved = 0;
                    if (pages != null) {
                        owner.returnCredit(pages); // credit is not reserved for Flink
                    }
                } finally {
                    owner.unlock();
                }
                for (MemorySegment seg : held) {
                    seg.free();
                }
            }
            if (pages != null) {
                pages.trim();
                pages.retire();
            }
        }
    }

    public boolean isShutdown() {
        return isShutDown;
    }

    /** Whether all memory (pages and reservations) is available. */
    public boolean verifyEmpty() {
        return pages == null ? fallbackBudget.verifyEmpty() : availableMemory() == memorySize;
    }

    // ------------------------------------------------------------------------
    //  Memory allocation and release
    // ------------------------------------------------------------------------

    public List<MemorySegment> allocatePages(Object owner, int numPages) throws MemoryAllocationException {
        List<MemorySegment> segments = new ArrayList<>(numPages);
        allocatePages(owner, segments, numPages);
        return segments;
    }

    @SuppressWarnings("unchecked")
    public void allocatePages(Object owner, Collection<MemorySegment> target, int numberOfPages)
            throws MemoryAllocationException {
        Preconditions.checkNotNull(owner, "The memory owner must not be null.");
        Preconditions.checkState(!isShutDown, SHUT_DOWN);
        if (numberOfPages > totalNumberOfPages) {
            // Flink's check and text; guarded so that the passing case boxes no arguments.
            Preconditions.checkArgument(
                    false, "Cannot allocate more segments %s than the max number %s", numberOfPages, totalNumberOfPages);
        }
        if (target instanceof ArrayList) {
            ((ArrayList<MemorySegment>) target).ensureCapacity(numberOfPages);
        }
        if (pages == null) {
            allocateFallback(owner, target, numberOfPages);
        } else if (!allocateFromPool(owner, target, numberOfPages, false)) {
            // Refused by the budget: once more after every owner's credit went back.
            owners.returnCredit();
            allocateFromPool(owner, target, numberOfPages, true);
        }
        Preconditions.checkState(!isShutDown, CONCURRENTLY_SHUT_DOWN);
    }

    /**
     * Allocates {@code n} pages for {@code owner} into {@code target}; false (nothing changed) when
     * the budget refuses them and this is not the {@code last} try (which throws Flink's error).
     */
    private boolean allocateFromPool(Object owner, Collection<MemorySegment> target, int n, boolean last)
            throws MemoryAllocationException {
        OwnerSegments record = owners.lockOrCreate(owner);
        try {
            long[] bits = new long[Math.max(n, 0)];
            if (n > 0) {
                int r = pages.allocate(record.id, n, bits);
                if (r == SlotPages.FULL && !last) {
                    return false;
                }
                if (r != SlotPages.OK) {
                    throw notEnoughPages(n, (long) n * pageSize, r == SlotPages.FULL ? pages.available() : 0);
                }
            }
            boolean wasPresent = record.present;
            int before = record.size();
            try {
                for (int i = 0; i < n; i++) {
                    int page = SlotPages.index(bits[i]);
                    MemorySegment segment = TmrtManagedSegments.managed(
                            view(bits[i]), pages.address(bits[i]), (int) pageSize, owner, new PageRelease(pages, bits[i]));
                    target.add(segment);
                    record.add(segment, page, slotOf);
                }
            } catch (Throwable t) {
                // As Flink's compute(): a new owner's set is dropped, an existing one keeps what was
                // added; the pages not handed out stay taken (Flink keeps their budget too).
                if (!wasPresent) {
                    record.truncate(before);
                }
                throw t;
            }
            record.present = true;
            return true;
        } finally {
            record.unlock();
        }
    }

    /** A direct buffer over the page of {@code bits} (a duplicate of the page's own). */
    private ByteBuffer view(long bits) {
        int page = SlotPages.index(bits);
        ByteBuffer v = views[page];
        if (v == null) {
            v = TmrtManagedSegments.view(pages.address(bits), (int) pageSize);
            views[page] = v;
        }
        return v.duplicate();
    }

    private void allocateFallback(Object owner, Collection<MemorySegment> target, int n)
            throws MemoryAllocationException {
        long memoryToReserve = n * pageSize;
        try {
            fallbackBudget.reserveMemory(memoryToReserve);
        } catch (MemoryReservationException e) {
            throw new MemoryAllocationException(String.format("Could not allocate %d pages", n), e);
        }
        Runnable pageCleanup = this::releaseFallbackPage;
        OwnerSegments record = owners.lockOrCreate(owner);
        try {
            boolean wasPresent = record.present;
            int before = record.size();
            try {
                for (long i = n; i > 0; --i) {
                    MemorySegment segment =
                            MemorySegmentFactory.allocateOffHeapUnsafeMemory(getPageSize(), owner, pageCleanup);
                    target.add(segment);
                    record.add(segment, -1, slotOf);
                }
            } catch (Throwable t) {
                if (!wasPresent) {
                    record.truncate(before);
                }
                throw t;
            }
            record.present = true;
        } finally {
            record.unlock();
        }
    }

    private void releaseFallbackPage() {
        fallbackBudget.releaseMemory(getPageSize());
    }

    private static MemoryAllocationException notEnoughPages(int n, long bytes, long available) {
        return new MemoryAllocationException(
                String.format("Could not allocate %d pages", n),
                new MemoryReservationException(String.format(NOT_ENOUGH, bytes, available)));
    }

    /** The page index of a segment of this memory manager, or -1. */
    private int pageOf(MemorySegment segment) {
        if (pages == null || !segment.isOffHeap()) {
            return -1;
        }
        long rel = segment.getAddress() - pages.base();
        if (rel < 0) {
            return -1;
        }
        long page = rel >>> pages.shift();
        long rest = rel & (pageSize - 1);
        if (rest == 1) {
            page--; // freed: Flink moves the address one past the segment's end
        } else if (rest != 0) {
            return -1;
        }
        return page >= 0 && page < slotOf.length ? (int) page : -1;
    }

    public void release(MemorySegment segment) {
        Preconditions.checkState(!isShutDown, SHUT_DOWN);
        if (segment == null || segment.getOwner() == null) {
            return;
        }
        try {
            OwnerSegments record = owners.lockExisting(segment.getOwner());
            if (record == null) {
                return;
            }
            try {
                if (!record.present) {
                    return;
                }
                freeSegment(record, segment);
                if (record.size() == 0) {
                    record.present = false;
                }
            } finally {
                record.unlock();
            }
        } catch (Throwable t) {
            throw new RuntimeException(BOOK_KEEPING, t);
        }
    }

    private void freeSegment(OwnerSegments record, MemorySegment segment) {
        if (record.remove(segment, pageOf(segment), slotOf)) {
            segment.free();
        }
    }

    public void release(Collection<MemorySegment> segments) {
        if (segments == null) {
            return;
        }
        Preconditions.checkState(!isShutDown, SHUT_DOWN);
        boolean successfullyReleased = false;
        do {
            Iterator<MemorySegment> segmentsIterator = segments.iterator();
            try {
                MemorySegment segment = null;
                while (segment == null && segmentsIterator.hasNext()) {
                    segment = segmentsIterator.next();
                }
                while (segment != null) {
                    segment = releaseSegmentsForOwnerUntilNextOwner(segment, segmentsIterator);
                }
                segments.clear();
                successfullyReleased = true;
            } catch (ConcurrentModificationException | NoSuchElementException e) {
                // Flink retries from the start: segments already released are skipped.
            }
        } while (!successfullyReleased);
    }

    /** Flink's run of one owner: frees its segments until the next owner's; returns that one. */
    private MemorySegment releaseSegmentsForOwnerUntilNextOwner(
            MemorySegment firstSeg, Iterator<MemorySegment> segmentsIterator) {
        Object owner = firstSeg.getOwner();
        if (owner == null) {
            throw new NullPointerException(); // ConcurrentHashMap.computeIfPresent(null, ...)
        }
        OwnerSegments record = owners.lockExisting(owner);
        if (record == null) {
            return null;
        }
        try {
            if (!record.present) {
                return null;
            }
            MemorySegment next = null;
            freeSegment(record, firstSeg);
            while (segmentsIterator.hasNext()) {
                MemorySegment segment = segmentsIterator.next();
                try {
                    if (segment == null) {
                        continue;
                    }
                    if (segment.getOwner() != owner) {
                        next = segment;
                        break;
                    }
                    freeSegment(record, segment);
                } catch (Throwable t) {
                    throw new RuntimeException(BOOK_KEEPING, t);
                }
            }
            if (record.size() == 0) {
                record.present = false;
            }
            return next;
        } finally {
            record.unlock();
        }
    }

    public void releaseAll(Object owner) {
        if (owner == null) {
            return;
        }
        Preconditions.checkState(!isShutDown, SHUT_DOWN);
        OwnerSegments record = owners.lockExisting(owner);
        if (record == null) {
            return;
        }
        MemorySegment[] held;
        try {
            if (!record.present) {
                return;
            }
            record.present = false;
            held = record.takeAll();
        } finally {
            record.unlock();
        }
        for (MemorySegment segment : held) {
            segment.free();
        }
    }

    // ------------------------------------------------------------------------
    //  Reservations
    // ------------------------------------------------------------------------

    public void reserveMemory(Object owner, long size) throws MemoryReservationException {
        checkMemoryReservationPreconditions(owner, size);
        if (size == 0L) {
            return;
        }
        // Flink keeps the owner's total in reservedMemory; here it is the owner's record (owners
        // compared with equals as there), booked from its credit when it has enough (no pool
        // call), else with the pool, under the record's lock.
        if (pages == null) {
            OwnerSegments record = owners.lockOrCreate(owner);
            try {
                fallbackBudget.reserveMemory(size);
                record.reserved += size;
            } finally {
                record.unlock();
            }
        } else if (!bookReservation(owner, size)) {
            // Refused once more only after every owner's credit went back: the refusal (and the
            // available bytes it names) is the one without credit.
            if (owners.returnCredit() == 0 || !bookReservation(owner, size)) {
                throw new MemoryReservationException(String.format(NOT_ENOUGH, size, availableMemory()));
            }
        }
        Preconditions.checkState(!isShutDown, CONCURRENTLY_SHUT_DOWN);
    }

    private boolean bookReservation(Object owner, long size) {
        OwnerSegments record = owners.lockOrCreate(owner);
        try {
            return record.book(size, pages);
        } finally {
            record.unlock();
        }
    }

    public void releaseMemory(Object owner, long size) {
        checkMemoryReservationPreconditions(owner, size);
        if (size == 0L) {
            return;
        }
        OwnerSegments record = owners.lockExisting(owner);
        if (record == null) {
            return;
        }
        long currentlyReserved;
        try {
            currentlyReserved = record.reserved;
            if (currentlyReserved == 0) {
                return; // not a key of Flink's reservedMemory
            }
            giveBackReserved(record, Math.min(currentlyReserved, size), creditCap);
        } finally {
            record.unlock();
        }
        if (currentlyReserved < size) {
            LOG.warn(
                    "Trying to release more memory {} than it was reserved {} so far for the owner {}",
                    size,
                    currentlyReserved,
                    owner);
        }
    }

    /**
     * Returns {@code bytes} of the (locked) record's reservation: to Flink's budget, or to the
     * owner's credit up to {@code cap} and the rest to the slot pool.
     */
    private void giveBackReserved(OwnerSegments record, long bytes, long cap) {
        if (pages == null) {
            if (bytes > 0) {
                fallbackBudget.releaseMemory(bytes);
                record.reserved -= bytes;
            }
        } else {
            record.unbook(bytes, cap, pages);
        }
    }

    private void checkMemoryReservationPreconditions(Object owner, long size) {
        Preconditions.checkNotNull(owner, "The memory owner must not be null.");
        Preconditions.checkState(!isShutDown, SHUT_DOWN);
        if (size < 0L) {
            // Flink's check and text; guarded so that the passing case boxes no argument.
            Preconditions.checkArgument(false, "The memory size (%s) has to have non-negative size", size);
        }
    }

    public void releaseAllMemory(Object owner) {
        checkMemoryReservationPreconditions(owner, 0L);
        OwnerSegments record = owners.lockExisting(owner);
        if (record == null) {
            return;
        }
        try {
            // The owner is done: its credit goes back too.
            giveBackReserved(record, record.reserved, 0);
        } finally {
            record.unlock();
        }
    }

    // ------------------------------------------------------------------------
    //  Shared opaque memory resources
    // ------------------------------------------------------------------------

    public <T extends AutoCloseable> OpaqueMemoryResource<T> getSharedMemoryResourceForManagedMemory(
            String type, LongFunctionWithException<T, Exception> initializer, double fractionToInitializeWith)
            throws Exception {
        long numBytes = computeMemorySize(fractionToInitializeWith);
        LongFunctionWithException<T, Exception> reserveAndInitialize = size -> {
            try {
                reserveMemory(type, size);
            } catch (MemoryReservationException e) {
                throw new MemoryAllocationException(
                        "Could not created the shared memory resource of size "
                                + size
                                + ". Not enough memory left to reserve from the slot's managed memory.",
                        e);
            }
            try {
                return initializer.apply(size);
            } catch (Throwable t) {
                releaseMemory(type, size);
                throw t;
            }
        };
        LongConsumer releaser = size -> releaseMemory(type, size);
        Object leaseHolder = new Object();
        SharedLeases.Leased<T> resource =
                sharedResources.getOrAllocate(type, leaseHolder, reserveAndInitialize, numBytes);
        long size = resource.size();
        ThrowingRunnable<Exception> disposer = () -> sharedResources.release(type, leaseHolder, releaser);
        return new OpaqueMemoryResource<>(resource.resourceHandle(), size, disposer);
    }

    public <T extends AutoCloseable> OpaqueMemoryResource<T> getExternalSharedMemoryResource(
            String type, LongFunctionWithException<T, Exception> initializer, long numBytes) throws Exception {
        Object leaseHolder = new Object();
        SharedLeases.Leased<T> resource = sharedResources.getOrAllocate(type, leaseHolder, initializer, numBytes);
        ThrowingRunnable<Exception> disposer = () -> sharedResources.release(type, leaseHolder, size -> {});
        return new OpaqueMemoryResource<>(resource.resourceHandle(), resource.size(), disposer);
    }

    // ------------------------------------------------------------------------
    //  Properties, sizes and size conversions
    // ------------------------------------------------------------------------

    public int getPageSize() {
        return (int) pageSize;
    }

    public long getMemorySize() {
        return memorySize;
    }

    public long availableMemory() {
        // Owners' credit is available memory (it goes back before anyone is refused).
        return pages == null ? fallbackBudget.getAvailableMemorySize() : pages.available() + owners.credit();
    }

    public int computeNumberOfPages(double fraction) {
        validateFraction(fraction);
        return (int) (totalNumberOfPages * fraction);
    }

    public long computeMemorySize(double fraction) {
        validateFraction(fraction);
        return (long) Math.floor(memorySize * fraction);
    }

    public static MemoryManager create(long memorySize, int pageSize) {
        return new MemoryManager(memorySize, pageSize);
    }

    private static void validateFraction(double fraction) {
        Preconditions.checkArgument(
                fraction != 0.0,
                "The fraction of memory to allocate should not be 0. Please make sure that all types of managed "
                        + "memory consumers contained in the job are configured with a non-negative weight via `%s`.",
                TaskManagerOptions.MANAGED_MEMORY_CONSUMER_WEIGHTS.key());
        Preconditions.checkArgument(
                fraction > 0.0 && fraction <= 1.0,
                "The fraction of memory to allocate must within (0, 1], was: %s.",
                fraction);
    }
}
