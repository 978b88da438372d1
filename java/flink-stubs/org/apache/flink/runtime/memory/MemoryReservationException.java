package org.apache.flink.runtime.memory;

/** Stub of Flink's {@code MemoryReservationException} (its constructor is package-private). */
public class MemoryReservationException extends Exception {
    private static final long serialVersionUID = 1L;

    MemoryReservationException(String message) {
        super(message);
    }
}
