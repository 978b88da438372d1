import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.util.FlinkUserCodeClassLoaders;

/**
 * Loads every class of a user classpath through a fresh loader of each kind, in one JVM,
 * alternating the order of the sides every round, and prints the median per side and its ratio
 * to "the limit":
 *
 * <ul>
 *   <li>{@code flink}: Flink's {@code ChildFirstClassLoader} ({@code FlinkUserCodeClassLoaders.childFirst});
 *   <li>{@code tmrt}: {@code dev.tmrt.classload.UserCodeClassLoaders.childFirst} over jars whose
 *       index is not cached (each round's jars are fresh copies: a cold start);
 *   <li>{@code tmrt-restart}: the same over the same jars as the round before (what a job
 *       resubmission or failover does: the index of unchanged files is reused);
 *   <li>{@code limit}: a loader that only defines bytes already in memory (read before the clock
 *       starts): no lookup, no I/O, no inflation, no code source, the same parent-first decision.
 * </ul>
 *
 * Every side must resolve every class to the same jar (or fail with the same exception class)
 * and, for the URL loaders, every {@code getResource} to the same URL; a mismatch exits 2.
 *
 * <p>args: rounds parent(platform|app) jar... ; {@code -Donly=SIDE[,SIDE]} runs some sides only
 * (for profiling).
 */
