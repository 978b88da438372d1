package dev.tmrt.classload;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.security.CodeSource;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/**
 * The part of tmrt's user-code loaders shared by both resolve orders: the loader's own lookups
 * ({@link #findClass}, {@link #findResource}, {@link #findResources}) through the native index,
 * class definition exactly as {@code URLClassLoader} does it (same {@code CodeSource} location,
 * package definition from the jar manifest, sealing checks), resource URLs built exactly as
 * {@code URLClassLoader} builds them.
 */
abstract class IndexedUserCodeClassLoader extends URLClassLoader {
    static {
        ClassLoader.registerAsParallelCapable();
    }

    private static final Object NO_MANIFEST = new Object();

    /** Releases the native index of a loader that is never closed, once it is unreachable. */
    private static final Cleaner CLEANER = Cleaner.create();

    private final String[] alwaysParentFirstPatterns;
    /** Native handle, or 0 when the JDK's own lookup serves this loader's URLs. */
    private final long handle;
    private final URL[] jarUrls;
    private final URL[] baseUrls;
    private final String[] baseFiles;
    private final CodeSource[] codeSources;
    private final boolean[] multiRelease;
    private final AtomicReferenceArray<Object> manifests;
    private final Cleaner.Cleanable releaser;
    private volatile boolean closed;

    IndexedUserCodeClassLoader(
            URL[] urls, ClassLoader parent, String[] alwaysParentFirstPatterns) {
        super(urls, parent);
        this.alwaysParentFirstPatterns = alwaysParentFirstPatterns;
        this.jarUrls = urls.clone();
        String[] paths = localJarPaths(jarUrls);
        if (paths == null) {
            this.handle = 0;
            this.baseUrls = null;
            this.baseFiles = null;
            this.codeSources = null;
            this.multiRelease = null;
            this.manifests = null;
            this.releaser = null;
            return;
        }
        long h = NativeJarIndex.open(paths, Runtime.version().feature(), alwaysParentFirstPatterns);
        this.handle = h;
        // The action captures the handle only, never the loader.
        this.releaser = CLEANER.register(this, () -> NativeJarIndex.close(h));
        int n = jarUrls.length;
        this.baseUrls = new URL[n];
        this.baseFiles = new String[n];
        this.codeSources = new CodeSource[n];
        this.multiRelease = new boolean[n];
        this.manifests = new AtomicReferenceArray<>(n);
        try {
            for (int i = 0; i < n; i++) {
                // URLClassPath.JarLoader: new URL("jar", "", -1, url + "!/").
                baseUrls[i] = new URL("jar", "", -1, jarUrls[i] + "!/");
                baseFiles[i] = baseUrls[i].getFile();
                codeSources[i] = new CodeSource(jarUrls[i], (Certificate[]) null);
                multiRelease[i] = NativeJarIndex.isMultiRelease(handle, i);
            }
        } catch (MalformedURLException e) {
            releaser.clean();
            throw new IllegalArgumentException("tmrt: bad jar URL: " + e.getMessage(), e);
        }
    }

    /** Absolute paths of the URLs when every one names an existing local file, else null. */
    private static String[] localJarPaths(URL[] urls) {
        String[] paths = new String[urls.length];
        for (int i = 0; i < urls.length; i++) {
            URL u = urls[i];
            if (u == null || !"file".equalsIgnoreCase(u.getProtocol()) || u.getRef() != null || u.getQuery() != null) {
                return null;
            }
            File f;
            try {
                f = new File(u.toURI());
            } catch (URISyntaxException | IllegalArgumentException e) {
                return null;
            }
            if (!f.isFile()) {
                return null;
            }
            paths[i] = f.getAbsolutePath();
        }
        return paths;
    }

    /** One native call: the pattern decision (if asked) and the own-jar lookup of the class. */
    final long findOwnClass(String name, boolean checkPatterns) {
        if (handle == 0 || closed) {
            return checkPatterns && matchesPattern(name) ? NativeJarIndex.PARENT_FIRST : NativeJarIndex.NOT_FOUND;
        }
        try {
            return NativeJarIndex.findClass(handle, name, checkPatterns);
        } catch (IllegalStateException e) {
            // close() on another thread released the index between the check and the call.
            if (closed) {
                return checkPatterns && matchesPattern(name) ? NativeJarIndex.PARENT_FIRST : NativeJarIndex.NOT_FOUND;
            }
            throw e;
        }
    }

    /** Pattern decision without the index (JDK-lookup mode, or closed): Flink's own loop. */
    private boolean matchesPattern(String name) {
        for (String s : alwaysParentFirstPatterns) {
            if (name.startsWith(s)) {
                return true;
            }
        }
        return false;
    }

