package dev.tmrt.memory;

import dev.tmrt.NativeLibrary;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Managed memory with the API of Flink's {@code org.apache.flink.runtime.memory.MemoryManager},
 * backed by tmrt's native slot pool: the whole budget is one anonymous mapping, and pages are
 * handed out of it. Flink code ports by changing imports ({@code MemorySegment} becomes
 * {@link Segment}, {@code MemoryReservationException} and {@link MemoryAllocationException} come
 * from this package).
 *
 * <p>This class is the API: argument checks, errors, and the order of the steps. Who holds what
 * is {@link Owners} (one {@link OwnerRecord} per owner: its segments and reserved bytes); the
 * pages and the byte budget are the native pool's page table, which lives in shared memory and is
 * operated on right here ({@link PageTable}, a port of {@code runtime/src/managed/protocol.rs}):
 * single pages, batches of up to {@value PageTable#BATCH_MAX} pages, batch releases and reservations
 * cost no JNI call. Larger batches, a budget that looks full, and refused operations cross JNI
 * once (a batch as one {@code long[]}), and the native pool produces the exact error texts. The
 * native side knows at every moment which owner number holds which page (the owner is in the
 * page's state word) and the total of reserved bytes.
 *
 * <p><b>Threads.</b> All operations are thread-safe. An owner's record is locked (one CAS) while
 * its segments change; the page table's CAS on a page's state word (generation and holder) is
 * the arbiter of a page. A segment that is no longer in its owner's record was released already,
 * so of two racing releases of one segment exactly one succeeds.
 *
 * <p><b>Differences from Flink.</b> Misuse is an error where Flink ignores it: releasing a
 * segment twice throws {@link IllegalStateException}, releasing another memory manager's segment
 * throws {@link IllegalArgumentException}, and releasing more reserved memory than an owner
 * reserved throws {@link IllegalStateException}. A batch release is all or nothing.
 *
 * <p><b>Lifetime.</b> {@link #shutdown()} releases everything; segments still held are marked
 * freed and their memory goes back to the OS. The native pool is freed when this object becomes
 * unreachable (a {@link Cleaner} of {@link Pages}). The mapping itself is never unmapped, so a stale
 * {@link ByteBuffer} reads zeros instead of crashing the JVM.
 */
public final class MemoryManager {
    static {
        NativeLibrary.load();
    }

    /** Flink's default page size (32 KiB). */
    public static final int DEFAULT_PAGE_SIZE = 32 * 1024;
    /** Flink's minimal page size (4 KiB). */
    public static final int MIN_PAGE_SIZE = 4 * 1024;

    static final String SHUT_DOWN = "Memory manager has been shut down.";

    /** The native pool's handle (tests reach the pool's own checks through it). */
    private final long handle;
    private final long memorySize;
    private final int pageSize;
    private final Pages pages;
    private final Owners owners;
    /** The most an owner keeps as credit ({@link OwnerBook}): 1/64 of the budget. */
    private final long creditCap;
    /** The owner map (for tests: its size shows that it stays bounded). */
    private final Map<Object, OwnerRecord> ownerIds;
    private volatile boolean shutdown;

    private MemoryManager(long handle, long memorySize, int pageSize) {
        this.pages = new Pages(handle, pageSize);
        this.owners = new Owners(pages);
        this.creditCap = memorySize >>> 6;
        this.ownerIds = owners.records;
        this.handle = handle;
        this.memorySize = memorySize;
        this.pageSize = pageSize;
    }

    /**
     * A memory manager of {@code sizeBytes} bytes, handing out pages of {@code pageSize} bytes
     * (a power of two, at least 4096), as Flink's {@code MemoryManager.create}.
     *
     * @throws IllegalArgumentException for a negative size or a bad page size
     * @throws OutOfMemoryError when the address space for the mapping cannot be reserved
     */
    public static MemoryManager create(long sizeBytes, int pageSize) {
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("Size of total memory must be non-negative: " + sizeBytes);
        }
        long handle = nativeCreate(sizeBytes, pageSize);
        return new MemoryManager(handle, sizeBytes, pageSize);
    }

    /** Allocates {@code numPages} pages for {@code owner}, all or nothing. */
    public List<Segment> allocatePages(Object owner, int numPages) throws MemoryAllocationException {
        ArrayList<Segment> segments = new ArrayList<>(Math.max(Math.min(numPages, pages.total()), 0));
        allocatePages(owner, segments, numPages);
        return segments;
    }

    /** Allocates {@code numPages} pages for {@code owner} into {@code target}, all or nothing. */
    public void allocatePages(Object owner, Collection<Segment> target, int numPages)
            throws MemoryAllocationException {
        if (owner == null) {
            throw new NullPointerException("The memory owner must not be null.");
        }
        if (numPages < 0) {
            throw new IllegalArgumentException("Cannot allocate a negative number of pages: " + numPages);
        }
        checkNotShutdown();
        // More pages than the whole pool is the native pool's IllegalArgumentException (Flink's
        // text), not an OutOfMemoryError here: no array is sized beyond the pool.
        int room = Math.min(numPages, pages.total());
        if (numPages != 1 && target instanceof ArrayList) {
            ((ArrayList<Segment>) target).ensureCapacity(target.size() + room);
        }
        try {
            allocateInto(owner, target, numPages, room);
        } catch (MemoryAllocationException e) {
            // Refused: once more after every owner's credit went back (OwnerBook), so that the
            // refusal is the one without credit.
            if (owners.returnCredit() == 0) {
                throw withOwner(e, owner);
            }
            try {
                allocateInto(owner, target, numPages, room);
            } catch (MemoryAllocationException again) {
                throw withOwner(again, owner);
            }
        }
    }

    private void allocateInto(Object owner, Collection<Segment> target, int numPages, int room)
            throws MemoryAllocationException {
        if (numPages == 1) {
            Segment one = allocateOne(owner);
            try {
                target.add(one);
            } catch (RuntimeException | Error e) {
                // The target refused it (an immutable list, a full bounded queue): it goes back.
                release(one);
                throw e;
            }
        } else {
            addAllOrRelease(target, allocateMany(owner, numPages, room));
        }
    }

    private MemoryAllocationException withOwner(MemoryAllocationException e, Object owner) {
        return new MemoryAllocationException(e.getMessage() + " [" + nameOwner(owner) + "]");
    }

    /**
     * Adds {@code made} to {@code target}; when the target refuses (an immutable list, a full
     * bounded queue), every page of this allocation goes back, so nothing stays with the owner.
     */
    private void addAllOrRelease(Collection<Segment> target, Segment[] made) {
        try {
            for (Segment s : made) {
                target.add(s);
            }
        } catch (RuntimeException | Error e) {
            for (Segment s : made) {
                if (!s.freed) {
                    release(s);
                }
            }
            throw e;
        }
    }

    /** One page for {@code owner}, registered in its record. */
    private Segment allocateOne(Object owner) throws MemoryAllocationException {
        OwnerRecord r = owners.lockOrCreate(owner);
        try {
            long bits = pages.allocateOne(r.id);
            Segment s;
            try {
                s = newSegment(r, owner, bits);
            } catch (Throwable t) {
                // Out of heap after allocating: give the page back, never lose it.
                pages.release(bits);
                throw t;
            }
            r.add(s);
            return s;
        } finally {
            r.unlock();
        }
    }

    /** {@code n != 1} pages for {@code owner}, registered in its record. */
    private Segment[] allocateMany(Object owner, int n, int room) throws MemoryAllocationException {
        long[] bits = new long[room];
        Segment[] made = new Segment[room];
        OwnerRecord r = owners.lockOrCreate(owner);
        try {
            pages.allocate(r.id, n, bits);
            try {
                for (int i = 0; i < n; i++) {
                    made[i] = newSegment(r, owner, bits[i]);
                }
            } catch (Throwable t) {
                pages.release(bits, n);
                throw t;
            }
            for (int i = 0; i < n; i++) {
                r.add(made[i]);
            }
            return made;
        } finally {
            r.unlock();
        }
    }

    /**
     * Releases one segment. {@code null} is ignored (as in Flink).
     *
     * @throws IllegalStateException when it was already released, or after shutdown
     * @throws IllegalArgumentException when it belongs to another memory manager
     */
    public void release(Segment segment) {
        if (segment == null) {
            return;
        }
        checkOwnSegment(segment);
        checkNotShutdown();
        checkNotFreed(segment);
        OwnerRecord r = segment.record;
        r.lock();
        boolean held = r.remove(segment);
        r.unlock();
        if (!held) {
            throw doubleRelease(segment);
        }
        if (!segment.quarantine()) {
            pages.release(segment.bits);
        }
        segment.markFreed();
    }

    /**
     * Releases a batch of segments, all or nothing (nulls are skipped), on the page table; then
     * clears the collection as Flink does.
     *
     * @throws IllegalStateException when one was already released, or after shutdown
     * @throws IllegalArgumentException when one belongs to another memory manager or appears twice;
     *     nothing is released then
     */
    public void release(Collection<Segment> segments) {
        if (segments == null) {
            return;
        }
        Segment[] batch = new Segment[segments.size()];
        int n = 0;
        for (Segment s : segments) {
            if (s != null) {
                checkOwnSegment(s);
                if (n == batch.length) {
                    batch = java.util.Arrays.copyOf(batch, n * 2 + 1);
                }
                batch[n++] = s;
            }
        }
        checkNotShutdown();
        for (int i = 0; i < n; i++) {
            checkNotFreed(batch[i]);
        }
        unregister(batch, n);
        releasePages(batch, n);
        for (int i = 0; i < n; i++) {
            batch[i].markFreed();
        }
        try {
            segments.clear();
        } catch (UnsupportedOperationException immutable) {
            // An immutable collection keeps its (now freed) segments.
        }
    }

    /**
     * Takes {@code batch[0..n)} out of their owners' records (one lock per run of one owner), or
     * none of them: a segment that is not there (released already, or twice in the batch) puts
     * the others back and throws.
     */
    private static void unregister(Segment[] batch, int n) {
        OwnerRecord locked = null;
        int done = 0;
        try {
            for (; done < n; done++) {
                Segment s = batch[done];
                if (s.record != locked) {
                    if (locked != null) {
                        locked.unlock();
                    }
                    locked = s.record;
                    locked.lock();
                }
                if (!locked.remove(s)) {
                    break;
                }
            }
        } finally {
            if (locked != null) {
                locked.unlock();
            }
        }
        if (done == n) {
            return;
        }
        Segment bad = batch[done];
        boolean twice = false;
        for (int i = 0; i < done; i++) {
            twice |= batch[i] == bad;
        }
        for (int i = 0; i < done; i++) {
            OwnerRecord r = batch[i].record;
            r.lock();
            r.add(batch[i]);
            r.unlock();
        }
        if (twice) {
            throw new IllegalArgumentException(
                    "segment (page " + bad.pageIndex() + ") appears twice in one release; nothing was released");
        }
        throw doubleRelease(bad);
    }

    /** Frees the pages of {@code segs[0..n)}, taken out of their records, all or nothing. */
    private void releasePages(Segment[] segs, int n) {
        long[] bits = new long[n];
        int free = 0;
        for (int i = 0; i < n; i++) {
            if (!segs[i].quarantine()) {
                bits[free++] = segs[i].bits;
            }
        }
        if (free == 1) {
            pages.release(bits[0]); // one page: the single-page path (it may park the page hot)
        } else {
            pages.release(bits, free);
        }
    }

    /**
     * The last buffer handed out by a released segment was collected: its page goes back (unless
     * the memory manager was shut down meanwhile: then it is closed with the rest).
     */
    void endQuarantine(long bits) {
        if (!shutdown) {
            try {
                pages.release(bits);
            } catch (IllegalStateException closed) {
                // Shut down meanwhile: the page was closed with the rest.
            }
        }
    }

    /** Releases every segment {@code owner} holds (its reservations stay, as in Flink). */
    public void releaseAll(Object owner) {
        if (owner == null) {
            return;
        }
        checkNotShutdown();
        OwnerRecord r = owners.lockExisting(owner);
        if (r == null) {
            return;
        }
        Segment[] held;
        try {
            held = r.takeAll();
        } finally {
            r.unlock();
        }
        releasePages(held, held.length);
        for (Segment s : held) {
            s.markFreed();
        }
    }

    /**
     * Reserves {@code bytes} of non-page memory for {@code owner} against the same budget as the
     * pages (Flink's {@code reserveMemory}).
     */
    public void reserveMemory(Object owner, long bytes) throws MemoryReservationException {
        if (owner == null) {
            throw new NullPointerException("The memory owner must not be null.");
        }
        if (bytes < 0) {
            throw new IllegalArgumentException("Cannot reserve a negative number of bytes: " + bytes);
        }
        checkNotShutdown();
        // From the owner's credit when it has enough (no pool call); when the pool refuses, once
        // more after every owner's credit went back, so that the refusal is the one without credit.
        OwnerRecord r;
        int tries = 0;
        do {
            r = owners.lockOrCreate(owner);
            try {
                if (r.book(bytes, pages)) {
                    return;
                }
            } finally {
                r.unlock();
            }
        } while (++tries == 1 && owners.returnCredit() > 0);
        throw new MemoryReservationException(String.format(
                "Could not allocate %d bytes, only %d bytes are remaining (%s, owner %d). This usually indicates "
                        + "that you are requesting more memory than you have reserved. [%s]",
                bytes, PageTable.lastAvailable(), pages.name, r.id, nameOwner(owner)));
    }

    /**
     * Gives back {@code bytes} of {@code owner}'s reservation.
     *
     * @throws IllegalStateException when the owner reserved less than that
     */
    public void releaseMemory(Object owner, long bytes) {
        if (owner == null) {
            throw new NullPointerException("The memory owner must not be null.");
        }
        if (bytes < 0) {
            throw new IllegalArgumentException("Cannot release a negative number of bytes: " + bytes);
        }
        checkNotShutdown();
        OwnerRecord r = owners.lockExisting(owner);
        if (r == null) {
            if (bytes > 0) {
                throw new IllegalStateException(
                        "owner " + owner + " releases " + bytes + " bytes but has no memory reserved");
            }
            return;
        }
        long had;
        try {
            had = r.reserved;
            if (had >= bytes) {
                if (bytes > 0) {
                    r.unbook(bytes, creditCap, pages);
                }
                return;
            }
        } finally {
            r.unlock();
        }
        throw new IllegalStateException(String.format(
                "%s: owner %d releases %d bytes but has only %d bytes reserved [%s]",
                pages.name, r.id, bytes, had, nameOwner(owner)));
    }

    /** Gives back all of {@code owner}'s reservation (Flink's {@code releaseAllMemory}). */
    public void releaseAllMemory(Object owner) {
        if (owner == null) {
            return;
        }
        checkNotShutdown();
        OwnerRecord r = owners.lockExisting(owner);
        if (r == null) {
            return;
        }
        try {
            // The owner is done: its credit goes back too.
            r.unbook(r.reserved, 0, pages);
        } finally {
            r.unlock();
        }
    }

    /** Bytes neither in pages nor reserved (0 after shutdown); owners' credit counts as available. */
    public long availableMemory() {
        return pages.available() + owners.credit();
    }

    /** The page size in bytes. */
    public int getPageSize() {
        return pageSize;
    }

    /** The budget in bytes (pages and reservations together). */
    public long getMemorySize() {
        return memorySize;
    }

    /** Whether no owner holds any page or reservation. */
    public boolean verifyEmpty() {
        return owners.usage().length == 0;
    }

    /**
     * Who holds what, one line per owner ({@code owner.toString()}: pages, reserved bytes), or
     * {@code "empty"}.
     */
    public String usageReport() {
        return describe(owners.usage());
    }

    /**
     * Shuts the memory manager down: every segment still held is marked freed, all memory goes
     * back to the OS, and every later operation throws {@link IllegalStateException}
     * ("Memory manager has been shut down."). When owners still held memory, the leak is
     * reported on {@code System.err}, per owner. Calling it again does nothing.
     */
    public void shutdown() {
        String leaks;
        synchronized (owners) {
            if (shutdown) {
                return;
            }
            shutdown = true;
            long[] held = owners.usage();
            leaks = held.length == 0 ? null : describe(held);
            try {
                // Held pages become leaked in the page table: their segments see it (isFreed).
                pages.close();
            } finally {
                for (OwnerRecord r : owners.clear()) {
                    r.lock();
                    for (Segment s : r.takeAll()) {
                        s.markFreed();
                    }
                    r.unlock();
                }
            }
        }
        if (leaks != null) {
            System.err.println("tmrt MemoryManager shut down with memory still held: " + leaks);
        }
    }

    /** Whether {@link #shutdown()} was called. */
    public boolean isShutdown() {
        return shutdown;
    }

    // ---------------------------------------------------------------------------------------

    /** Whether the page table still has the segment's page held with its generation. */
    boolean holds(Segment s) {
        return pages.isHeld(s.bits);
    }

    /** The shared direct buffer over the page of live segment {@code s} ({@link Pages#pageView}). */
    ByteBuffer pageView(Segment s) {
        return pages.pageView(s.bits);
    }

    /** A new direct buffer over the page of live segment {@code s}. */
    ByteBuffer newView(Segment s) {
        return pages.newView(s.bits);
    }

    /** Owner lines from triples (owner id, pages, reserved bytes). */
    private String describe(long[] triples) {
        if (triples.length == 0) {
            return "empty";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < triples.length; i += 3) {
            Object owner = owners.ownerOf(triples[i]);
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append("owner ").append(owner == null ? "#" + triples[i] : describeOwner(owner))
                    .append(": ").append(triples[i + 1]).append(" pages, ")
                    .append(triples[i + 2]).append(" reserved bytes");
        }
        return sb.toString();
    }

    /**
     * {@code owner.toString()}, or, when that throws, its class and identity hash: a report about
     * an owner never fails because of the owner.
     */
    private static String describeOwner(Object owner) {
        try {
            return String.valueOf(owner);
        } catch (RuntimeException | Error e) {
            return owner.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(owner))
                    + " (toString threw " + e.getClass().getName() + ")";
        }
    }

    /** "owner N is DESCRIPTION": the owner's number, as errors print it, and the owner object. */
    private String nameOwner(Object owner) {
        long id = owners.idOf(owner);
        return "owner " + (id < 0 ? "?" : id) + " is " + describeOwner(owner);
    }

    private Segment newSegment(OwnerRecord r, Object owner, long bits) {
        return new Segment(this, r, owner, bits, pages.address(bits), pageSize);
    }

    private void checkOwnSegment(Segment s) {
        if (s.manager() != this) {
            throw new IllegalArgumentException(
                    "foreign segment: " + s + " belongs to another memory manager");
        }
    }

    private static void checkNotFreed(Segment s) {
        if (s.freed) {
            throw doubleRelease(s);
        }
    }

    private static IllegalStateException doubleRelease(Segment s) {
        return new IllegalStateException(
                "segment (page " + s.pageIndex() + ") was already released: double release");
    }

    private void checkNotShutdown() {
        if (shutdown) {
            throw new IllegalStateException(SHUT_DOWN);
        }
    }

    private static native long nativeCreate(long sizeBytes, int pageSize);

    /** The native pool's own reservation (per-owner map), for tests of its argument checks. */
    private static native void nativeReserve(long handle, long owner, long bytes) throws MemoryReservationException;

    /** The native pool's own release of a reservation, for tests of its argument checks. */
    private static native void nativeReleaseMemory(long handle, long owner, long bytes);

    /**
     * The native pool's invariant check over the shared page table, {@code "ok retained=N"} or
     * the first violation (tests call it reflectively).
     */
    private static native String nativeCheck(long handle, boolean quiet);

    /** Native pools not yet freed by their Cleaner (tests call it reflectively). */
    private static native long nativeLivePools();
}
