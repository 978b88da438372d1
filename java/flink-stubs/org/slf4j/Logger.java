package org.slf4j;

/** Stub of SLF4J's {@code Logger} (bundled in Flink's {@code flink-dist}). */
public interface Logger {
    void debug(String format, Object arg1, Object arg2);

    void warn(String format, Object... arguments);

    void warn(String msg, Throwable t);
}
