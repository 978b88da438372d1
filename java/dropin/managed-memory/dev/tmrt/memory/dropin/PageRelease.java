package dev.tmrt.memory.dropin;

import dev.tmrt.memory.SlotPages;

/**
 * The cleanup action of a managed segment over a tmrt page: {@code MemorySegment.free()} runs it
 * once (Flink's segment guarantees that), and it gives the page back to the slot pool, budget
 * included, as Flink's cleanup gives the page's bytes back to its budget. It holds the pool, so
 * the native pool lives as long as any segment that can still release a page.
 */
public final class PageRelease implements Runnable {
    private final SlotPages pages;
    private final long bits;

    public PageRelease(SlotPages pages, long bits) {
        this.pages = pages;
        this.bits = bits;
    }

    @Override
    public void run() {
        pages.release(bits);
    }
}
