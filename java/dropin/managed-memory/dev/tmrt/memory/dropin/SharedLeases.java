package dev.tmrt.memory.dropin;

import java.util.HashMap;
import java.util.HashSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;
import org.apache.flink.runtime.memory.MemoryAllocationException;
import org.apache.flink.util.Preconditions;
import org.apache.flink.util.function.LongFunctionWithException;

/**
 * Flink's {@code org.apache.flink.runtime.memory.SharedResources}, step for step (lock, lease
 * holders, dispose-then-release, the same exceptions), for the drop-in {@code MemoryManager}:
 * Flink's own class changed its signatures between 1.13 ({@code Consumer<Long>}, package-private)
 * and 1.20 ({@code LongConsumer}, public), so the drop-in, one class for all versions, carries its
 * own copy of the semantics instead of calling either.
 */
public final class SharedLeases {
    private final ReentrantLock lock = new ReentrantLock();
    private final HashMap<String, Leased<?>> reservedResources = new HashMap<>();

    /**
     * The resource of {@code type}, made with {@code initializer} for {@code size} bytes when there
     * is none, leased to {@code leaseHolder}.
     */
    public <T extends AutoCloseable> Leased<T> getOrAllocate(
            String type, Object leaseHolder, LongFunctionWithException<T, Exception> initializer, long size)
            throws Exception {
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MemoryAllocationException("Interrupted while acquiring memory");
        }
        try {
            @SuppressWarnings("unchecked")
            Leased<T> resource = (Leased<T>) reservedResources.get(type);
            if (resource == null) {
                resource = new Leased<>(initializer.apply(size), size);
                reservedResources.put(type, resource);
            }
            resource.addLeaseHolder(leaseHolder);
            return resource;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Ends {@code leaseHolder}'s lease of {@code type}; the last lease disposes the resource and
     * then hands its size to {@code releaser} (even when disposing throws).
     */
    public void release(String type, Object leaseHolder, LongConsumer releaser) throws Exception {
        lock.lock();
        try {
            Leased<?> resource = reservedResources.get(type);
            if (resource == null) {
                return;
            }
            if (resource.removeLeaseHolder(leaseHolder)) {
                try {
                    reservedResources.remove(type);
                    resource.dispose();
                } finally {
                    releaser.accept(resource.size());
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** How many resources are alive (tests). */
    public int size() {
        lock.lock();
        try {
            return reservedResources.size();
        } finally {
            lock.unlock();
        }
    }

    /** A resource, its size, and who leases it (Flink's {@code LeasedResource}). */
    public static final class Leased<T extends AutoCloseable> {
        private final HashSet<Object> leaseHolders = new HashSet<>();
        private final T resourceHandle;
        private final long size;
        private boolean disposed;

        Leased(T resourceHandle, long size) {
            this.resourceHandle = resourceHandle;
            this.size = size;
        }

        public T resourceHandle() {
            return resourceHandle;
        }

        public long size() {
            return size;
        }

        void addLeaseHolder(Object leaseHolder) {
            Preconditions.checkState(!disposed);
            leaseHolders.add(leaseHolder);
        }

        boolean removeLeaseHolder(Object leaseHolder) {
            Preconditions.checkState(!disposed);
            leaseHolders.remove(leaseHolder);
            return leaseHolders.isEmpty();
        }

        void dispose() throws Exception {
            if (!disposed) {
                disposed = true;
                resourceHandle.close();
            }
        }
    }
}
