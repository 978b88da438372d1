package org.apache.flink.api.common.functions;

/** Compile-time stub of Flink's API for tmrt's example jobs; never packed nor loaded (the real class comes from Flink's lib/). */
public interface MapFunction<T, O> extends java.io.Serializable {
    O map(T value) throws Exception;
}
