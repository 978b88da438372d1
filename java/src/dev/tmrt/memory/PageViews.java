package dev.tmrt.memory;

import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;

/**
 * The buffers a {@link Segment} handed out ({@link Segment#buffer()}, {@link Segment#wrap}) and
 * the quarantine of its page: a buffer cannot be revoked, so a page released while such a buffer
 * is still reachable is not given back; it stays held (counted in the budget) until the last of
 * them is collected, and only then returns to the pool. So a stale buffer never reads or writes
 * another owner's page. Pages whose segments handed out no buffer are reused at once.
 *
 * <p>Each handed-out buffer is a new direct buffer over the page (JNI {@code NewDirectByteBuffer},
 * no attachment), so every buffer derived from it ({@code duplicate}, {@code slice}) keeps it
 * reachable; a {@link Cleaner} counts it gone once it is unreachable. The cleanup holds the memory
 * manager weakly: a memory manager that is gone (or shut down) has nobody left to give the page
 * to, and its mapping is never unmapped, so a stale buffer can still never crash the JVM.
 */
final class PageViews {
    private static final Cleaner CLEANER = Cleaner.create();

    private final WeakReference<MemoryManager> manager;
    private final long bits;
    /** Handed-out buffers not yet collected (guarded by this). */
    private int live;
    /** The segment was released (guarded by this). */
    private boolean released;

    PageViews(MemoryManager manager, long bits) {
        this.manager = new WeakReference<>(manager);
        this.bits = bits;
    }

    /**
     * A new buffer over the page, counted until collected.
     *
     * @throws IllegalStateException when the segment was released
     */
    ByteBuffer expose(Segment s) {
        synchronized (this) {
            if (released) {
                throw new IllegalStateException(
                        "segment (page " + s.pageIndex() + ") has been released: use after release");
            }
            live++;
        }
        ByteBuffer b;
        try {
            b = s.manager().newView(s);
            CLEANER.register(b, this::collected);
        } catch (RuntimeException | Error e) {
            collected();
            throw e;
        }
        return b;
    }

    /**
     * The segment is released: true when its page must wait in quarantine (a handed-out buffer
     * is still reachable; the last one's collection gives the page back), false when the caller
     * gives it back now.
     */
    synchronized boolean quarantine() {
        released = true;
        return live > 0;
    }

    /** A handed-out buffer was collected: the last one ends the quarantine. */
    private void collected() {
        synchronized (this) {
            if (--live > 0 || !released) {
                return;
            }
        }
        MemoryManager mm = manager.get();
        if (mm != null) {
            mm.endQuarantine(bits);
        }
    }
}
