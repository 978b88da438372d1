package dev.tmrt.memory;

import dev.tmrt.NativeLibrary;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Managed memory with the API of Flink's {@code org.apache.flink.runtime.memory.MemoryManager},
 * backed by tmrt's native slot pool: the whole budget is one anonymous mapping, and pages are
 * handed out of it. Flink code ports by changing imports ({@code MemorySegment} becomes
 * {@link Segment}, {@code MemoryReservationException} and {@link MemoryAllocationException} come
 * from this package).
 *
 * <p><b>Owners.</b> The native pool knows owners by number. Each memory manager maps owner
 * objects to numbers by identity (an {@link IdentityHashMap}; Flink's map uses
 * {@code equals}, which is the same for its owners, operators and tasks that do not override
 * it); numbers are never reused. The last owner used is cached (one volatile read, no lock).
 * Owners that hold nothing any more are dropped from the map in batches (one native call)
 * whenever the map has doubled, so the map stays bounded without a native call per release.
 *
 * <p><b>Single pages without JNI.</b> The native pool's page table lives in shared memory, and
 * allocating or releasing ONE page runs the pool's lock-free protocol right here
 * ({@link PageTable}, a port of {@code runtime/src/managed/protocol.rs}): no JNI call, no lock.
 * The native side still knows at every moment which owner holds which page (the owner is in the
 * page's state word). Errors (over budget, double release, shut down) are produced by the
 * native pool, so their texts are the same either way.
 *
 * <p><b>Threads.</b> All operations are thread-safe; everything else crosses JNI once, whatever
 * the number of pages: a batch of page handles travels as one {@code long[]}. Operations that
 * name a new owner take this memory manager's monitor (for the owner map); releasing segments
 * takes no Java lock at all: a CAS on the page's state word (generation and holder) makes
 * exactly one of two racing releases succeed.
 *
 * <p><b>Differences from Flink.</b> Misuse is an error where Flink ignores it: releasing a
 * segment twice throws {@link IllegalStateException}, releasing another memory manager's segment
 * throws {@link IllegalArgumentException}, and releasing more reserved memory than an owner
 * reserved throws {@link IllegalStateException}. A batch release is all or nothing.
 *
 * <p><b>Lifetime.</b> {@link #shutdown()} releases everything; segments still held are marked
 * freed and their memory goes back to the OS. The native pool is freed when this object becomes
 * unreachable (a {@link Cleaner}). The mapping itself is never unmapped, so a stale
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

    private static final Cleaner CLEANER = Cleaner.create();
    private static final int MIN_PURGE_AT = 64;
    /** Batches up to this size are allocated on the page table in Java, larger ones natively. */
    private static final int JAVA_BATCH_MAX = 64;

    private final long handle;
    private final long memorySize;
    private final int pageSize;
    private final long base;
    private final Object lock = new Object();
    /** The shared page table (single pages are allocated and released here, without JNI). */
    private final PageTable table;
    /**
     * The last owner and its number. Read after claiming the budget, so that an owner purge,
     * which waits until every claim is published in the table, sees the page (see
     * {@link #purgeEmptyOwners()}).
     */
    private volatile OwnerCache lastOwner;
    /** Owner objects by identity, to their native numbers (guarded by {@code lock}). */
    private final IdentityHashMap<Object, Long> ownerIds = new IdentityHashMap<>();
    private long nextOwnerId = 1;
    private int purgeAt = MIN_PURGE_AT;
    private volatile boolean shutdown;

    private MemoryManager(long handle, long memorySize, int pageSize) {
        CLEANER.register(this, new Free(handle));
        this.handle = handle;
        this.memorySize = memorySize;
        this.pageSize = pageSize;
        this.base = nativeBase(handle);
        this.table = new PageTable(nativeTableAddress(handle), nativeTableLength(handle));
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
        ArrayList<Segment> segments = new ArrayList<>(Math.max(Math.min(numPages, table.total()), 0));
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
        int room = Math.min(numPages, table.total());
        if (numPages != 1 && target instanceof ArrayList) {
            ((ArrayList<Segment>) target).ensureCapacity(target.size() + room);
        }
        try {
            if (numPages == 1) {
                Segment one = allocateOne(owner);
                addAllOrRelease(target, new Segment[] {one});
                return;
            }
            long[] bits = new long[room];
            Segment[] made = new Segment[room];
            if (!allocateBatch(owner, numPages, bits, made)) {
                synchronized (lock) {
                    long id = ownerId(owner);
                    nativeAllocate(handle, id, numPages, bits);
                    lastOwner = new OwnerCache(owner, id);
                    for (int i = 0; i < numPages; i++) {
                        made[i] = newSegment(owner, bits[i]);
                    }
                }
            }
            addAllOrRelease(target, made);
        } catch (MemoryAllocationException e) {
            throw new MemoryAllocationException(e.getMessage() + " [" + nameOwner(owner) + "]");
        } finally {
            Reference.reachabilityFence(this);
        }
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

    /**
     * A small batch ({@code 2..}{@link #JAVA_BATCH_MAX} pages) for the cached owner on the shared
     * page table, as {@link #allocateOne} does for one page: false (nothing taken) when the
     * budget looks full, the pool is closed, or the owner is not the cached one; the caller then
     * goes native under the lock.
     */
    private boolean allocateBatch(Object owner, int n, long[] bits, Segment[] made) {
        if (n > JAVA_BATCH_MAX || table.claim(n) != PageTable.OK) {
            return false;
        }
        // Read after claiming (see lastOwner); a miss gives the claim back before the lock.
        OwnerCache cached = lastOwner;
        if (cached == null || cached.owner != owner) {
            table.unclaim(n);
            return false;
        }
        table.popClaimed(n, bits);
        try {
            for (int i = 0; i < n; i++) {
                made[i] = newSegment(owner, bits[i]);
            }
        } catch (Throwable t) {
            // Out of heap between claiming and publishing: give the pages back, never lose them.
            for (int i = 0; i < n; i++) {
                table.giveBack(bits[i]);
            }
            throw t;
        }
        table.publish(bits, n, cached.id);
        return true;
    }

    /** One page for {@code owner} through the shared page table (protocol.rs). */
    private Segment allocateOne(Object owner) throws MemoryAllocationException {
        long bits = table.takeHot();
        if (bits == PageTable.NO_PAGE && table.claimOne() != PageTable.OK) {
            // Over budget or shut down: the native pool says which, with Flink's text (or
            // succeeds, if pages came back meanwhile).
            synchronized (lock) {
                return newSegment(owner, nativeAllocateOne(handle, ownerId(owner)));
            }
        }
        OwnerCache cached = lastOwner;
        if (cached == null || cached.owner != owner) {
            // Another owner than last time: give the claim back (an owner purge waits for
            // claims to be published) and allocate natively under the lock, caching the owner.
            if (bits == PageTable.NO_PAGE) {
                table.unclaimOne();
            } else {
                table.giveBack(bits);
            }
            synchronized (lock) {
                long id = ownerId(owner);
                lastOwner = new OwnerCache(owner, id);
                return newSegment(owner, nativeAllocateOne(handle, id));
            }
        }
        long id = cached.id;
        if (bits == PageTable.NO_PAGE) {
            bits = table.popClaimed();
        }
        Segment s;
        try {
            s = newSegment(owner, bits);
        } catch (Throwable t) {
            // Out of heap between claiming and publishing: give the page back, never lose it.
            table.giveBack(bits);
            throw t;
        }
        table.publish(bits, id);
        return s;
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
        try {
            // No Java lock and no JNI: a CAS on the page's state word is the arbiter. Of two
            // racing releases of one segment, exactly one succeeds.
            int r = table.release(segment.bits);
            if (r == PageTable.DUE) {
                nativeReturnMemoryIfDue(handle);
            } else if (r != PageTable.OK) {
                // Refused and nothing changed: the native pool throws the exact error.
                nativeReleaseOne(handle, segment.bits);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        segment.markFreed();
    }

    /**
     * Releases a batch of segments, all or nothing (nulls are skipped), crossing JNI once; then
     * clears the collection as Flink does.
     *
     * @throws IllegalStateException when one was already released (or appears twice), or after
     *     shutdown; nothing is released then
     * @throws IllegalArgumentException when one belongs to another memory manager
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
        long[] bits = new long[n];
        for (int i = 0; i < n; i++) {
            bits[i] = batch[i].bits;
        }
        checkNotShutdown();
        for (int i = 0; i < n; i++) {
            checkNotFreed(batch[i]);
        }
        try {
            // No Java lock and no JNI, as in release(Segment): the page table marks the whole
            // batch releasing and frees all of it, or rolls back; a refused batch goes native for
            // the exact error (double releases, duplicates, closed).
            int r = table.releaseBatch(bits, n);
            if (r == PageTable.DUE) {
                nativeReturnMemoryIfDue(handle);
            } else if (r != PageTable.OK) {
                nativeRelease(handle, bits, n);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        for (int i = 0; i < n; i++) {
            batch[i].markFreed();
        }
        try {
            segments.clear();
        } catch (UnsupportedOperationException immutable) {
            // An immutable collection keeps its (now freed) segments.
        }
    }

    /** Releases every segment {@code owner} holds (its reservations stay, as in Flink). */
    public void releaseAll(Object owner) {
        if (owner == null) {
            return;
        }
        try {
            synchronized (lock) {
                checkNotShutdown();
                Long id = ownerIds.get(owner);
                if (id == null) {
                    return;
                }
                // The segments of the released pages see it in the page table (Segment.isFreed).
                nativeReleaseAll(handle, id);
            }
        } finally {
            Reference.reachabilityFence(this);
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
        try {
            synchronized (lock) {
                checkNotShutdown();
                nativeReserve(handle, ownerId(owner), bytes);
            }
        } catch (MemoryReservationException e) {
            throw new MemoryReservationException(e.getMessage() + " [" + nameOwner(owner) + "]");
        } finally {
            Reference.reachabilityFence(this);
        }
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
        try {
            synchronized (lock) {
                checkNotShutdown();
                Long id = ownerIds.get(owner);
                if (id == null) {
                    if (bytes > 0) {
                        throw new IllegalStateException(
                                "owner " + owner + " releases " + bytes + " bytes but has no memory reserved");
                    }
                    return;
                }
                try {
                    nativeReleaseMemory(handle, id, bytes);
                } catch (IllegalStateException e) {
                    throw new IllegalStateException(e.getMessage() + " [" + nameOwner(owner) + "]");
                }
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Gives back all of {@code owner}'s reservation (Flink's {@code releaseAllMemory}). */
    public void releaseAllMemory(Object owner) {
        if (owner == null) {
            return;
        }
        try {
            synchronized (lock) {
                checkNotShutdown();
                Long id = ownerIds.get(owner);
                if (id != null) {
                    nativeReleaseAllMemory(handle, id);
                }
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Bytes neither in pages nor reserved (0 after shutdown). */
    public long availableMemory() {
        try {
            return nativeAvailable(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
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
        return usage().length == 0;
    }

    /**
     * Who holds what, one line per owner ({@code owner.toString()}: pages, reserved bytes), or
     * {@code "empty"}.
     */
    public String usageReport() {
        return describe(usage());
    }

    /**
     * Shuts the memory manager down: every segment still held is marked freed, all memory goes
     * back to the OS, and every later operation throws {@link IllegalStateException}
     * ("Memory manager has been shut down."). When owners still held memory, the leak is
     * reported on {@code System.err}, per owner. Calling it again does nothing.
     */
    public void shutdown() {
        long[] leaks;
        try {
            synchronized (lock) {
                if (shutdown) {
                    return;
                }
                shutdown = true;
                try {
                    // Held pages become leaked in the page table: their segments see it (isFreed).
                    leaks = nativeShutdown(handle);
                    if (leaks.length > 0) {
                        System.err.println("tmrt MemoryManager shut down with memory still held: " + describe(leaks));
                    }
                } finally {
                    ownerIds.clear();
                    lastOwner = null;
                }
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Whether {@link #shutdown()} was called. */
    public boolean isShutdown() {
        return shutdown;
    }

    // ---------------------------------------------------------------------------------------

    /** Whether the page table still has the segment's page held with its generation. */
    boolean holds(Segment s) {
        try {
            return table.isHeld(s.bits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    ByteBuffer newView(Segment s) {
        try {
            return nativeBuffer(handle, s.bits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private long[] usage() {
        try {
            synchronized (lock) {
                return nativeUsage(handle);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Owner lines from native triples (owner id, pages, reserved bytes). */
    private String describe(long[] triples) {
        if (triples.length == 0) {
            return "empty";
        }
        StringBuilder sb = new StringBuilder();
        synchronized (lock) {
            for (int i = 0; i < triples.length; i += 3) {
                Object owner = null;
                for (Map.Entry<Object, Long> e : ownerIds.entrySet()) {
                    if (e.getValue() == triples[i]) {
                        owner = e.getKey();
                    }
                }
                if (sb.length() > 0) {
                    sb.append("; ");
                }
                sb.append("owner ").append(owner == null ? "#" + triples[i] : describeOwner(owner))
                        .append(": ").append(triples[i + 1]).append(" pages, ")
                        .append(triples[i + 2]).append(" reserved bytes");
            }
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

    /** "owner N is DESCRIPTION": the native id, as errors print it, and the owner object. */
    private String nameOwner(Object owner) {
        Long id;
        synchronized (lock) {
            id = ownerIds.get(owner);
        }
        return "owner " + (id == null ? "?" : id) + " is " + describeOwner(owner);
    }

    private Segment newSegment(Object owner, long bits) {
        int index = (int) bits;
        return new Segment(this, owner, bits, base + (long) index * pageSize, pageSize);
    }

    /** The native number of {@code owner}, made on first use; call under lock. */
    private long ownerId(Object owner) {
        Long id = ownerIds.get(owner);
        if (id != null) {
            return id;
        }
        if (ownerIds.size() >= purgeAt) {
            purgeEmptyOwners();
        }
        if (nextOwnerId > PageTable.MAX_OWNER_ID) {
            throw new IllegalStateException("this memory manager has used all " + PageTable.MAX_OWNER_ID + " owner ids");
        }
        long fresh = nextOwnerId++;
        ownerIds.put(owner, fresh);
        return fresh;
    }

    /**
     * Drops owners that hold nothing any more, with one native call; call under lock. The cache
     * is cleared first; the native side then waits for a moment when every budget claim is
     * published in the page table (else it drops nothing), so an allocation that read the old
     * cache (after claiming) is seen holding its page.
     */
    private void purgeEmptyOwners() {
        lastOwner = null;
        long[] ids = new long[ownerIds.size()];
        int n = 0;
        for (Long id : ownerIds.values()) {
            ids[n++] = id;
        }
        int empty = nativeEmptyOwners(handle, ids, n);
        if (empty > 0) {
            java.util.HashSet<Long> gone = new java.util.HashSet<>();
            for (int i = 0; i < empty; i++) {
                gone.add(ids[i]);
            }
            for (Iterator<Long> it = ownerIds.values().iterator(); it.hasNext(); ) {
                if (gone.contains(it.next())) {
                    it.remove();
                }
            }
        }
        purgeAt = Math.max(MIN_PURGE_AT, ownerIds.size() * 2);
    }

    private void checkOwnSegment(Segment s) {
        if (s.manager() != this) {
            throw new IllegalArgumentException(
                    "foreign segment: " + s + " belongs to another memory manager");
        }
    }

    private static void checkNotFreed(Segment s) {
        if (s.freed) {
            throw new IllegalStateException(
                    "segment (page " + s.pageIndex() + ") was already released: double release");
        }
    }

    private void checkNotShutdown() {
        if (shutdown) {
            throw new IllegalStateException("Memory manager has been shut down.");
        }
    }

    /** The last owner and its number (immutable, published through a volatile field). */
    private static final class OwnerCache {
        final Object owner;
        final long id;

        OwnerCache(Object owner, long id) {
            this.owner = owner;
            this.id = id;
        }
    }

    /** Frees the native pool once the memory manager is unreachable. */
    private static final class Free implements Runnable {
        private final long handle;

        Free(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            nativeFree(handle);
        }
    }

    private static native long nativeCreate(long sizeBytes, int pageSize);

    private static native long nativeBase(long handle);

    private static native long nativeTableAddress(long handle);

    private static native long nativeTableLength(long handle);

    private static native void nativeReturnMemoryIfDue(long handle);

    private static native long nativeAllocateOne(long handle, long owner) throws MemoryAllocationException;

    private static native void nativeAllocate(long handle, long owner, int numPages, long[] out)
            throws MemoryAllocationException;

    private static native void nativeReleaseOne(long handle, long bits);

    private static native void nativeRelease(long handle, long[] bits, int count);

    private static native long[] nativeReleaseAll(long handle, long owner);

    private static native void nativeReserve(long handle, long owner, long bytes) throws MemoryReservationException;

    private static native void nativeReleaseMemory(long handle, long owner, long bytes);

    private static native long nativeReleaseAllMemory(long handle, long owner);

    private static native long nativeAvailable(long handle);

    private static native long[] nativeUsage(long handle);

    private static native int nativeEmptyOwners(long handle, long[] ids, int count);

    private static native long[] nativeShutdown(long handle);

    private static native ByteBuffer nativeBuffer(long handle, long bits);

    private static native void nativeFree(long handle);

    /**
     * The native pool's invariant check over the shared page table, {@code "ok retained=N"} or
     * the first violation (tests call it reflectively).
     */
    private static native String nativeCheck(long handle, boolean quiet);

    /** Native pools not yet freed by their Cleaner (tests call it reflectively). */
    private static native long nativeLivePools();
}
