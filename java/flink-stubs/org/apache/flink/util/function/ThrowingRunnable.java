package org.apache.flink.util.function;

/** Stub of Flink's {@code ThrowingRunnable}. */
@FunctionalInterface
public interface ThrowingRunnable<E extends Throwable> {
    void run() throws E;
}
