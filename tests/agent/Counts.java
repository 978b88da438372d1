import dev.tmrt.telemetry.Snapshot;
import dev.tmrt.telemetry.Telemetry;
import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Paths;

/** Loads and unloads classes, then prints its MXBean figures next to the agent's. */
public class Counts {
    static MemoryPoolMXBean pool(String name) {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getName().equals(name)) return p;
        }
        throw new AssertionError("no pool " + name);
    }

    static void useAndRelease(URL plugins, int i) throws Exception {
        URLClassLoader l = new URLClassLoader("counted-" + i, new URL[] {plugins}, Counts.class.getClassLoader());
        Object p = l.loadClass("Plugin").getDeclaredConstructor().newInstance();
        // Through the child, a class its parent defined: the child becomes an initiating loader,
        // and HotSpot posts ClassLoad for Counts again. Counted once all the same.
        Class.forName("Counts", false, l);
        Runnable r = () -> p.toString(); // a hidden class too
        r.run();
        Telemetry.markReleased(l);
        l.close();
    }

    public static void main(String[] args) throws Exception {
        URL plugins = Paths.get(args[0]).toUri().toURL();
        ClassLoadingMXBean cl = ManagementFactory.getClassLoadingMXBean();
        MemoryPoolMXBean meta = pool("Metaspace");
        MemoryPoolMXBean ccs = pool("Compressed Class Space");
        for (int i = 0; i < 4; i++) useAndRelease(plugins, i);
        // Two full collections, then more until the four Plugin classes are unloaded (at most
        // 20): the agent thread reads a watched loader when it is created and after each
        // collection, holding a local reference while it reads, so a loader closed just before
        // can outlive the next collection. (Its release is dated by the poll that saw it, after
        // that collection, so the leak rule never counts that one.)
        System.gc();
        System.gc();
        for (int i = 0; i < 20 && cl.getUnloadedClassCount() < 4; i++) System.gc();
        System.out.println("agent=" + Telemetry.isAgentLoaded());
        // Warm up every call below, so that none loads a class between the readings.
        for (int i = 0; i < 3; i++) {
            Telemetry.snapshot();
            cl.getTotalLoadedClassCount();
            cl.getUnloadedClassCount();
            meta.getUsage();
            ccs.getUsage();
        }
        for (int attempt = 0; attempt < 20; attempt++) {
            long c1 = cl.getTotalLoadedClassCount();
            long u1 = cl.getUnloadedClassCount();
            long m1 = meta.getUsage().getUsed();
            long k1 = ccs.getUsage().getUsed();
            Snapshot s = Telemetry.snapshot();
            long c2 = cl.getTotalLoadedClassCount();
            long u2 = cl.getUnloadedClassCount();
            long m2 = meta.getUsage().getUsed();
            long k2 = ccs.getUsage().getUsed();
            if (c1 != c2 || u1 != u2) continue; // something loaded meanwhile: measure again
            long definedSum = 0;
            long unloadedSum = 0;
            for (Snapshot.Loader l : s.loaders()) {
                definedSum += l.classesDefined();
                unloadedSum += l.classesUnloaded();
            }
            System.out.println("LOADED " + c1 + " " + s.classesLoadedTotal() + " " + definedSum);
            System.out.println("UNLOADED " + u1 + " " + s.classesUnloadedTotal() + " " + unloadedSum);
            System.out.println("METASPACE " + m1 + " " + s.metaspaceUsedBytes() + " " + m2 + " "
                    + meta.getUsage().getMax() + " " + s.metaspaceMaxBytes());
            System.out.println("CCS " + k1 + " " + s.compressedClassSpaceUsedBytes() + " " + k2 + " "
                    + ccs.getUsage().getMax() + " " + s.compressedClassSpaceMaxBytes());
            System.out.println("JSON_IS_REPORT " + s.toJson().contains("\"classes_loaded_total\": " + s.classesLoadedTotal() + ","));
            return;
        }
        throw new AssertionError("class counts never stood still");
    }
}
