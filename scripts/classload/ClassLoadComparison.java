import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.util.FlinkUserCodeClassLoaders;

/**
 * Loads every class of a user classpath through Flink's child-first classloader and through
 * tmrt's, in the same JVM, alternating rounds, each round with a fresh loader. The parent is the
 * application classloader, which holds flink-dist (as in a TaskManager). Every class must resolve
 * to the same jar (or fail the same way) through both; prints classes per second for each. Then,
 * on the same loader, {@code getResource} for every entry name of the classpath (resolution
 * without class definition), whose URLs must also be equal.
 *
 * <p>args: rounds jar... ({@code -Donly=tmrt} or {@code -Donly=flink} runs one side, for
 * profiling; the comparison then reports nothing).
 */
public class ClassLoadComparison {
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        List<File> jars = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            jars.add(new File(args[i]));
        }
        URL[] urls = new URL[jars.size()];
        Set<String> names = new LinkedHashSet<>();
        Set<String> entries = new LinkedHashSet<>();
        for (int i = 0; i < jars.size(); i++) {
            urls[i] = jars.get(i).toURI().toURL();
            try (JarFile jf = new JarFile(jars.get(i))) {
                Enumeration<JarEntry> en = jf.entries();
                while (en.hasMoreElements()) {
                    String n = en.nextElement().getName();
                    entries.add(n);
                    if (n.endsWith(".class") && !n.startsWith("META-INF/") && !n.endsWith("module-info.class")) {
                        names.add(n.substring(0, n.length() - 6).replace('/', '.'));
                    }
                }
            }
        }
        String[] classes = names.toArray(new String[0]);
        String[] resources = entries.toArray(new String[0]);
        String[] patterns = CoreOptions.getParentFirstLoaderPatterns(new Configuration());
        ClassLoader parent = ClassLoader.getSystemClassLoader();
        System.out.printf("classpath: %d jars, %d classes; parent: application classloader (flink-dist); %d parent-first patterns%n",
                jars.size(), classes.length, patterns.length);

        Map<String, String> flinkAnswers = null;
        Map<String, String> tmrtAnswers = null;
        long[] flinkNanos = new long[rounds];
        long[] tmrtNanos = new long[rounds];
        long[] flinkCpu = new long[rounds];
        long[] tmrtCpu = new long[rounds];
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long[] flinkResourceNanos = new long[rounds];
        long[] tmrtResourceNanos = new long[rounds];
        String[] flinkUrls = null;
        String[] tmrtUrls = null;
        Consumer<Throwable> noop = t -> {};
        for (int r = 0; r < rounds; r++) {
            for (int side = 0; side < 2; side++) {
                boolean tmrtFirst = r % 2 == 1;
                boolean tmrt = (side == 0) == tmrtFirst;
                String only = System.getProperty("only");
                if (only != null && !only.equals(tmrt ? "tmrt" : "flink")) {
                    continue;
                }
                System.gc();
                Map<String, String> answers = new TreeMap<>();
                long t0 = System.nanoTime();
                long c0 = threads.getCurrentThreadCpuTime();
                URLClassLoader loader = tmrt
                        ? dev.tmrt.classload.UserCodeClassLoaders.childFirst(urls, parent, patterns, true)
                        : FlinkUserCodeClassLoaders.childFirst(urls, parent, patterns, noop, true);
                String[] got = new String[classes.length];
                for (int i = 0; i < classes.length; i++) {
                    try {
                        Class<?> c = Class.forName(classes[i], false, loader);
                        got[i] = c.getProtectionDomain().getCodeSource() == null
                                ? "<no code source>"
                                : c.getProtectionDomain().getCodeSource().getLocation().toString();
                    } catch (Throwable t) {
                        got[i] = t.getClass().getName();
                    }
                }
                long elapsed = System.nanoTime() - t0;
                long cpu = threads.getCurrentThreadCpuTime() - c0;
                // Resolution alone: getResource for every entry name of the classpath.
                String[] urlsSeen = new String[resources.length];
                long r0 = System.nanoTime();
                for (int i = 0; i < resources.length; i++) {
                    URL u = loader.getResource(resources[i]);
                    urlsSeen[i] = u == null ? null : u.toString();
                }
                long resourceElapsed = System.nanoTime() - r0;
                loader.close();
                if (tmrt) {
                    tmrtResourceNanos[r] = resourceElapsed;
                    tmrtUrls = urlsSeen;
                } else {
                    flinkResourceNanos[r] = resourceElapsed;
                    flinkUrls = urlsSeen;
                }
                if (tmrt) {
                    tmrtNanos[r] = elapsed;
                    tmrtCpu[r] = cpu;
                } else {
                    flinkNanos[r] = elapsed;
                    flinkCpu[r] = cpu;
                }
                if (r == 0) {
                    for (int i = 0; i < classes.length; i++) {
                        answers.put(classes[i], got[i]);
                    }
                    if (tmrt) {
                        tmrtAnswers = answers;
                    } else {
                        flinkAnswers = answers;
                    }
                }
                System.out.printf("round %d %-5s loadClass %8.1f ms (thread CPU %8.1f ms) %8.0f classes/s; getResource %7.1f ms %9.0f lookups/s%n",
                        r, tmrt ? "tmrt" : "flink", elapsed / 1e6, cpu / 1e6, classes.length / (elapsed / 1e9),
                        resourceElapsed / 1e6, resources.length / (resourceElapsed / 1e9));
            }
        }
        if (flinkAnswers == null || tmrtAnswers == null) {
            return;
        }
        int mismatches = 0;
        int loaded = 0;
        for (Map.Entry<String, String> e : flinkAnswers.entrySet()) {
            String t = tmrtAnswers.get(e.getKey());
            if (!e.getValue().equals(t)) {
                if (mismatches++ < 20) {
                    System.out.println("MISMATCH " + e.getKey() + ": flink=" + e.getValue() + " tmrt=" + t);
                }
            } else if (e.getValue().startsWith("file:")) {
                loaded++;
            }
        }
        int urlMismatches = 0;
        for (int i = 0; i < resources.length; i++) {
            if (!java.util.Objects.equals(flinkUrls[i], tmrtUrls[i]) && urlMismatches++ < 20) {
                System.out.println("URL MISMATCH " + resources[i] + ": flink=" + flinkUrls[i] + " tmrt=" + tmrtUrls[i]);
            }
        }
        System.out.printf("same URL for every getResource: %s (%d entries, %d mismatches)%n",
                urlMismatches == 0 ? "yes" : "NO", resources.length, urlMismatches);
        mismatches += urlMismatches;
        double flinkLookups = resources.length / (median(flinkResourceNanos) / 1e9);
        double tmrtLookups = resources.length / (median(tmrtResourceNanos) / 1e9);
        System.out.printf("median of %d rounds, getResource: flink %.0f lookups/s, tmrt %.0f lookups/s, ratio %.2fx%n",
                rounds, flinkLookups, tmrtLookups, tmrtLookups / flinkLookups);
        double flinkRate = classes.length / (median(flinkNanos) / 1e9);
        double tmrtRate = classes.length / (median(tmrtNanos) / 1e9);
        System.out.printf("same jar for every class: %s (%d mismatches; %d classes defined, %d failed identically, e.g. missing dependencies)%n",
                mismatches == 0 ? "yes" : "NO", mismatches, loaded, classes.length - loaded - mismatches);
        System.out.printf("median of %d rounds, loadClass: flink %.0f classes/s, tmrt %.0f classes/s, ratio %.2fx%n",
                rounds, flinkRate, tmrtRate, tmrtRate / flinkRate);
        double flinkCpuRate = classes.length / (median(flinkCpu) / 1e9);
        double tmrtCpuRate = classes.length / (median(tmrtCpu) / 1e9);
        System.out.printf("median of %d rounds, loadClass per loading-thread CPU second: flink %.0f classes/s, tmrt %.0f classes/s, ratio %.2fx%n",
                rounds, flinkCpuRate, tmrtCpuRate, tmrtCpuRate / flinkCpuRate);
        if (mismatches != 0) {
            System.exit(2);
        }
    }

    static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }
}
