package org.apache.flink.core.memory;

/** Stub of Flink's {@code MemorySegmentFactory} (the members tmrt's drop-in uses). */
public final class MemorySegmentFactory {
    public static MemorySegment allocateOffHeapUnsafeMemory(int size, Object owner, Runnable customCleanupAction) {
        throw new UnsupportedOperationException("stub");
    }
}
