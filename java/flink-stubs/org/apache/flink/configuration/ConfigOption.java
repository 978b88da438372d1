package org.apache.flink.configuration;

/** Stub of Flink's {@code ConfigOption} (the members tmrt's drop-in uses). */
public class ConfigOption<T> {
    public String key() {
        throw new UnsupportedOperationException("stub");
    }
}
