package e2e.lib;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A library on the TaskManager's class path (Flink's lib/), as users add them: a cache, a thread
 * pool that outlives jobs, and a helper that starts threads. Jobs of the end-to-end test leak
 * their classloader through it, the way real jobs do through such libraries.
 */
public final class SharedLib {
    private SharedLib() {}

    /** A cache keyed by name: a job that puts its own objects here leaks its classloader. */
    public static final Map<String, Object> CACHE = new ConcurrentHashMap<>();

    /** Threads that outlive every job (started with the TaskManager's first use of the class). */
    public static final ExecutorService POOL = Executors.newFixedThreadPool(1, r -> {
        Thread t = new Thread(r, "lib-pool-worker");
        t.setDaemon(true);
        return t;
    });

    /** Starts a library thread that parks, with the given context classloader. */
    public static void startParkedThread(String name, ClassLoader context) {
        Thread t = new Thread(SharedLib::park, name);
        t.setContextClassLoader(context);
        t.setDaemon(true);
        t.start();
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
}
