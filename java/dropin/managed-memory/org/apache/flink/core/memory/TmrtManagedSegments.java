package org.apache.flink.core.memory;

import java.nio.ByteBuffer;

/**
 * tmrt's door into Flink's package-private {@link MemorySegment} constructor: managed segments
 * over pages of a tmrt slot pool, made exactly as Flink makes its own managed segments
 * ({@code MemorySegmentFactory.allocateOffHeapUnsafeMemory}): off-heap, wrapping disallowed
 * ({@link MemorySegment#wrap} throws Flink's {@code UnsupportedOperationException}), and a cleanup
 * action that {@link MemorySegment#free()} runs once.
 *
 * <p>It lives in Flink's package so that it can call package-private members; it is loaded by the
 * class loader of Flink's own {@code MemorySegment} (tmrt.jar is on the same class path), which
 * is what package-private access needs.
 */
public final class TmrtManagedSegments {
    private TmrtManagedSegments() {}

    /** A managed segment over {@code view} (a direct buffer over one page) for {@code owner}. */
    public static MemorySegment managed(ByteBuffer view, Object owner, Runnable cleaner) {
        return new MemorySegment(view, owner, false, cleaner);
    }

    /** A direct buffer over {@code size} bytes at {@code address}, as Flink wraps unsafe memory. */
    public static ByteBuffer view(long address, int size) {
        return MemoryUtils.wrapUnsafeMemoryWithByteBuffer(address, size);
    }
}
