package dev.tmrt.memory;

import dev.tmrt.NativeLibrary;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.function.Supplier;

/**
 * One slot pool of tmrt's native managed memory, seen from Java: the native pool, its shared page
 * table, for Flink's {@code org.apache.flink.runtime.memory.MemoryManager} as tmrt substitutes
 * it (the drop-in runtime): each operation runs on the lock-free page table right here (no JNI;
 * the steps are {@link PageTable}'s, shared with tmrt's own API's {@link Pages}) or crosses into
 * the native pool. Refusals are status codes here (the drop-in words them with Flink's texts),
 * where {@link Pages} lets the native pool throw tmrt's; the native pool is recorded as a slot for
 * the agent's metrics.
 *
 * <p>Pages are {@code long} handles: generation in the high half, page index in the low half
 * (the page is at {@link #base()} {@code + index << }{@link #shift()}). Owners are numbers (at
 * most {@link #MAX_OWNER_ID}) that the caller maps from its owner objects; they are written into
 * the page table, so the native side can report who holds what.
 *
 * <p>Lifetime: the native pool is freed by a {@link Cleaner} once this object is unreachable, so
 * whoever can still release a page (a segment's cleanup action) must hold this object. Every
 * method is fenced with {@link Reference#reachabilityFence}.
 *
 * <p>This class is tmrt-internal API (public only for the drop-in classes in Flink's packages).
 */
public final class SlotPages implements OwnerBook.ReservedBudget {
    static {
        NativeLibrary.load();
    }

    /** {@link #allocate}: done. */
    public static final int OK = 0;
    /** {@link #allocate}: the budget (pages and reservations) has no room. */
    public static final int FULL = 1;
    /** {@link #allocate}: the pool was closed. */
    public static final int CLOSED = 2;
    /** The largest owner number. */
    public static final long MAX_OWNER_ID = PageTable.MAX_OWNER_ID;

    private static final Cleaner CLEANER = Cleaner.create();

    private final long handle;
    private final long size;
    private final int pageSize;
    private final int shift;
    private final long base;
    private final PageTable table;
    /** Who holds what, as the memory manager over this pool books it ({@link #describeOwnersWith}). */
    private volatile Supplier<long[]> ownerUsage;

    private SlotPages(long handle, long size, int pageSize) {
        CLEANER.register(this, new Free(handle));
        this.handle = handle;
        this.size = size;
        this.pageSize = pageSize;
        this.shift = Integer.numberOfTrailingZeros(pageSize);
        this.base = nativeBase(handle);
        this.table = new PageTable(nativeTableAddress(handle), nativeTableLength(handle));
    }

    /**
     * A pool of {@code size} bytes (one anonymous mapping) handing out pages of {@code pageSize}
     * bytes (a power of two from 4 KiB to 1 GiB).
     *
     * @throws IllegalArgumentException for a negative size or a bad page size
     * @throws OutOfMemoryError when the mapping cannot be made
     */
    public static SlotPages create(long size, int pageSize) {
        return new SlotPages(nativeCreate(size, pageSize), size, pageSize);
    }

    /** The budget in bytes (pages and reservations). */
    public long size() {
        return size;
    }

    public int pageSize() {
        return pageSize;
    }

    /** log2 of the page size. */
    public int shift() {
        return shift;
    }

    /** The address of page 0. */
    public long base() {
        return base;
    }

    /** How many pages the pool has. */
    public int totalPages() {
        return table.total();
    }

    /** The page index of handle {@code bits}. */
    public static int index(long bits) {
        return (int) bits;
    }

    /** The address of the page of handle {@code bits}. */
    public long address(long bits) {
        return base + ((long) (int) bits << shift);
    }

