package org.apache.flink.streaming.api.environment;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.streaming.api.datastream.DataStreamSource;

/** Compile-time stub of Flink's API for tmrt's example jobs; never packed nor loaded (the real class comes from Flink's lib/). */
public class StreamExecutionEnvironment {
    public static StreamExecutionEnvironment getExecutionEnvironment() {
        throw new UnsupportedOperationException("stub");
    }

    public DataStreamSource<Long> fromSequence(long from, long to) {
        throw new UnsupportedOperationException("stub");
    }

    public JobExecutionResult execute(String jobName) throws Exception {
        throw new UnsupportedOperationException("stub");
    }
}
