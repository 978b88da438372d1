package org.apache.flink.runtime.memory;

/** Stub of Flink's {@code MemoryAllocationException}. */
public class MemoryAllocationException extends Exception {
    private static final long serialVersionUID = -403983866457947012L;

    public MemoryAllocationException() {}

    public MemoryAllocationException(String message, Throwable cause) {
        super(message, cause);
    }

    public MemoryAllocationException(String message) {
        super(message);
    }

    public MemoryAllocationException(Throwable cause) {
        super(cause);
    }
}
