import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Asks a user-code classloader a list of questions and prints one line per answer, with the
 * scratch directory replaced by "$D", so that loaders can be compared line by line.
 *
 * <p>args: kind (tmrt | flink | jdk) order (child-first | parent-first) patterns (';'-separated)
 * check (true | false) dir queries-file parent-jar user-jar...
 */
public class Probe {
    static String dir;

    public static void main(String[] a) throws Exception {
        String kind = a[0], order = a[1];
        String[] patterns = a[2].isEmpty() ? new String[0] : a[2].split(";", -1);
        boolean check = Boolean.parseBoolean(a[3]);
        dir = a[4];
        List<String> queries = Files.readAllLines(Paths.get(a[5]));
        URLClassLoader parent = new URLClassLoader(new URL[] {Paths.get(a[6]).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        URL[] urls = new URL[a.length - 7];
        for (int i = 7; i < a.length; i++) {
            urls[i - 7] = Paths.get(a[i]).toUri().toURL();
        }
        URLClassLoader fresh = create(kind, order, urls, parent, patterns, check);
        concurrent(fresh, queries);
        fresh.close();
        URLClassLoader loader = create(kind, order, urls, parent, patterns, check);
        System.out.println("parallel-capable => " + loader.isRegisteredAsParallelCapable());
        if (kind.equals("tmrt")) {
            System.out.println("native-index => " + nativeIndexed(loader));
        }
        for (String q : queries) {
            if (q.isEmpty()) {
                continue;
            }
            System.out.println(q + " => " + answer(loader, q, parent));
        }
        loader.close();
        for (String q : queries) {
            if (q.startsWith("class ") || q.startsWith("resource ")) {
                System.out.println("closed " + q + " => " + answer(loader, q, parent));
            }
        }
    }

    static URLClassLoader create(String kind, String order, URL[] urls, ClassLoader parent, String[] patterns, boolean check) throws Exception {
        switch (kind) {
            case "tmrt":
                return dev.tmrt.classload.UserCodeClassLoaders.create(order, urls, parent, patterns, check);
            case "jdk":
                return new URLClassLoader(urls, parent);
            case "flink": {
                // org.apache.flink.util since 1.14; org.apache.flink.runtime.execution.librarycache in 1.13.
                String pkg = "org.apache.flink.util.";
                try {
                    Class.forName(pkg + "FlinkUserCodeClassLoaders");
                } catch (ClassNotFoundException e) {
                    pkg = "org.apache.flink.runtime.execution.librarycache.";
                }
                Class<?> f = Class.forName(pkg + "FlinkUserCodeClassLoaders");
                Class<?> ro = Class.forName(pkg + "FlinkUserCodeClassLoaders$ResolveOrder");
                Object resolveOrder = ro.getMethod("fromString", String.class).invoke(null, order);
                Method create = f.getMethod("create", ro, URL[].class, ClassLoader.class, String[].class, Consumer.class, boolean.class);
                Consumer<Throwable> noop = t -> {};
                return (URLClassLoader) create.invoke(null, resolveOrder, urls, parent, patterns, noop, check);
            }
            default:
                throw new IllegalArgumentException(kind);
        }
    }

    /** Whether the tmrt loader (inside its safety net, if any) serves its jars from the native index. */
    static boolean nativeIndexed(URLClassLoader loader) throws Exception {
        Object inner = loader;
        if (loader.getClass().getSimpleName().equals("SafetyNetUserCodeClassLoader")) {
            java.lang.reflect.Field f = loader.getClass().getDeclaredField("inner");
            f.setAccessible(true);
            inner = f.get(loader);
        }
        java.lang.reflect.Field h = Class.forName("dev.tmrt.classload.IndexedUserCodeClassLoader").getDeclaredField("jars");
        h.setAccessible(true);
        return h.get(inner) != null;
    }

    static String rel(Object o) {
        return String.valueOf(o).replace(dir, "$D");
    }

    static String answer(URLClassLoader loader, String q, ClassLoader parent) {
        String arg = q.substring(q.indexOf(' ') + 1);
        try {
            if (q.startsWith("class ")) {
                Class<?> c = loader.loadClass(arg);
                String from = c.getClassLoader() == parent ? "parent" : c.getClassLoader() == null ? "boot" : "user";
                return from + " " + rel(c.getProtectionDomain().getCodeSource().getLocation())
                        + " signers=" + (c.getProtectionDomain().getCodeSource().getCodeSigners() == null ? "none" : "some");
            } else if (q.startsWith("package ")) {
                Class<?> c = loader.loadClass(arg);
                Package p = c.getPackage();
                return p.getName() + " title=" + p.getImplementationTitle() + " version=" + p.getImplementationVersion()
                        + " vendor=" + p.getImplementationVendor() + " spec=" + p.getSpecificationTitle() + "/" + p.getSpecificationVersion()
                        + " sealed=" + p.isSealed();
            } else if (q.startsWith("resource ")) {
                URL u = loader.getResource(arg);
                if (u == null) {
                    return "null";
                }
                // A URL built by the loader equals the one parsed from its text (handler equality).
                URL parsed = new URL(u.toString());
                return rel(u) + (u.equals(parsed) && u.hashCode() == parsed.hashCode() ? "" : " (not equal to its parsed form)");
            } else if (q.startsWith("resources ")) {
                return rel(Collections.list(loader.getResources(arg)));
            } else if (q.startsWith("stream ")) {
                try (InputStream in = loader.getResourceAsStream(arg)) {
                    if (in == null) {
                        return "null";
                    }
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    in.transferTo(out);
                    return new String(out.toByteArray(), StandardCharsets.UTF_8).trim();
                }
            } else if (q.startsWith("call ")) {
                Class<?> c = loader.loadClass(arg);
                return String.valueOf(c.getMethod("who").invoke(null));
            }
            return "unknown query";
        } catch (Throwable t) {
            Throwable root = t instanceof java.lang.reflect.InvocationTargetException ? t.getCause() : t;
            String m = String.valueOf(root.getMessage());
            if (m.startsWith("Trying to access closed classloader.")) {
                m = "Trying to access closed classloader. ...";
            }
            return root.getClass().getName() + ": " + rel(m);
        }
    }

    /** Loads every queried class from 4 threads at once: each must get the same Class object. */
    static void concurrent(URLClassLoader loader, List<String> queries) throws Exception {
        List<String> names = new ArrayList<>();
        for (String q : queries) {
            if (q.startsWith("class ")) {
                names.add(q.substring(6));
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<List<Object>>> results = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            results.add(pool.submit(() -> {
                List<Object> got = new ArrayList<>();
                for (String n : names) {
                    try {
                        got.add(loader.loadClass(n));
                    } catch (ClassNotFoundException e) {
                        got.add("CNFE");
                    }
                }
                return got;
            }));
        }
        List<Object> first = results.get(0).get();
        boolean same = true;
        for (Future<List<Object>> f : results) {
            List<Object> got = f.get();
            for (int i = 0; i < got.size(); i++) {
                same &= got.get(i) == first.get(i) || got.get(i).equals(first.get(i));
            }
        }
        pool.shutdown();
        System.out.println("concurrent-same => " + same);
    }
}
