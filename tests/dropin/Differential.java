import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Long seeded sequences of operations through Flink's own user-code classloader API
 * ({@code FlinkUserCodeClassLoaders.childFirst/parentFirst/create}, {@code loadClass},
 * {@code Class.forName}, resources, {@code close}, {@code copy}, {@code addURL}, the exception
 * handler), one answer per line with the scratch directory written as "$D", so that a plain JVM
 * and one with tmrt's drop-in runtime can be compared line by line. Flink's classes are reached
 * by reflection, so one source serves 1.13 (package runtime.execution.librarycache) and 1.20/2.2
 * (package util). Lines starting with '#' describe the run (is the class tmrt's, what /metrics
 * says) and are not compared.
 *
 * <p>args: dir seeds ops [metrics-port]; dir holds the fixture (see tests/dropin_classloading.rs).
 */
public class Differential {
    static String dir;
    static Class<?> factory;
    static Class<?> resolveOrder;
    static final List<ClassLoader> loaders = new ArrayList<>();
    static final List<String> handled = Collections.synchronizedList(new ArrayList<>());

    public static void main(String[] a) throws Exception {
        dir = new File(a[0]).getCanonicalPath();
        String[] seeds = a[1].split(",");
        int ops = Integer.parseInt(a[2]);
        try {
            factory = Class.forName("org.apache.flink.util.FlinkUserCodeClassLoaders");
        } catch (ClassNotFoundException e) {
            factory = Class.forName("org.apache.flink.runtime.execution.librarycache.FlinkUserCodeClassLoaders");
        }
        resolveOrder = Class.forName(factory.getName() + "$ResolveOrder");
        Class<?> base = Class.forName("org.apache.flink.util.FlinkUserCodeClassLoader");
        boolean tmrt = false;
        for (java.lang.reflect.Field f : base.getDeclaredFields()) {
            tmrt |= f.getName().equals("tmrtJars");
        }
        System.out.println("#substituted " + tmrt);
        List<String> classes = Files.readAllLines(Paths.get(dir, "classes.txt"));
        List<String> resources = Files.readAllLines(Paths.get(dir, "resources.txt"));
        List<URL> urls = new ArrayList<>();
        for (String u : Files.readAllLines(Paths.get(dir, "urls.txt"))) {
            urls.add(u.startsWith("/") ? new File(u).toURI().toURL() : new URL(u.replace("$D", dir)));
        }
        URLClassLoader parentJar = new URLClassLoader(new URL[] {new File(dir, "parent.jar").toURI().toURL()}, ClassLoader.getPlatformClassLoader());
        String[] patternPool = {"java.", "org.apache.flink.", "com.acme.", "com.acme.Dup", "javax.", "org.apache.commons.lang3.", "com.extra", ""};
        for (String seed : seeds) {
            Random r = new Random(Long.parseLong(seed));
            loaders.clear();
            System.out.println("seed " + seed);
            for (int i = 0; i < ops; i++) {
                String line;
                try {
                    line = step(r, urls, parentJar, patternPool, classes, resources);
                } catch (Throwable t) {
                    line = "threw " + describe(t);
                }
                System.out.println(i + " " + line);
                if (!handled.isEmpty()) {
                    synchronized (handled) {
                        System.out.println(i + " handler " + handled);
                        handled.clear();
                    }
                }
            }
            for (ClassLoader l : loaders) {
                if (l instanceof URLClassLoader) {
                    ((URLClassLoader) l).close();
                }
            }
        }
        if (a.length > 3) {
            HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + a[3] + "/metrics").openConnection();
            try (InputStream in = c.getInputStream()) {
                for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    if (l.startsWith("tmrt_runtime_active")) {
                        System.out.println("#metrics " + l);
                    }
                }
            }
        }
    }

    static <T> T pick(Random r, List<T> l) {
        return l.get(r.nextInt(l.size()));
    }

    static String step(Random r, List<URL> urls, ClassLoader parentJar, String[] patternPool, List<String> classes,
            List<String> resources) throws Throwable {
        int op = loaders.isEmpty() ? 0 : r.nextInt(100);
        if (op < 8) {
            List<URL> chosen = new ArrayList<>(urls);
            Collections.shuffle(chosen, r);
            chosen = chosen.subList(0, 1 + r.nextInt(chosen.size()));
            int p = r.nextInt(3);
            ClassLoader parent = p == 0 ? ClassLoader.getPlatformClassLoader() : p == 1 ? ClassLoader.getSystemClassLoader() : parentJar;
            List<String> patterns = new ArrayList<>();
            for (String s : patternPool) {
                if (r.nextInt(3) == 0) {
                    patterns.add(s);
                }
            }
            boolean check = r.nextBoolean();
            boolean childFirst = r.nextInt(3) != 0;
            Consumer<Throwable> handler = t -> handled.add(describe(t));
            Object loader;
            String how;
            URL[] u = chosen.toArray(new URL[0]);
            String[] pat = patterns.toArray(new String[0]);
            if (r.nextBoolean()) {
                Object order = resolveOrder.getMethod("fromString", String.class).invoke(null, childFirst ? "child-first" : "parent-first");
                Method m = factory.getMethod("create", resolveOrder, URL[].class, ClassLoader.class, String[].class, Consumer.class, boolean.class);
                loader = call(m, order, u, parent, pat, handler, check);
                how = "create";
            } else if (childFirst) {
                Method m = factory.getMethod("childFirst", URL[].class, ClassLoader.class, String[].class, Consumer.class, boolean.class);
                loader = call(m, u, parent, pat, handler, check);
                how = "childFirst";
            } else {
                Method m = factory.getMethod("parentFirst", URL[].class, ClassLoader.class, Consumer.class, boolean.class);
                loader = call(m, u, parent, handler, check);
                how = "parentFirst";
            }
            loaders.add((ClassLoader) loader);
            return "new L" + (loaders.size() - 1) + " " + how + " " + (childFirst ? "child-first" : "parent-first") + " check=" + check
                    + " parent=" + p + " patterns=" + patterns + " urls=" + rel(chosen) + " -> " + simpleName(loader);
        }
        int k = r.nextInt(loaders.size());
        ClassLoader l = loaders.get(k);
        String who = "L" + k + " ";
        if (op < 40) {
            String name = pick(r, classes);
            Class<?> c = r.nextInt(4) == 0 ? Class.forName(name, r.nextBoolean(), l) : l.loadClass(name);
            return who + "loadClass " + name + " -> " + describe(c);
        }
        if (op < 55) {
            String name = pick(r, resources);
            return who + "getResource " + name + " -> " + rel(l.getResource(name));
        }
        if (op < 65) {
            String name = pick(r, resources);
            Enumeration<URL> e = l.getResources(name);
            List<String> all = new ArrayList<>();
            while (e.hasMoreElements()) {
                all.add(rel(e.nextElement()));
            }
            return who + "getResources " + name + " -> " + all;
        }
        if (op < 72) {
            String name = pick(r, resources);
            try (InputStream in = l.getResourceAsStream(name)) {
                return who + "getResourceAsStream " + name + " -> " + (in == null ? "null" : digest(in.readAllBytes()));
            }
        }
        if (op < 77) {
            return who + "close -> " + invoke(l.getClass().getMethod("close"), l);
        }
        if (op < 82 && l instanceof URLClassLoader) {
            return who + "getURLs -> " + rel(java.util.Arrays.asList(((URLClassLoader) l).getURLs()));
        }
        if (op < 88) {
            Method copy;
            try {
                copy = l.getClass().getMethod("copy");
            } catch (NoSuchMethodException e) {
                return who + "copy -> no such method";
            }
            Object c = invoke(copy, l);
            loaders.add((ClassLoader) c);
            return who + "copy -> L" + (loaders.size() - 1) + " " + simpleName(c);
        }
        if (op < 93) {
            Method add;
            try {
                add = l.getClass().getMethod("addURL", URL.class);
            } catch (NoSuchMethodException e) {
                return who + "addURL -> not public";
            }
            URL u = pick(r, urls);
            return who + "addURL " + rel(u) + " -> " + invoke(add, l, u);
        }
        String name = pick(r, classes);
        Class<?> c = l.loadClass(name);
        Object first = c.getProtectionDomain().getCodeSource() == null ? null : c.getProtectionDomain().getCodeSource().getLocation();
        return who + "loadClass twice " + name + " -> same=" + (c == l.loadClass(name)) + " " + rel(first);
    }

    static Object invoke(Method m, Object target, Object... args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    static Object call(Method m, Object... args) throws Throwable {
        return invoke(m, null, args);
    }

    static String simpleName(Object o) {
        String n = o.getClass().getName();
        return n.substring(n.lastIndexOf('.') + 1);
    }

    static String loaderName(ClassLoader l) {
        if (l == null) {
            return "boot";
        }
        int i = loaders.indexOf(l);
        if (i >= 0) {
            return "L" + i;
        }
        if (l == ClassLoader.getPlatformClassLoader()) {
            return "platform";
        }
        if (l == ClassLoader.getSystemClassLoader()) {
            return "system";
        }
        return simpleName(l) + (l instanceof URLClassLoader ? rel(java.util.Arrays.asList(((URLClassLoader) l).getURLs())) : "");
    }

    static String describe(Class<?> c) {
        java.security.CodeSource cs = c.getProtectionDomain().getCodeSource();
        Package p = c.getPackage();
        String pkg = p == null ? "no package" : p.getName() + " spec=" + p.getSpecificationTitle() + "/" + p.getSpecificationVersion() + "/"
                + p.getSpecificationVendor() + " impl=" + p.getImplementationTitle() + "/" + p.getImplementationVersion() + "/"
                + p.getImplementationVendor() + " sealed=" + p.isSealed();
        return c.getName() + " by " + loaderName(c.getClassLoader()) + " from " + (cs == null ? "null" : rel(cs.getLocation()))
                + " signers=" + (cs == null || cs.getCodeSigners() == null ? "none" : cs.getCodeSigners().length) + " " + pkg;
    }

    static String describe(Throwable t) {
        String s = t.getClass().getName() + ": " + rel(t.getMessage());
        if (t.getCause() != null) {
            s += " caused by " + t.getCause().getClass().getName();
        }
        return s;
    }

    static String digest(byte[] b) {
        return b.length + " bytes, hash " + java.util.Arrays.hashCode(b);
    }

    /** The scratch directory as "$D", identity hashes of loaders in messages as "@HASH". */
    static String rel(Object o) {
        return String.valueOf(o).replace(dir, "$D").replaceAll("@[0-9a-f]{1,8}\\b", "@HASH");
    }
}
