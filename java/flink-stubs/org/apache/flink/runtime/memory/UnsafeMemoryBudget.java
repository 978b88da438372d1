package org.apache.flink.runtime.memory;

/** Stub of Flink's package-private {@code UnsafeMemoryBudget} (the members tmrt's drop-in uses). */
class UnsafeMemoryBudget {
    UnsafeMemoryBudget(long totalMemorySize) {
        throw new UnsupportedOperationException("stub");
    }

    long getTotalMemorySize() {
        throw new UnsupportedOperationException("stub");
    }

    long getAvailableMemorySize() {
        throw new UnsupportedOperationException("stub");
    }

    boolean verifyEmpty() {
        throw new UnsupportedOperationException("stub");
    }

    void reserveMemory(long size) throws MemoryReservationException {
        throw new UnsupportedOperationException("stub");
    }

    void releaseMemory(long size) {
        throw new UnsupportedOperationException("stub");
    }
}