    /**
     * Allocates {@code n} pages ({@code 0 <= n <= totalPages()}) for owner number {@code owner},
     * all or nothing, writing their handles to {@code out[0..n)}: {@link #OK}, {@link #FULL} or
     * {@link #CLOSED} (nothing allocated then). One page, or a small batch, runs on the page
     * table here; a large batch, or a budget that looks full (the native side first returns the
     * parked hot page, then decides), crosses JNI once.
     */
    public int allocate(long owner, int n, long[] out) {
        try {
            if (n == 1) {
                long bits = table.allocateOne(owner);
                if (bits == PageTable.NO_PAGE) {
                    return nativeAllocate(handle, owner, 1, out);
                }
                out[0] = bits;
                return OK;
            }
            return table.allocate(owner, n, out) ? OK : nativeAllocate(handle, owner, n, out);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Releases one page on the page table (no JNI, no lock).
     *
     * @throws IllegalStateException when the page is not held with this handle's generation
     *     (released twice) or the pool is closed: the native pool's exact error
     */
    public void release(long bits) {
        try {
            int r = table.release(bits);
            if (r == PageTable.DUE) {
                nativeReturnMemoryIfDue(handle);
            } else if (r != PageTable.OK) {
                nativeReleaseOne(handle, bits);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Whether the page of {@code bits} is held now with that generation. */
    public boolean isHeld(long bits) {
        try {
            return table.isHeld(bits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Releases the pages of {@code bits[0..n)}, all or nothing, on the page table (no JNI, no
     * lock).
     *
     * @throws IllegalStateException when one is not held with its handle's generation (released
     *     twice) or the pool is closed, {@link IllegalArgumentException} when one appears twice:
     *     the native pool's exact error, nothing released
     */
    public void release(long[] bits, int n) {
        try {
            int r = table.releaseBatch(bits, n);
            if (r == PageTable.DUE) {
                nativeReturnMemoryIfDue(handle);
            } else if (r != PageTable.OK) {
                nativeReleaseBatch(handle, bits, n);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Reserves {@code bytes >= 0} of non-page memory from the same budget, on the page table's
     * header (no JNI); false (nothing changed) when they do not fit. Who reserved how much is the
     * caller's bookkeeping: the native pool knows only the total.
     *
     * @throws IllegalStateException when the pool is closed
     */
    @Override
    public boolean reserve(long bytes) {
        try {
            long r = table.changeReserved(bytes, 0);
            if (r == PageTable.CLOSED_TABLE) {
                throw new IllegalStateException("Memory manager has been shut down.");
            }
            return r != PageTable.SHORT;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Gives back {@code bytes} of a reservation made with {@link #reserve(long)} (the caller
     * checked that they were reserved); nothing happens once the pool is closed.
     */
    @Override
    public void releaseReserved(long bytes) {
        try {
            table.changeReserved(0, bytes);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Bytes neither in pages nor reserved (0 once closed). */
    public long available() {
        try {
            return table.available();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Who holds what: triples (owner number, pages, reserved bytes). */
    public long[] usage() {
        try {
            return nativeUsage(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Tells the agent where to read who holds what: {@code usage} returns triples (owner number,
     * pages, reserved bytes) as the memory manager over this pool books them. The native pool knows
     * the owner of every page but only the total of the reservations (they run on the page table's
     * header and are booked per owner in Java), so the agent's report takes each owner's reserved
     * bytes from here. Called from a thread asking for a snapshot, or in the VM-death event for the
     * report at exit (where JVMTI allows calls into Java); never in a GC or class-load callback.
     */
    public void describeOwnersWith(Supplier<long[]> usage) {
        try {
            ownerUsage = usage;
            nativeAttach(handle, this);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** The agent's call (JNI): the triples of {@link #describeOwnersWith}'s supplier, or null. */
    long[] ownerUsage() {
        Supplier<long[]> usage = ownerUsage;
        return usage == null ? null : usage.get();
    }

    /** Returns the physical memory of every free page to the OS now. */
    public void trim() {
        try {
            nativeTrim(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The memory manager was shut down: the agent stops showing this pool as a slot's (its pages
     * stay valid until this object is freed).
     */
    public void retire() {
        try {
            nativeRetire(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** The native invariant check: {@code "ok retained=N"} or the first violation (tests). */
    public String check(boolean quiet) {
        try {
            return nativeCheck(handle, quiet);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Frees the native pool once its {@link SlotPages} is unreachable. */
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

    private static native long nativeCreate(long size, int pageSize);

    private static native void nativeFree(long handle);

    private static native void nativeRetire(long handle);

    private static native void nativeAttach(long handle, SlotPages pages);

    private static native long nativeBase(long handle);

    private static native long nativeTableAddress(long handle);

    private static native long nativeTableLength(long handle);

    private static native int nativeAllocate(long handle, long owner, int n, long[] out);

    private static native void nativeReleaseOne(long handle, long bits);

    private static native void nativeReturnMemoryIfDue(long handle);

    private static native void nativeReleaseBatch(long handle, long[] bits, int count);

    private static native long[] nativeUsage(long handle);

    private static native void nativeTrim(long handle);

    private static native String nativeCheck(long handle, boolean quiet);
}
