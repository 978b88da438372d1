package org.apache.flink.core.memory;

import java.nio.ByteBuffer;

/** Stub of Flink's {@code MemorySegment} (the members tmrt's drop-in uses). */
public final class MemorySegment {
    MemorySegment(ByteBuffer buffer, Object owner, boolean allowWrap, Runnable cleaner) {
        throw new UnsupportedOperationException("stub");
    }

    public int size() {
        throw new UnsupportedOperationException("stub");
    }

    public boolean isFreed() {
        throw new UnsupportedOperationException("stub");
    }

    public void free() {
        throw new UnsupportedOperationException("stub");
    }

    public boolean isOffHeap() {
        throw new UnsupportedOperationException("stub");
    }

    public long getAddress() {
        throw new UnsupportedOperationException("stub");
    }

    public Object getOwner() {
        throw new UnsupportedOperationException("stub");
    }
}
