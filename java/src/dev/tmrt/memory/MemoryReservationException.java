package dev.tmrt.memory;

/**
 * Thrown when {@link MemoryManager#reserveMemory(Object, long)} cannot reserve the requested
 * bytes, as Flink's {@code org.apache.flink.runtime.memory.MemoryReservationException}.
 */
public class MemoryReservationException extends Exception {
    private static final long serialVersionUID = 1L;

    public MemoryReservationException(String message) {
        super(message);
    }

    public MemoryReservationException(String message, Throwable cause) {
        super(message, cause);
    }
}
