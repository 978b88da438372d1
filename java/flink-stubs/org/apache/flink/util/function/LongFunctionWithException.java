package org.apache.flink.util.function;

/** Stub of Flink's {@code LongFunctionWithException}. */
@FunctionalInterface
public interface LongFunctionWithException<R, E extends Throwable> {
    R apply(long value) throws E;
}
