package org.apache.flink.util;

/** Stub of Flink's {@code Preconditions} (the members tmrt's drop-in uses). */
public final class Preconditions {
    public static <T> T checkNotNull(T reference, String errorMessage) {
        throw new UnsupportedOperationException("stub");
    }

    public static void checkArgument(boolean condition, Object errorMessage) {
        throw new UnsupportedOperationException("stub");
    }

    public static void checkArgument(boolean condition, String errorMessageTemplate, Object... errorMessageArgs) {
        throw new UnsupportedOperationException("stub");
    }

    public static void checkState(boolean condition) {
        throw new UnsupportedOperationException("stub");
    }

    public static void checkState(boolean condition, Object errorMessage) {
        throw new UnsupportedOperationException("stub");
    }
}
