package dev.tmrt.emulator;

/** One slot's task in one round (the plain mode), read by the host through JNI. */
public final class SlotResult {
    public final int slot;
    public final long millis;
    /** Null when the task completed. */
    public final Failure failure;
    /** Managed memory left behind, per owner. */
    public final Leftover[] leftover;

    SlotResult(int slot, long millis, Failure failure, Leftover[] leftover) {
        this.slot = slot;
        this.millis = millis;
        this.failure = failure;
        this.leftover = leftover;
    }

    /** Pages an owner still held when the slot's task ended (released by the host). */
    public static final class Leftover {
        public final String owner;
        public final long pages;

        Leftover(String owner, long pages) {
            this.owner = owner;
            this.pages = pages;
        }
    }
}
