package dev.tmrt.memory;

import dev.tmrt.NativeLibrary;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The pages and the byte budget of one {@link MemoryManager}: its native slot pool and the pool's
 * shared page table, and where tmrt's own API decides whether an operation runs on the page
 * table right here ({@link PageTable}'s steps, which the drop-in's {@link SlotPages} runs too: no
 * JNI, no lock) or crosses into the native pool, which throws tmrt's exact errors. Single
 * pages, batches of up to {@link PageTable#BATCH_MAX} pages, batch releases and reservations run
 * here; larger batches and a budget that looks full go native, and so does every refused
 * operation, so that the native pool produces the exact error text.
 *
 * <p>Pages are {@code long} handles: generation in the high half, page index in the low half.
 * Who holds which page is the caller's bookkeeping ({@link Owners}); the page table records the
 * holder's number only for the native side's reports.
 *
 * <p>Lifetime: the native pool is freed by a {@link Cleaner} once this object is unreachable
 * (segments reach it through their memory manager); every method is fenced with
 * {@link Reference#reachabilityFence}.
 */
final class Pages implements OwnerBook.ReservedBudget {
    static {
        NativeLibrary.load();
    }

    private static final Cleaner CLEANER = Cleaner.create();

    /** The native pool (an {@code Arc<SlotPool>}'s raw pointer). */
    final long handle;
    /** The pool's name, as its errors print it. */
    final String name;
    private final long base;
    private final int pageSize;
    private final PageTable table;
    /** Per page: a direct buffer over it, made on first access (see {@link #pageView}). */
    private final AtomicReferenceArray<ByteBuffer> views;

    Pages(long handle, int pageSize) {
        CLEANER.register(this, new Free(handle));
        this.handle = handle;
        this.pageSize = pageSize;
        this.base = nativeBase(handle);
        this.name = nativeName(handle);
        this.table = new PageTable(nativeTableAddress(handle), nativeTableLength(handle));
        this.views = new AtomicReferenceArray<>(table.total());
    }

    /** How many pages the pool has. */
    int total() {
        return table.total();
    }

    /** The address of the page of handle {@code bits}. */
    long address(long bits) {
        return base + (long) (int) bits * pageSize;
    }

    /**
     * Allocates {@code n} pages ({@code 0 <= n}) for owner number {@code owner}, all or nothing,
     * writing their handles to {@code out[0..n)} (published as held when this returns).
     *
     * @throws MemoryAllocationException over budget (the native pool's text)
     * @throws IllegalArgumentException for more pages than the pool has
     * @throws IllegalStateException when the pool is closed
     */
    void allocate(long owner, int n, long[] out) throws MemoryAllocationException {
        if (n == 1) {
            out[0] = allocateOne(owner);
            return;
        }
        try {
            if (!table.allocate(owner, n, out)) {
                nativeAllocate(handle, owner, n, out);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** One page for owner number {@code owner}: its handle (see {@link #allocate}). */
    long allocateOne(long owner) throws MemoryAllocationException {
        try {
            long bits = table.allocateOne(owner);
            // Over budget or closed: the native pool says which (or succeeds, if pages came back
            // meanwhile).
            return bits != PageTable.NO_PAGE ? bits : nativeAllocateOne(handle, owner);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Releases one page; refused (released twice, closed): the native pool's exact error. */
    void release(long bits) {
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

    /** Releases {@code bits[0..n)}, all or nothing; refused: the native pool's exact error. */
    void release(long[] bits, int n) {
        try {
            int r = table.releaseBatch(bits, n);
            if (r == PageTable.DUE) {
                nativeReturnMemoryIfDue(handle);
            } else if (r != PageTable.OK) {
                nativeRelease(handle, bits, n);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Whether the page of {@code bits} is held now with that generation. */
    boolean isHeld(long bits) {
        try {
            return table.isHeld(bits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Adds {@code bytes} to the reserved total (protocol.rs: reserve); false (nothing changed)
     * when they do not fit, {@link PageTable#lastAvailable()} saying how much was available.
     *
     * @throws IllegalStateException when the pool is closed
     */
    @Override
    public boolean reserve(long bytes) {
        try {
            long r = table.changeReserved(bytes, 0);
            if (r == PageTable.CLOSED_TABLE) {
                throw new IllegalStateException(MemoryManager.SHUT_DOWN + " (" + name + ")");
            }
            return r != PageTable.SHORT;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Takes {@code bytes} (reserved before) off the reserved total; nothing once closed. */
    @Override
    public void releaseReserved(long bytes) {
        try {
            table.changeReserved(0, bytes);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Bytes neither in pages nor reserved (0 once closed). */
    long available() {
        try {
            return table.available();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The direct buffer over page {@code bits} (native byte order), made once per page with JNI
     * and shared by the page's segments for absolute accesses (which change no buffer state);
     * the page must be held with that handle.
     */
    ByteBuffer pageView(long bits) {
        int page = (int) bits;
        ByteBuffer v = views.get(page);
        if (v == null) {
            v = newView(bits).order(ByteOrder.nativeOrder());
            views.compareAndSet(page, null, v);
        }
        return v;
    }

    /** A new direct buffer over page {@code bits} (JNI), which must be held with that handle. */
    ByteBuffer newView(long bits) {
        try {
            return nativeBuffer(handle, bits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Closes the pool: held pages become leaked, every later operation is refused. */
    void close() {
        try {
            nativeShutdown(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Frees the native pool once its {@link Pages} is unreachable. */
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

    private static native void nativeFree(long handle);

    private static native long nativeBase(long handle);

    private static native String nativeName(long handle);

    private static native long nativeTableAddress(long handle);

    private static native long nativeTableLength(long handle);

    private static native void nativeReturnMemoryIfDue(long handle);

    private static native long nativeAllocateOne(long handle, long owner) throws MemoryAllocationException;

    private static native void nativeAllocate(long handle, long owner, int numPages, long[] out)
            throws MemoryAllocationException;

    private static native void nativeReleaseOne(long handle, long bits);

    private static native void nativeRelease(long handle, long[] bits, int count);

    private static native long[] nativeShutdown(long handle);

    private static native ByteBuffer nativeBuffer(long handle, long bits);
}
