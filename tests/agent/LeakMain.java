import dev.tmrt.telemetry.Snapshot;
import dev.tmrt.telemetry.Telemetry;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Paths;

/**
 * Creates and releases five loaders: three are let go, one is kept alive by a lingering thread
 * whose class it defined, one by an instance of its class in a static cache of a class the
 * parent loaded. Prints the snapshot after forcing full collections.
 */
public class LeakMain {
    static URL plugins;

    static URLClassLoader newLoader(String name) {
        return new URLClassLoader(name, new URL[] {plugins}, LeakMain.class.getClassLoader());
    }

    static void clean(int i) throws Exception {
        URLClassLoader l = newLoader("clean-" + i);
        Object p = l.loadClass("Plugin").getDeclaredConstructor().newInstance();
        if (!p.toString().equals("plugin")) throw new AssertionError();
        Telemetry.markReleased(l);
        l.close();
    }

    static void threadLeak() throws Exception {
        URLClassLoader l = newLoader("leak-thread");
        Thread t = (Thread) l.loadClass("Lingerer").getDeclaredConstructor().newInstance();
        t.setName("lingering-worker");
        t.setDaemon(true);
        t.start();
        Telemetry.markReleased(l);
        l.close();
    }

    static void cacheLeak() throws Exception {
        URLClassLoader l = newLoader("leak-cache");
        LeakCache.CACHE.put("plugin", l.loadClass("Plugin").getDeclaredConstructor().newInstance());
        Telemetry.markReleased(l);
        l.close();
    }

    public static void main(String[] args) throws Exception {
        plugins = Paths.get(args[0]).toUri().toURL();
        for (int i = 0; i < 3; i++) clean(i);
        threadLeak();
        cacheLeak();
        Snapshot s = Telemetry.collectAndSnapshot(Integer.parseInt(args[1]));
        StringBuilder names = new StringBuilder();
        for (Snapshot.Loader l : s.leaked()) names.append(l.name()).append(' ');
        System.out.println("LEAKED " + names.toString().trim());
        Telemetry.writeReport(args[2]); // a report on request
        System.out.print(s.toJson());
    }
}
