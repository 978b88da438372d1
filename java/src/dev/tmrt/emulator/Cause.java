package dev.tmrt.emulator;

/**
 * One exception of a failure's cause chain, as plain strings: its class, message and stack. The
 * host reads the fields through JNI; no exception object (whose class may be the job's) outlives
 * the round.
 */
public final class Cause {
    /** Most frames kept per exception. */
    static final int MAX_FRAMES = 64;

    /** Binary class name (for Flink's {@code SerializedThrowable}, the original's). */
    public final String exception;
    /** The message, never null (empty when there is none). */
    public final String message;
    /** Frames, top first, as {@code StackTraceElement.toString()}. */
    public final String[] stack;

    Cause(String exception, String message, String[] stack) {
        this.exception = exception;
        this.message = message == null ? "" : message;
        this.stack = stack;
    }

    /** {@code t} as a cause: for Flink's {@code SerializedThrowable}, the original's class name. */
    static Cause of(Throwable t) {
        return new Cause(className(t), message(t), frames(t.getStackTrace(), MAX_FRAMES));
    }

    /**
     * The message of {@code t}. A Flink {@code SerializedThrowable} carries the original's
     * {@code toString()} as its message ({@code "java.lang.X: text"}); the class prefix is dropped
     * so that the message is the original's.
     */
    static String message(Throwable t) {
        String m = t.getMessage();
        String name = className(t);
        if (m == null || name.equals(t.getClass().getName())) {
            return m;
        }
        if (m.equals(name)) {
            return "";
        }
        return m.startsWith(name + ": ") ? m.substring(name.length() + 2) : m;
    }

    /** The class name {@code t} stands for. */
    static String className(Throwable t) {
        String name = t.getClass().getName();
        if ("org.apache.flink.util.SerializedThrowable".equals(name)) {
            try {
                Object original = t.getClass().getMethod("getOriginalErrorClassName").invoke(t);
                if (original instanceof String) {
                    return (String) original;
                }
            } catch (ReflectiveOperationException | RuntimeException e) {
                // Keep the wrapper's own name.
            }
        }
        return name;
    }

    static String[] frames(StackTraceElement[] at, int max) {
        String[] out = new String[Math.min(max, at.length)];
        for (int i = 0; i < out.length; i++) {
            out[i] = at[i].toString();
        }
        return out;
    }
}
