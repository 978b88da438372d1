package dropin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Jobs that lean on a slot's managed memory, with deterministic results, for comparing a
 * TaskManager with and without tmrt's drop-in runtime. Usage: {@code ManagedJobs MODE OUT N}:
 *
 * <ul>
 *   <li>{@code sort}: BATCH execution mode, {@code keyBy}/{@code reduce} over N generated records
 *       (sort-based: the sorter takes managed memory pages); the checksum of the reduced records
 *       goes to the file OUT.
 *   <li>{@code sql}: a batch SQL job: {@code datagen} sequences (deterministic) → a join,
 *       {@code GROUP BY}, {@code ORDER BY}, written as CSV into the directory OUT (hash join, hash
 *       aggregation and sort take managed memory pages).
 *   <li>{@code rocksdb}: STREAMING mode with the RocksDB state backend bundled in flink-dist (its
 *       block cache and write buffers reserve managed memory), a keyed count over N records of a
 *       bounded source; the checksum of every emitted (key, count) goes to OUT.
 * </ul>
 *
 * The checksums do not depend on the order in which parallel subtasks deliver records. Runs with
 * Flink 1.19+ (OpenContext) and 2.x.
 */
public class ManagedJobs {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String out = args[1];
        long n = Long.parseLong(args[2]);
        switch (mode) {
            case "sort":
                sort(out, n);
                break;
            case "sql":
                sql(out, n);
                break;
            case "rocksdb":
                rocksdb(out, n);
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
    }

    /** SplitMix64's finalizer: a well-mixed deterministic function of {@code x}. */
    static long mix(long x) {
        x += 0x9E3779B97F4A7C15L;
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }

    static void sort(String out, long n) throws Exception {
        Configuration conf = new Configuration();
        conf.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.BATCH);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        long keys = Math.max(1, n / 20);
        env.fromSequence(1, n)
                .map(i -> Tuple2.of(Math.floorMod(mix(i), keys), mix(i * 31 + 7) & 0xFFFFFFFFL))
                .returns(Types.TUPLE(Types.LONG, Types.LONG))
                .keyBy(t -> t.f0)
                .reduce((a, b) -> Tuple2.of(a.f0, a.f1 + b.f1))
                .map(t -> mix(t.f0 * 1_000_003L + t.f1))
                .returns(Types.LONG)
                .map(new Checksum(out))
                .setParallelism(1)
                .sinkTo(new DiscardingSink<>())
                .setParallelism(1);
        env.execute("tmrt-dropin-sort");
    }

    static void rocksdb(String out, long n) throws Exception {
        Configuration conf = new Configuration();
        conf.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        long keys = Math.max(1, n / 10);
        env.fromSequence(1, n)
                .map(i -> Math.floorMod(mix(i), keys))
                .returns(Types.LONG)
                .keyBy(k -> k)
                .map(new KeyedCount())
                .map(new Checksum(out))
                .setParallelism(1)
                .sinkTo(new DiscardingSink<>())
                .setParallelism(1);
        env.execute("tmrt-dropin-rocksdb");
    }

    static void sql(String out, long n) {
        TableEnvironment t = TableEnvironment.create(EnvironmentSettings.inBatchMode());
        long customers = Math.max(1, n / 200);
        t.executeSql("CREATE TABLE orders (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '" + n + "', 'rows-per-second' = '1000000000', "
                + "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '" + n + "')");
        t.executeSql("CREATE TABLE customers (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '"
                + customers + "', 'rows-per-second' = '1000000000', "
                + "'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '"
                + (customers - 1) + "')");
        t.executeSql("CREATE TABLE summary (region BIGINT, cust BIGINT, n BIGINT, total BIGINT, "
                + "biggest BIGINT) WITH ('connector' = 'filesystem', 'path' = 'file://" + out + "', "
                + "'format' = 'csv')");
        t.executeSql("INSERT INTO summary "
                + "SELECT c.region, o.cust, COUNT(*) AS n, SUM(o.amount) AS total, MAX(o.amount) AS biggest "
                + "FROM (SELECT id, MOD(id * id + 7 * id, " + customers + ") AS cust, "
                + "      MOD(id * id * 13 + id, 1000) + 1 AS amount "
                + "      FROM orders) o "
                + "JOIN (SELECT id AS cust, MOD(id * 31, 97) AS region FROM customers) c ON o.cust = c.cust "
                + "GROUP BY c.region, o.cust "
                + "ORDER BY total DESC, cust");
    }

    /** Counts per key in keyed state; emits a mix of (key, count) for every record. */
    public static class KeyedCount extends RichMapFunction<Long, Long> {
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public Long map(Long key) throws Exception {
            Long c = count.value();
            long next = c == null ? 1 : c + 1;
            count.update(next);
            return mix(key * 1_000_003L + next);
        }
    }

    /** Sums (mod 2^64) and counts the values; writes "COUNT SUM" to the file on close. */
    public static class Checksum extends RichMapFunction<Long, Long> {
        private final String out;
        private long count;
        private long sum;

        public Checksum(String out) {
            this.out = out;
        }

        @Override
        public Long map(Long v) {
            count++;
            sum += v;
            return v;
        }

        @Override
        public void close() throws IOException {
            String text = count + " " + Long.toUnsignedString(sum) + "\n";
            Files.write(Paths.get(out), text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