    /** {@code loadClass(name, resolve)} for {@link SafetyNetUserCodeClassLoader} (same package). */
    final Class<?> loadClassFromWrapper(String name, boolean resolve) throws ClassNotFoundException {
        return loadClass(name, resolve);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        if (handle == 0) {
            if (closed) {
                throw new ClassNotFoundException(name);
            }
            return findClassWithJdk(name);
        }
        long location = findOwnClass(name, false);
        if (location < 0) {
            throw new ClassNotFoundException(name);
        }
        return defineOwnClass(name, location);
    }

    private Class<?> findClassWithJdk(String name) throws ClassNotFoundException {
        return super.findClass(name);
    }

    /** Defines the class at {@code location} as {@code URLClassLoader.defineClass(String, Resource)} does. */
    final Class<?> defineOwnClass(String name, long location) throws ClassNotFoundException {
        if (handle == 0) {
            return findClassWithJdk(name);
        }
        int jar = NativeJarIndex.jarOf(location);
        byte[] bytes;
        try {
            bytes = NativeJarIndex.read(handle, location);
        } catch (IOException | IllegalStateException e) {
            // URLClassLoader.findClass turns a read failure into ClassNotFoundException too.
            throw new ClassNotFoundException(name, e);
        }
        int dot = name.lastIndexOf('.');
        if (dot != -1) {
            String pkg = name.substring(0, dot);
            Manifest man = manifest(jar);
            URL url = jarUrls[jar];
            if (getAndVerifyPackage(pkg, man, url) == null) {
                try {
                    if (man != null) {
                        definePackage(pkg, man, url);
                    } else {
                        definePackage(pkg, null, null, null, null, null, null, null);
                    }
                } catch (IllegalArgumentException iae) {
                    // Parallel definition of the same package: re-verify.
                    if (getAndVerifyPackage(pkg, man, url) == null) {
                        throw new AssertionError("Cannot find package " + pkg);
                    }
                }
            }
        }
        return defineClass(name, bytes, 0, bytes.length, codeSources[jar]);
    }

    private Package getAndVerifyPackage(String pkg, Manifest man, URL url) {
        Package p = getDefinedPackage(pkg);
        if (p != null) {
            if (p.isSealed()) {
                if (!p.isSealed(url)) {
                    throw new SecurityException("sealing violation: package " + pkg + " is sealed");
                }
            } else if (man != null && isSealed(pkg, man)) {
                throw new SecurityException("sealing violation: can't seal package " + pkg + ": already loaded");
            }
        }
        return p;
    }

    private static boolean isSealed(String pkg, Manifest man) {
        String sealed = null;
        Attributes attr = man.getAttributes(pkg.replace('.', '/').concat("/"));
        if (attr != null) {
            sealed = attr.getValue(Attributes.Name.SEALED);
        }
        if (sealed == null) {
            attr = man.getMainAttributes();
            if (attr != null) {
                sealed = attr.getValue(Attributes.Name.SEALED);
            }
        }
        return "true".equalsIgnoreCase(sealed);
    }

    /** The jar's manifest, parsed once (JDK {@code JarFile.getManifest}), or null. */
    private Manifest manifest(int jar) {
        Object m = manifests.get(jar);
        if (m == null) {
            long loc = NativeJarIndex.manifest(handle, jar);
            Object parsed = NO_MANIFEST;
            if (loc >= 0) {
                try {
                    parsed = new Manifest(new ByteArrayInputStream(NativeJarIndex.read(handle, loc)));
                } catch (IOException e) {
                    parsed = NO_MANIFEST;
                }
            }
            manifests.compareAndSet(jar, null, parsed);
            m = manifests.get(jar);
        }
        return m == NO_MANIFEST ? null : (Manifest) m;
    }

    @Override
    public URL findResource(String name) {
        if (handle == 0) {
            return closed ? null : super.findResource(name);
        }
        if (closed || name == null) {
            return null;
        }
        try {
            long location = NativeJarIndex.find(handle, name);
            return location < 0 ? null : resourceUrl(name, location);
        } catch (IllegalStateException e) {
            if (closed) {
                return null; // closed concurrently
            }
            throw e;
        }
    }

    @Override
    public Enumeration<URL> findResources(String name) throws IOException {
        if (handle == 0) {
            return closed ? Collections.emptyEnumeration() : super.findResources(name);
        }
        if (closed || name == null) {
            return Collections.emptyEnumeration();
        }
        try {
            long[] locations = NativeJarIndex.findAll(handle, name);
            List<URL> urls = new ArrayList<>(locations.length);
            for (long l : locations) {
                URL u = resourceUrl(name, l);
                if (u != null) {
                    urls.add(u);
                }
            }
            return Collections.enumeration(urls);
        } catch (IllegalStateException e) {
            if (closed) {
                return Collections.emptyEnumeration(); // closed concurrently
            }
            throw e;
        }
    }

