package dev.tmrt.memory;

/**
 * Thrown when a {@link MemoryManager} cannot hand out the requested pages, as Flink's
 * {@code org.apache.flink.runtime.memory.MemoryAllocationException}. The message says how many
 * pages were requested and how many are free, and names the memory manager (slot) and owner.
 */
public class MemoryAllocationException extends Exception {
    private static final long serialVersionUID = 1L;

    public MemoryAllocationException() {
        super();
    }

    public MemoryAllocationException(String message) {
        super(message);
    }

    public MemoryAllocationException(String message, Throwable cause) {
        super(message, cause);
    }

    public MemoryAllocationException(Throwable cause) {
        super(cause);
    }
}
