import dev.tmrt.telemetry.Snapshot;
import dev.tmrt.telemetry.Telemetry;
import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Started without the agent; prints its pid and waits for a "go" file (the test attaches the
 * agent meanwhile), then releases a leaking loader and prints the agent's view next to the
 * MXBeans'. Touches no tmrt class before the agent is attached.
 */
public class LateMain {
    static Thread keep;

    public static void main(String[] args) throws Exception {
        Path go = Paths.get(args[1]);
        // Some class loading and unloading before the agent comes.
        for (int i = 0; i < 2; i++) {
            URLClassLoader early = new URLClassLoader(new URL[] {Paths.get(args[0]).toUri().toURL()});
            early.loadClass("Plugin").getDeclaredConstructor().newInstance();
            early.close();
        }
        System.gc();
        System.out.println("PID " + ProcessHandle.current().pid());
        System.out.flush();
        for (int i = 0; i < 600 && !Files.exists(go); i++) Thread.sleep(100);
        System.out.println("agent=" + Telemetry.isAgentLoaded());
        URLClassLoader l = new URLClassLoader("late-leak", new URL[] {Paths.get(args[0]).toUri().toURL()},
                LateMain.class.getClassLoader());
        keep = (Thread) l.loadClass("Lingerer").getDeclaredConstructor().newInstance();
        keep.setName("late-lingerer");
        keep.setDaemon(true);
        keep.start();
        Telemetry.markReleased(l);
        l = null;
        ClassLoadingMXBean cl = ManagementFactory.getClassLoadingMXBean();
        for (int i = 0; i < 3; i++) { Telemetry.snapshot(); cl.getTotalLoadedClassCount(); cl.getUnloadedClassCount(); }
        for (int attempt = 0; attempt < 20; attempt++) {
            long c1 = cl.getTotalLoadedClassCount();
            long u1 = cl.getUnloadedClassCount();
            Snapshot s = Telemetry.collectAndSnapshot(3);
            long c2 = cl.getTotalLoadedClassCount();
            long u2 = cl.getUnloadedClassCount();
            if (c1 != c2 || u1 != u2) continue;
            System.out.println("LOADED " + c1 + " " + s.classesLoadedTotal());
            System.out.println("UNLOADED " + u1 + " " + s.classesUnloadedTotal());
            StringBuilder names = new StringBuilder();
            for (Snapshot.Loader x : s.leaked()) {
                names.append(x.name());
                for (Snapshot.Suspect sus : x.suspects()) System.out.println("SUSPECT " + sus);
            }
            System.out.println("LEAKED " + names);
            return;
        }
        throw new AssertionError("class counts never stood still");
    }
}
