package org.apache.flink.api.connector.sink2;

/** Compile-time stub of Flink's API for tmrt's example jobs; never packed nor loaded (the real class comes from Flink's lib/). */
public interface Sink<T> extends java.io.Serializable {}
