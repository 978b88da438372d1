package e2e;

import e2e.lib.SharedLib;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.util.Properties;
import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.Executors;
import java.util.logging.Logger;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A small DataStream job whose map function leaves one cause of a classloader leak behind when it
 * opens (or none: "clean"), as users' jobs do. Usage: {@code LeakJob CAUSE}. Runs with Flink
 * 1.19+ (OpenContext) and 2.x (sink v2).
 */
public class LeakJob {
    public static void main(String[] args) throws Exception {
        String cause = args.length > 0 ? args[0] : "clean";
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.fromSequence(1, 1000).map(new Leak(cause)).sinkTo(new DiscardingSink<>());
        env.execute("tmrt-e2e-" + cause);
    }

    /** The map function; `open` leaves the cause behind. */
    public static class Leak extends RichMapFunction<Long, Long> {
        private final String cause;

        public Leak(String cause) {
            this.cause = cause;
        }

        @Override
        public void open(OpenContext context) throws Exception {
            switch (cause) {
                case "clean":
                    break;
                case "thread":
                    Thread t = new Thread(() -> park(), "job-lingering-thread");
                    t.setDaemon(true);
                    t.start();
                    break;
                case "executor":
                    Executors.newSingleThreadExecutor(r -> {
                        Thread w = new Thread(r, "job-executor-worker");
                        w.setDaemon(true);
                        return w;
                    }).submit(LeakJob::park);
                    break;
                case "timer":
                    new Timer("job-timer", true).schedule(new JobTimerTask(), 1_000_000_000L);
                    break;
                case "jdbc":
                    DriverManager.registerDriver(new JobDriver());
                    break;
                case "shutdown-hook":
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {}, "job-shutdown-hook"));
                    break;
                case "thread-local":
                    SharedLib.POOL.submit(() -> VALUE.set(new JobValue())).get();
                    break;
                case "static-cache":
                    SharedLib.CACHE.put("job-value", new JobValue());
                    break;
                case "context-classloader":
                    // The job's own loader (not Flink's safety-net wrapper, which lets go on close).
                    SharedLib.startParkedThread("lib-thread-with-job-context", LeakJob.class.getClassLoader());
                    break;
                case "context-wrapper":
                    // Only the wrapper Flink hands out: after the job it holds no job class.
                    SharedLib.startParkedThread(
                            "lib-thread-with-wrapper-context", getRuntimeContext().getUserCodeClassLoader());
                    break;
                default:
                    throw new IllegalArgumentException("unknown cause " + cause);
            }
        }

        @Override
        public Long map(Long value) {
            return value + 1;
        }
    }

    static final ThreadLocal<Object> VALUE = new ThreadLocal<>();

    static final class JobValue {}

    static final class JobTimerTask extends TimerTask {
        public void run() {}
    }

    static void park() {
        while (true) {
            try {
                Thread.sleep(100_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A JDBC driver that accepts nothing. */
    public static final class JobDriver implements Driver {
        public Connection connect(String url, Properties info) {
            return null;
        }

        public boolean acceptsURL(String url) {
            return false;
        }

        public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
            return new DriverPropertyInfo[0];
        }

        public int getMajorVersion() {
            return 1;
        }

        public int getMinorVersion() {
            return 0;
        }

        public boolean jdbcCompliant() {
            return false;
        }

        public Logger getParentLogger() {
            return Logger.getGlobal();
        }
    }
}
