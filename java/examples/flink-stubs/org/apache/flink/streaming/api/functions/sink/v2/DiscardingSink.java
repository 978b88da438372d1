package org.apache.flink.streaming.api.functions.sink.v2;

import org.apache.flink.api.connector.sink2.Sink;

/** Compile-time stub of Flink's API for tmrt's example jobs; never packed nor loaded (the real class comes from Flink's lib/). */
public class DiscardingSink<IN> implements Sink<IN> {}
