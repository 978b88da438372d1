package dev.tmrt.emulator;

/**
 * A failure of a slot's task, of a job, or of the round around them, as plain values the host
 * reads through JNI: its kind (the host's {@code FailureKind}, kebab-case), the most telling
 * exception, and the whole cause chain, outermost first.
 */
public final class Failure {
    public final String kind;
    /** The telling exception's class; empty when the failure is not an exception. */
    public final String exception;
    public final String message;
    /** The telling exception's top frames. */
    public final String[] stack;
    /** The whole chain, outermost first, each with its stack. */
    public final Cause[] chain;
    /** The thread it happened in, when it is not a slot's task thread or the driver; else null. */
    public final String thread;

    Failure(String kind, String exception, String message, String[] stack, Cause[] chain, String thread) {
        this.kind = kind;
        this.exception = exception;
        this.message = message == null ? "" : message;
        this.stack = stack;
        this.chain = chain;
        this.thread = thread;
    }

    /** A failure that is not an exception: {@code kind} and a message. */
    static Failure plain(String kind, String message) {
        return new Failure(kind, "", message, new String[0], new Cause[0], null);
    }
}
