package org.apache.flink.util;

/** Stub of Flink's {@code MathUtils} (the members tmrt's drop-in uses). */
public final class MathUtils {
    public static boolean isPowerOf2(long value) {
        throw new UnsupportedOperationException("stub");
    }
}
