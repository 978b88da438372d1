package org.apache.flink.streaming.api.datastream;

/** Compile-time stub of Flink's API for tmrt's example jobs; never packed nor loaded (the real class comes from Flink's lib/). */
public class DataStreamSource<T> extends SingleOutputStreamOperator<T> {}
