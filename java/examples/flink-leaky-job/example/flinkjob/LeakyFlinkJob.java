package example.flinkjob;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A real Flink job that leaks its classloader the common way: its map function starts a
 * "metrics reporter" thread (a class of the job's own) on the first record and never stops it.
 * The thread outlives the job and holds the TaskManager's user-code classloader of every
 * submission. Built against a stub of Flink's API; runs against the real one.
 */
public final class LeakyFlinkJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, 10_000).map(new Report()).sinkTo(new DiscardingSink<>());
        env.execute("tmrt demo: leaky Flink job");
    }

    /** Starts the reporter with the first record, forgets to stop it. */
    public static final class Report implements MapFunction<Long, Long> {
        private static final long serialVersionUID = 1L;
        private transient boolean started;

        @Override
        public Long map(Long value) {
            if (!started) {
                started = true;
                new Reporter().start();
            }
            return value;
        }
    }

    /** The lingering thread. */
    static final class Reporter extends Thread {
        Reporter() {
            super("leaky-flink-job-metrics-reporter");
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                // Never interrupted: that is the leak.
            }
        }
    }
}
