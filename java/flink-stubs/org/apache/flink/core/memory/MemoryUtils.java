package org.apache.flink.core.memory;

import java.nio.ByteBuffer;

/** Stub of Flink's {@code MemoryUtils} (the members tmrt's drop-in uses). */
public class MemoryUtils {
    static ByteBuffer wrapUnsafeMemoryWithByteBuffer(long address, int size) {
        throw new UnsupportedOperationException("stub");
    }
}
