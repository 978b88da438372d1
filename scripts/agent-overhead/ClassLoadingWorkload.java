import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Paths;

/**
 * Class-loading-heavy workload: LOADERS fresh URLClassLoaders each define and initialise all
 * CLASSES generated classes from a directory, then are closed and dropped (as a session cluster
 * does with job classloaders), with a full GC every 50 loaders so classes are also unloaded.
 * Prints the elapsed wall time of the whole loop.
 */
public class ClassLoadingWorkload {
    public static void main(String[] args) throws Exception {
        URL dir = Paths.get(args[0]).toUri().toURL();
        int loaders = Integer.parseInt(args[1]);
        int classes = Integer.parseInt(args[2]);
        long checksum = 0;
        long cpu0 = cpuMillis();
        long t0 = System.nanoTime();
        for (int i = 0; i < loaders; i++) {
            try (URLClassLoader l = new URLClassLoader("job-" + i, new URL[] {dir},
                    ClassLoadingWorkload.class.getClassLoader())) {
                for (int c = 0; c < classes; c++) {
                    Class<?> k = Class.forName("gen.C" + c, true, l);
                    checksum += k.getName().length();
                }
            }
            if (i % 50 == 49) {
                System.gc();
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long cpu = cpuMillis() - cpu0;
        System.out.println("elapsed_ms " + ms + " cpu_ms " + cpu + " checksum " + checksum);
    }

    /** CPU time of the whole process (all threads, the agent's included), in ms. */
    static long cpuMillis() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toMillis()).orElse(-1L);
    }
}
