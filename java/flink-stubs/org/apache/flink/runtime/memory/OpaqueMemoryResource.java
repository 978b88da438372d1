package org.apache.flink.runtime.memory;

import org.apache.flink.util.function.ThrowingRunnable;

/** Stub of Flink's {@code OpaqueMemoryResource}. */
public final class OpaqueMemoryResource<T> implements AutoCloseable {
    public OpaqueMemoryResource(T resourceHandle, long size, ThrowingRunnable<Exception> disposer) {
        throw new UnsupportedOperationException("stub");
    }

    public T getResourceHandle() {
        throw new UnsupportedOperationException("stub");
    }

    public long getSize() {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() throws Exception {
        throw new UnsupportedOperationException("stub");
    }
}
