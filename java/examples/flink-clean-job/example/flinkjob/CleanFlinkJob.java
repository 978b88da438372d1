package example.flinkjob;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A real Flink job that behaves: squares a bounded sequence and discards it. Nothing of its own
 * outlives the job, so the TaskManager's user-code classloader for it is collected after each
 * submission. Built against a stub of Flink's API; runs against the real one.
 */
public final class CleanFlinkJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, 10_000).map(new Square()).sinkTo(new DiscardingSink<>());
        env.execute("tmrt demo: clean Flink job");
    }

    /** The job's own function class, loaded by the job's user-code classloader. */
    public static final class Square implements MapFunction<Long, Long> {
        private static final long serialVersionUID = 1L;

        @Override
        public Long map(Long value) {
            return value * value;
        }
    }
}
