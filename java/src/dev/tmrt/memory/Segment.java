package dev.tmrt.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One page of managed memory handed out by a {@link MemoryManager}: {@link #size()} bytes at
 * {@link #address()} inside the memory manager's mapping.
 *
 * <p>Once released (by {@link MemoryManager#release(Segment)}, a batch release,
 * {@link MemoryManager#releaseAll(Object)} or {@link MemoryManager#shutdown()}) a segment refuses
 * every access with an {@link IllegalStateException}. A {@link ByteBuffer} obtained from
 * {@link #buffer()} or {@link #wrap} before the release cannot be revoked, so the page is not
 * reused while such a buffer is reachable ({@link PageViews}): a stale buffer never touches
 * another owner's data. After shutdown it reads zeros; it can never crash the JVM: the mapping
 * is never unmapped.
 */
public final class Segment {
    private static final VarHandle FREED;

    static {
        try {
            FREED = MethodHandles.lookup().findVarHandle(Segment.class, "freed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MemoryManager manager;
    private final Object owner;
    final long bits;
    private final long address;
    private final int size;
    volatile boolean freed;
    /** The record of the owner that holds it (its lock guards {@link #slot}). */
    final OwnerRecord record;
    /** The position in {@link #record}, -1 once released there. */
    int slot = -1;
    /** The buffers handed out, or null (guarded by the record's lock). */
    private PageViews views;

    Segment(MemoryManager manager, OwnerRecord record, Object owner, long bits, long address, int size) {
        this.manager = manager;
        this.record = record;
        this.owner = owner;
        this.bits = bits;
        this.address = address;
        this.size = size;
    }

    /**
     * Marks the segment freed, after the page table released it (whose CAS orders it); a
     * release store is enough (no full fence on the hot path), readers use a volatile read.
     */
    void markFreed() {
        FREED.setRelease(this, true);
    }

    MemoryManager manager() {
        return manager;
    }

    /** The index of the page in its memory manager. */
    int pageIndex() {
        return (int) bits;
    }

    /** The size of the segment in bytes (the memory manager's page size). */
    public int size() {
        return size;
    }

    /** The address of the segment's first byte; refused once released. */
    public long address() {
        checkLive();
        return address;
    }

    /**
     * Whether the segment was released (or its memory manager shut down), by whatever path: the
     * page table is the truth (its state word for the page must still carry this segment's
     * generation), so a {@code releaseAll} racing with this segment's use is seen at once.
     */
    public boolean isFreed() {
        return freed || !manager.holds(this);
    }

    /** The owner the segment was allocated for ({@code null} once released, as in Flink). */
    public Object getOwner() {
        return isFreed() ? null : owner;
    }

    /**
     * A direct {@link ByteBuffer} over the whole segment (position 0, limit {@link #size()},
     * native byte order), made with JNI {@code NewDirectByteBuffer} over the mapped page. Each
     * call returns a new buffer object sharing the memory. Once the segment is released, its page
     * is not reused while this buffer (or one derived from it) is reachable ({@link PageViews}).
     */
    public ByteBuffer buffer() {
        checkLive();
        return views().expose(this).order(ByteOrder.nativeOrder());
    }

    /** A direct buffer over {@code [offset, offset + length)} of the segment (as {@link #buffer()}). */
    public ByteBuffer wrap(int offset, int length) {
        checkRange(offset, length);
        ByteBuffer b = views().expose(this);
        b.position(offset).limit(offset + length);
        return b.slice().order(ByteOrder.nativeOrder());
    }

    /**
     * The record of the buffers handed out, made on first use under the owner's record lock while
     * the segment is held there (a release takes it out of the record under that lock first, so
     * a release either sees the record or makes this throw).
     */
    private PageViews views() {
        record.lock();
        try {
            if (slot < 0) {
                throw new IllegalStateException("segment (page " + pageIndex() + ") has been released: use after release");
            }
            PageViews v = views;
            if (v == null) {
                v = new PageViews(manager, bits);
                views = v;
            }
            return v;
        } finally {
            record.unlock();
        }
    }

    /**
     * Whether the page must wait in quarantine after this segment's release (a buffer handed out
     * is still reachable); call once, after the segment was taken out of its owner's record.
     */
    boolean quarantine() {
        PageViews v = views;
        return v != null && v.quarantine();
    }

    /** The byte at {@code index}. */
    public byte get(int index) {
        checkLive();
        return view().get(index);
    }

    /** Writes {@code b} at {@code index}. */
    public void put(int index, byte b) {
        checkLive();
        view().put(index, b);
    }

    /** The long at {@code index} (native byte order). */
    public long getLong(int index) {
        checkLive();
        return view().getLong(index);
    }

    /** Writes {@code v} at {@code index} (native byte order). */
    public void putLong(int index, long v) {
        checkLive();
        view().putLong(index, v);
    }

    /** Copies {@code length} bytes from {@code offset} of the segment into {@code dst[dstOffset..]}. */
    public void get(int offset, byte[] dst, int dstOffset, int length) {
        checkRange(offset, length);
        ByteBuffer b = view().duplicate();
        b.position(offset);
        b.get(dst, dstOffset, length);
    }

    /** Copies {@code length} bytes of {@code src[srcOffset..]} into the segment at {@code offset}. */
    public void put(int offset, byte[] src, int srcOffset, int length) {
        checkRange(offset, length);
        ByteBuffer b = view().duplicate();
        b.position(offset);
        b.put(src, srcOffset, length);
    }

    /** Fills the segment from {@code offset} with all of {@code dst.length} bytes. */
    public void get(int offset, byte[] dst) {
        get(offset, dst, 0, dst.length);
    }

    /** Writes all of {@code src} into the segment at {@code offset}. */
    public void put(int offset, byte[] src) {
        put(offset, src, 0, src.length);
    }

    @Override
    public String toString() {
        return "Segment[page " + pageIndex() + ", " + size + " bytes" + (isFreed() ? ", freed]" : "]");
    }

    private ByteBuffer view() {
        checkLive();
        return manager.pageView(this);
    }

    private void checkRange(int offset, int length) {
        checkLive();
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IndexOutOfBoundsException(
                    "range [" + offset + ", " + offset + " + " + length + ") outside a segment of " + size + " bytes");
        }
    }

    private void checkLive() {
        if (isFreed()) {
            throw new IllegalStateException("segment (page " + pageIndex() + ") has been released: use after release");
        }
    }
}
