package org.apache.flink.streaming.api.datastream;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.connector.sink2.Sink;

/** Compile-time stub of Flink's API for tmrt's example jobs; never packed nor loaded (the real class comes from Flink's lib/). */
public class DataStream<T> {
    public <R> SingleOutputStreamOperator<R> map(MapFunction<T, R> mapper) {
        throw new UnsupportedOperationException("stub");
    }

    public DataStreamSink<T> sinkTo(Sink<T> sink) {
        throw new UnsupportedOperationException("stub");
    }
}
