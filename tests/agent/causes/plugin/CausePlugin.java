import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.util.Properties;
import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * Loaded by one URLClassLoader per cause: each static method leaves one of the common causes of a
 * classloader leak behind, as a job's code would. Never on the application class path.
 */
public class CausePlugin {
    /** Sleeps until interrupted. */
    static void park() {
        while (true) {
            try {
                Thread.sleep(100_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A java.lang.Thread running a lambda of this class. */
    public static void lambdaThread() {
        Thread t = new Thread(() -> park(), "lingering-lambda");
        t.setDaemon(true);
        t.start();
    }

    /** An executor never shut down, its worker running a task of this class. */
    public static void executor() {
        ExecutorService pool = Executors.newFixedThreadPool(1, r -> {
            Thread t = new Thread(r, "job-pool-worker");
            t.setDaemon(true);
            return t;
        });
        pool.submit(new Runnable() {
            public void run() {
                park();
            }
        });
    }

    /** A java.util.Timer never cancelled, with a task of this class in its queue. */
    public static void timer() {
        Timer timer = new Timer("job-timer", true);
        timer.schedule(new TimerTask() {
            public void run() {}
        }, 1_000_000_000L);
    }

    /** A JDBC driver of this class registered with DriverManager and never deregistered. */
    public static void jdbc() throws SQLException {
        DriverManager.registerDriver(new JobDriver());
    }

    /** A shutdown hook of this class registered and never removed. */
    public static void shutdownHook() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {}, "job-shutdown-hook"));
    }

    /** A value of this class left in a ThreadLocal of a thread the job does not own. */
    public static Runnable threadLocal() {
        return () -> VALUE.set(new JobValue());
    }

    static final ThreadLocal<Object> VALUE = new ThreadLocal<>();

    static final class JobValue {}

    /** A driver that accepts nothing. */
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
