import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Paths;

/**
 * The pause-budget benchmark's program: holds LIVE small objects, leaves every common leak cause
 * behind in closed loaders (tests/agent/causes/plugin), forces FULL_GCS full collections so that
 * an agent judges them, and meanwhile a ticker thread sleeps 1 ms at a time and records its
 * longest gap — the longest stop the application saw. Prints the gap, the JVM's own GC time and
 * the wall time. Usage: {@code PauseWorkload PLUGIN_DIR LIVE FULL_GCS SETTLE_MS}.
 */
public class PauseWorkload {
    static Object[] ballast;
    static volatile long worstGapNanos;
    static volatile boolean done;

    public static void main(String[] args) throws Exception {
        URL plugins = Paths.get(args[0]).toUri().toURL();
        int live = Integer.parseInt(args[1]);
        int gcs = Integer.parseInt(args[2]);
        long settle = Long.parseLong(args[3]);
        ballast = new Object[live];
        for (int i = 0; i < live; i++) {
            ballast[i] = new int[] {i};
        }
        String[] causes = {"lambdaThread", "executor", "timer", "jdbc", "shutdownHook"};
        for (String c : causes) {
            URLClassLoader l = new URLClassLoader("leak-" + c, new URL[] {plugins}, PauseWorkload.class.getClassLoader());
            l.loadClass("CausePlugin").getMethod(c).invoke(null);
            l.close();
        }
        long gcBefore = gcMillis();
        Thread ticker = new Thread(() -> {
            long last = System.nanoTime();
            while (!done) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
                long now = System.nanoTime();
                worstGapNanos = Math.max(worstGapNanos, now - last);
                last = now;
            }
        }, "ticker");
        ticker.setDaemon(true);
        long start = System.nanoTime();
        ticker.start();
        Thread.sleep(1500); // the agent sees the closes within a second
        for (int i = 0; i < gcs; i++) {
            System.gc();
            Thread.sleep(200);
        }
        Thread.sleep(settle); // the analysis runs after the collections
        done = true;
        ticker.join();
        System.out.printf("worst_gap_ms %.1f%n", worstGapNanos / 1e6);
        System.out.printf("gc_ms %d%n", gcMillis() - gcBefore);
        System.out.printf("wall_ms %d%n", (System.nanoTime() - start) / 1_000_000);
        System.out.println("live " + ballast.length);
    }

    static long gcMillis() {
        long t = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            t += Math.max(0, gc.getCollectionTime());
        }
        return t;
    }
}
