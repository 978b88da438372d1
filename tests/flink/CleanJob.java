import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A job that behaves: squares a bounded sequence in a rich function (user code with open()),
 * sums the squares per key and discards the sums. It starts no thread and registers nothing,
 * so nothing outlives it and its classloader can be collected once the job is over.
 *
 * Compiles against Flink 1.20 and 2.x alike: open(OpenContext) (1.19+, the only open() in 2.x)
 * and sinkTo(Sink) with the v2 DiscardingSink (addSink(SinkFunction) is gone in 2.x).
 *
 * Arguments: [count] (default 100000).
 */
public class CleanJob {
    public static void main(String[] args) throws Exception {
        long count = args.length > 0 ? Long.parseLong(args[0]) : 100_000L;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, count)
                .map(new Square())
                .keyBy(new ByResidue())
                .reduce(new Sum())
                .sinkTo(new DiscardingSink<>());
        env.execute("tmrt clean job");
    }

    public static class Square extends RichMapFunction<Long, Long> {
        private long calls;

        @Override
        public void open(OpenContext context) {
            calls = 0;
        }

        @Override
        public Long map(Long value) {
            calls++;
            return value * value;
        }
    }

    public static class ByResidue implements KeySelector<Long, Long> {
        @Override
        public Long getKey(Long value) {
            return value % 16;
        }
    }

    public static class Sum implements ReduceFunction<Long> {
        @Override
        public Long reduce(Long a, Long b) {
            return a + b;
        }
    }
}