    /** {@code URLClassPath.JarLoader.checkResource}: base URL + encoded name (real entry name in multi-release jars). */
    private URL resourceUrl(String name, long location) {
        int jar = NativeJarIndex.jarOf(location);
        String entry = encodePath(multiRelease[jar] ? NativeJarIndex.entryName(handle, location) : name);
        try {
            if (isPlainRelativePath(entry)) {
                // What parsing `entry` against the base yields, without the parse: the base file
                // ("file:/x.jar!/") followed by the path, no query, no fragment.
                return new URL("jar", "", -1, baseFiles[jar] + entry);
            }
            return new URL(baseUrls[jar], entry);
        } catch (MalformedURLException e) {
            return null;
        }
    }

    /**
     * Whether resolving {@code path} against a jar base URL just appends it: no leading '/', no
     * query ('?'; '#' is already escaped) and no "." or ".." segment for the parser to fold.
     */
    static boolean isPlainRelativePath(String path) {
        int n = path.length();
        if (n == 0 || path.charAt(0) == '/') {
            return false;
        }
        int segmentStart = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? path.charAt(i) : '/';
            if (c == '?') {
                return false;
            }
            if (c == '/') {
                int len = i - segmentStart;
                if ((len == 1 && path.charAt(segmentStart) == '.')
                        || (len == 2 && path.charAt(segmentStart) == '.' && path.charAt(segmentStart + 1) == '.')) {
                    return false;
                }
                segmentStart = i + 1;
            }
        }
        return true;
    }

    /**
     * Closes the loader: the native index is released, the JDK's own jar handles closed, and
     * tmrt's telemetry (when present) told that the loader is released. Afterwards the loader
     * still returns the classes it defined and delegates to its parent, but finds nothing of its
     * own, like a closed {@code URLClassLoader}; the "Trying to access closed classloader." check
     * is {@link SafetyNetUserCodeClassLoader}'s.
     */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            super.close();
        } finally {
            if (releaser != null) {
                releaser.clean();
            }
            markReleased(this);
        }
    }

    /**
     * Tells {@code dev.tmrt.telemetry.Telemetry} (the agent's Java side, when on the classpath)
     * that this loader was released, reflectively so that this library does not depend on it.
     */
    private static void markReleased(ClassLoader loader) {
        Class<?> telemetry;
        try {
            telemetry = Class.forName("dev.tmrt.telemetry.Telemetry", true, IndexedUserCodeClassLoader.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return;
        }
        try {
            Method m = telemetry.getMethod("markReleased", ClassLoader.class);
            m.invoke(null, loader);
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException | LinkageError e) {
            // Telemetry is best effort: closing a loader must not fail because of it.
        }
    }

    /** {@code sun.net.www.ParseUtil.encodePath(path, false)}, which {@code URLClassPath} applies to entry names. */
    static String encodePath(String path) {
        int n = path.length();
        int first = -1;
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c >= 'a' && c <= 'z' || c >= '&' && c <= ':' || c >= 'A' && c <= 'Z') {
                continue;
            }
            if (c > 0x7F || mustEncode(c)) {
                first = i;
                break;
            }
        }
        if (first < 0) {
            return path;
        }
        StringBuilder sb = new StringBuilder(n + 16);
        sb.append(path, 0, first);
        for (int i = first; i < n; i++) {
            char c = path.charAt(i);
            if (c == '/') {
                sb.append('/');
            } else if (c <= 0x7F) {
                if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || !mustEncode(c)) {
                    sb.append(c);
                } else {
                    escape(sb, c);
                }
            } else if (c > 0x7FF) {
                escape(sb, (char) (0xE0 | ((c >> 12) & 0x0F)));
                escape(sb, (char) (0x80 | ((c >> 6) & 0x3F)));
                escape(sb, (char) (0x80 | (c & 0x3F)));
            } else {
                escape(sb, (char) (0xC0 | ((c >> 6) & 0x1F)));
                escape(sb, (char) (0x80 | (c & 0x3F)));
            }
        }
        return sb.toString();
    }

    /** ASCII characters ParseUtil escapes besides controls and DEL (its L_ENCODED/H_ENCODED masks). */
    private static final String ENCODED_ASCII = " \"#%;<=>?[\\]^`{|}";

    private static boolean mustEncode(char c) {
        return c < 0x20 || c == 0x7F || ENCODED_ASCII.indexOf(c) >= 0;
    }

    private static void escape(StringBuilder sb, char c) {
        sb.append('%').append(Character.forDigit((c >> 4) & 0xF, 16)).append(Character.forDigit(c & 0xF, 16));
    }

}