public class ClassLoadComparison {
    static final String[] SIDES = {"flink", "tmrt", "tmrt-restart", "limit"};

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        ClassLoader parent = args[1].equals("platform") ? ClassLoader.getPlatformClassLoader() : ClassLoader.getSystemClassLoader();
        List<File> jars = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            jars.add(new File(args[i]));
        }
        Set<String> only = new LinkedHashSet<>(Arrays.asList(System.getProperty("only", String.join(",", SIDES)).split(",")));
        URL[] urls = new URL[jars.size()];
        Set<String> names = new LinkedHashSet<>();
        Set<String> entries = new LinkedHashSet<>();
        Map<String, byte[]> bytes = new HashMap<>();
        Map<String, String> jarOf = new HashMap<>();
        long classBytes = 0;
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
        // The limit's bytes: each class as URLClassLoader finds it (Class-Path manifests included).
        try (URLClassLoader finder = new URLClassLoader(urls, null)) {
            for (String cn : names) {
                URL u = finder.getResource(cn.replace('.', '/') + ".class");
                try (InputStream in = u.openStream()) {
                    byte[] b = in.readAllBytes();
                    bytes.put(cn, b);
                    String s = u.toString();
                    jarOf.put(cn, s.substring(s.lastIndexOf('/', s.indexOf("!/")) + 1, s.indexOf("!/")));
                    classBytes += b.length;
                }
            }
        }
        String[] classes = names.toArray(new String[0]);
        String[] resources = entries.toArray(new String[0]);
        String[] patterns = CoreOptions.getParentFirstLoaderPatterns(new Configuration());
        System.out.printf("classpath: %d jars, %d classes (%.1f MiB of class bytes), %d entries; parent: %s; %d parent-first patterns (Flink's defaults)%n",
                jars.size(), classes.length, classBytes / 1048576.0, resources.length, args[1], patterns.length);

        // Fresh copies of the jars per cold round, so that tmrt's index cache cannot serve them.
        File copies = new File(System.getProperty("copies", System.getProperty("java.io.tmpdir")), "tmrt-classload-copies-" + ProcessHandle.current().pid());
        Map<String, long[]> nanos = new LinkedHashMap<>();
        Map<String, long[]> cpu = new LinkedHashMap<>();
        Map<String, long[]> resourceNanos = new LinkedHashMap<>();
        for (String s : SIDES) {
            nanos.put(s, new long[rounds]);
            cpu.put(s, new long[rounds]);
            resourceNanos.put(s, new long[rounds]);
        }
        Map<String, String[]> answers = new HashMap<>();
        Map<String, String[]> urlAnswers = new HashMap<>();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Consumer<Throwable> noop = t -> {};
        URL[] previousTmrt = null;
        try {
            for (int r = 0; r < rounds; r++) {
                List<String> order = new ArrayList<>(Arrays.asList(SIDES));
                // tmrt-restart must follow a tmrt round over the same files.
                order.remove("tmrt-restart");
                order.add(order.indexOf("tmrt") + 1, "tmrt-restart");
                if (r % 2 == 1) {
                    java.util.Collections.reverse(order);
                    order.remove("tmrt-restart");
                    order.add(order.indexOf("tmrt") + 1, "tmrt-restart");
                }
                URL[] cold = copy(jars, new File(copies, "r" + r));
                for (String side : order) {
                    if (!only.contains(side)) {
                        continue;
                    }
                    URL[] sideUrls = side.equals("tmrt") ? cold : side.equals("tmrt-restart") ? previousTmrt : urls;
                    if (sideUrls == null) {
                        continue;
                    }
                    System.gc();
                    long t0 = System.nanoTime();
                    long c0 = threads.getCurrentThreadCpuTime();
                    ClassLoader loader;
                    switch (side) {
                        case "flink":
                            loader = FlinkUserCodeClassLoaders.childFirst(sideUrls, parent, patterns, noop, false);
                            break;
                        case "limit":
                            loader = new LimitLoader(bytes, jarOf, parent, patterns);
                            break;
                        default:
                            loader = dev.tmrt.classload.UserCodeClassLoaders.childFirst(sideUrls, parent, patterns, false);
                    }
                    String[] got = new String[classes.length];
                    for (int i = 0; i < classes.length; i++) {
                        try {
                            Class<?> c = Class.forName(classes[i], false, loader);
                            got[i] = where(c, sideUrls, urls);
                        } catch (Throwable t) {
                            got[i] = t.getClass().getName();
                        }
                    }
                    long elapsed = System.nanoTime() - t0;
                    long cpuUsed = threads.getCurrentThreadCpuTime() - c0;
                    nanos.get(side)[r] = elapsed;
                    cpu.get(side)[r] = cpuUsed;
                    String resourceFigure = "";
                    if (loader instanceof URLClassLoader) {
                        String[] seen = new String[resources.length];
                        long r0 = System.nanoTime();
                        for (int i = 0; i < resources.length; i++) {
                            URL u = loader.getResource(resources[i]);
                            seen[i] = u == null ? null : u.toString();
                        }
                        long re = System.nanoTime() - r0;
                        resourceNanos.get(side)[r] = re;
                        resourceFigure = String.format("; getResource %7.1f ms", re / 1e6);
                        for (int i = 0; i < seen.length; i++) {
                            if (seen[i] != null) {
                                seen[i] = unify(seen[i], sideUrls, urls);
                            }
                        }
                        urlAnswers.putIfAbsent(side, seen);
                        ((URLClassLoader) loader).close();
                    }
                    answers.putIfAbsent(side, got);
                    System.out.printf("round %d %-12s loadClass %8.1f ms (thread CPU %8.1f ms)%s%n",
                            r, side, elapsed / 1e6, cpuUsed / 1e6, resourceFigure);
                    if (side.equals("tmrt")) {
                        previousTmrt = cold;
                    }
                }
            }
        } finally {
            deleteTree(copies);
        }

        int mismatches = 0;
        String[] reference = answers.get("flink");
        for (Map.Entry<String, String[]> e : answers.entrySet()) {
            if (reference == null || e.getKey().equals("flink")) {
                continue;
            }
            for (int i = 0; i < classes.length; i++) {
                if (!reference[i].equals(e.getValue()[i]) && mismatches++ < 20) {
                    System.out.println("MISMATCH " + e.getKey() + " " + classes[i] + ": flink=" + reference[i] + " " + e.getKey() + "=" + e.getValue()[i]);
                }
            }
        }
        String[] urlReference = urlAnswers.get("flink");
        for (Map.Entry<String, String[]> e : urlAnswers.entrySet()) {
            if (urlReference == null || e.getKey().equals("flink")) {
                continue;
            }
            for (int i = 0; i < resources.length; i++) {
                if (!Objects.equals(urlReference[i], e.getValue()[i]) && mismatches++ < 40) {
                    System.out.println("URL MISMATCH " + e.getKey() + " " + resources[i] + ": flink=" + urlReference[i] + " " + e.getKey() + "=" + e.getValue()[i]);
                }
            }
        }
        if (reference != null) {
            int defined = 0;
            for (String s : reference) {
                if (s.startsWith("jar ")) {
                    defined++;
                }
            }
            System.out.printf("same answer for every class and resource on every side: %s (%d classes defined from the jars, %d failed identically)%n",
                    mismatches == 0 ? "yes" : "NO, " + mismatches + " mismatches", defined, classes.length - defined);
        }
        double limit = median(nanos.get("limit"));
        double limitCpu = median(cpu.get("limit"));
        System.out.printf("median of %d rounds, loading every class with a fresh loader (wall ms, loading-thread CPU ms, each / limit):%n", rounds);
        for (String side : SIDES) {
            if (!only.contains(side) || nanos.get(side)[rounds - 1] == 0) {
                continue;
            }
            double m = median(nanos.get(side));
            double c = median(cpu.get(side));
            System.out.printf("  %-12s %8.1f ms  %5.2fx   CPU %8.1f ms  %5.2fx%s%n", side, m / 1e6, only.contains("limit") ? m / limit : Double.NaN,
                    c / 1e6, only.contains("limit") ? c / limitCpu : Double.NaN,
                    side.equals("limit") ? "" : String.format("   getResource of every entry %7.1f ms", median(resourceNanos.get(side)) / 1e6));
        }
        if (mismatches != 0) {
            System.exit(2);
        }
    }

    /** Where a class came from: its jar's position in the classpath, or its loader if not a jar. */
    static String where(Class<?> c, URL[] sideUrls, URL[] urls) {
        java.security.CodeSource cs = c.getProtectionDomain().getCodeSource();
        if (c.getClassLoader() instanceof LimitLoader) {
            return "jar " + ((LimitLoader) c.getClassLoader()).jarOf(c.getName());
        }
        if (cs == null || cs.getLocation() == null) {
            return "loader " + c.getClassLoader();
        }
        String loc = cs.getLocation().toString();
        return "jar " + loc.substring(loc.lastIndexOf('/') + 1);
    }

    /** A URL of a copied jar written as the URL of the original. */
    static String unify(String url, URL[] sideUrls, URL[] urls) {
        for (int i = 0; i < sideUrls.length; i++) {
            String prefix = "jar:" + sideUrls[i] + "!/";
            if (url.startsWith(prefix)) {
                return "jar:" + urls[i] + "!/" + url.substring(prefix.length());
            }
        }
        return url;
    }

    static URL[] copy(List<File> jars, File dir) throws IOException {
        dir.mkdirs();
        URL[] out = new URL[jars.size()];
        for (int i = 0; i < jars.size(); i++) {
            File to = new File(dir, jars.get(i).getName());
            java.nio.file.Files.copy(jars.get(i).toPath(), to.toPath(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            out[i] = to.toURI().toURL();
        }
        return out;
    }

    static void deleteTree(File f) {
        File[] children = f.listFiles();
        if (children != null) {
            for (File c : children) {
                deleteTree(c);
            }
        }
        f.delete();
    }

    static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    /**
     * The limit: defines bytes already in memory, with Flink's child-first decision (patterns:
     * parent, then own; otherwise own, then parent) and nothing else.
     */
    static final class LimitLoader extends ClassLoader {
        static {
            ClassLoader.registerAsParallelCapable();
        }

        private final Map<String, byte[]> bytes;
        private final Map<String, String> jars;
        private final String[] patterns;

        LimitLoader(Map<String, byte[]> bytes, Map<String, String> jars, ClassLoader parent, String[] patterns) {
            super(parent);
            this.bytes = bytes;
            this.jars = jars;
            this.patterns = patterns;
        }

        String jarOf(String name) {
            return jars.get(name);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    for (String p : patterns) {
                        if (name.startsWith(p)) {
                            return super.loadClass(name, resolve);
                        }
                    }
                    byte[] b = bytes.get(name);
                    c = b != null ? defineClass(name, b, 0, b.length) : getParent().loadClass(name);
                }
                return c;
            }
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            byte[] b = bytes.get(name);
            if (b == null) {
                throw new ClassNotFoundException(name);
            }
            return defineClass(name, b, 0, b.length);
        }
    }
}
