import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Leaves every common cause of a classloader leak behind, one URLClassLoader each, plus loaders
 * that leave nothing behind; closes every loader (never telling the agent: it must see the
 * close itself); optionally holds many small live objects (a big heap); forces full collections
 * with System.gc() and waits for the agent's verdicts. Usage:
 * {@code Causes PLUGIN_DIR LIVE_OBJECTS FULL_GCS}.
 */
public class Causes {
    /** Many small live objects, held for the whole run. */
    static Object[] BALLAST;

    /** Threads the application owns (created before any job): a job's ThreadLocal lands here. */
    static final ExecutorService APP_POOL = Executors.newFixedThreadPool(1, r -> {
        Thread t = new Thread(r, "app-pool-worker");
        t.setDaemon(true);
        return t;
    });

    static URL plugins;

    static URLClassLoader loader(String name) {
        return new URLClassLoader(name, new URL[] {plugins}, Causes.class.getClassLoader());
    }

    static void cause(String name, String method) throws Exception {
        URLClassLoader l = loader(name);
        Object r = l.loadClass("CausePlugin").getMethod(method).invoke(null);
        if (r instanceof Runnable) {
            APP_POOL.submit((Runnable) r).get();
        }
        l.close();
    }

    public static void main(String[] args) throws Exception {
        plugins = Paths.get(args[0]).toUri().toURL();
        int live = Integer.parseInt(args[1]);
        int gcs = Integer.parseInt(args[2]);
        APP_POOL.submit(() -> {}).get(); // start the app's worker before any job
        BALLAST = new Object[live];
        for (int i = 0; i < live; i++) {
            BALLAST[i] = new int[] {i};
        }
        for (int i = 0; i < 2; i++) {
            URLClassLoader clean = loader("clean-" + i);
            clean.loadClass("CausePlugin").getDeclaredMethod("park"); // loads the class, leaves nothing
            clean.close();
        }
        cause("leak-lambda-thread", "lambdaThread");
        cause("leak-executor", "executor");
        cause("leak-timer", "timer");
        cause("leak-jdbc", "jdbc");
        cause("leak-shutdown-hook", "shutdownHook");
        cause("leak-thread-local", "threadLocal");
        // A thread of the application whose context classloader is a job's loader.
        URLClassLoader ctx = loader("leak-context-loader");
        ctx.loadClass("CausePlugin");
        Thread t = new Thread(new Parker(), "app-thread-with-job-context");
        t.setContextClassLoader(ctx);
        t.setDaemon(true);
        t.start();
        ctx.close();
        ctx = null;
        // A closed loader in a static cache of an application class.
        URLClassLoader cache = loader("leak-static-cache");
        LeakCache.CACHE.put("plugin", cache.loadClass("CausePlugin$JobValue").getDeclaredConstructors()[0]);
        cache.close();
        cache = null;
        Thread.sleep(1500); // the agent polls the watched loaders at least once a second
        for (int i = 0; i < gcs; i++) {
            System.gc();
            Thread.sleep(300);
        }
        Thread.sleep(1500);
        System.out.println("DONE " + BALLAST.length);
    }
}
