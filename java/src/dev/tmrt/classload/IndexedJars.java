package dev.tmrt.classload;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.security.CodeSource;
import java.security.cert.Certificate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.StringTokenizer;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/**
 * A classloader's own jars behind tmrt's native index: what {@code URLClassLoader}'s
 * {@code URLClassPath} does for {@code findClass}, {@code findResource} and
 * {@code findResources}, with one native lookup per name instead of one probe per jar.
 *
 * <p>The search path is {@code URLClassPath}'s: each jar followed by the jars its manifest's
 * {@code Class-Path} names (resolved against the jar's URL, recursively), a URL already on the
 * path skipped by its {@code URLUtil.urlNoFragString} form. Classes are defined as
 * {@code URLClassLoader.defineClass(String, Resource)} does (package from the jar's manifest,
 * sealing checks, a {@code CodeSource} of the jar's URL); resource URLs are
 * {@code URLClassPath.JarLoader}'s. Whenever the JDK would do something this class does not
 * reproduce, {@link #open} returns null and the loader keeps the JDK's own lookup, so the
 * answers stay the JDK's: a URL that is not a local jar file (directories, remote, missing
 * files), a signed jar (the JDK verifies it and reports signers), a jar with
 * {@code META-INF/INDEX.LIST}, a manifest the JDK could not parse, a jar the native index
 * refuses, or no native library.
 *
 * <p>Used by tmrt's own loaders ({@link UserCodeClassLoaders}) and by the drop-in replacement
 * of Flink's {@code FlinkUserCodeClassLoader} ({@code runtime=classloading}). Thread-safe.
 */
public final class IndexedJars {
    /** {@code SecureClassLoader.defineClass(String, byte[], int, int, CodeSource)} of the loader. */
    @FunctionalInterface
    public interface ClassDefiner {
        Class<?> define(String name, byte[] b, int off, int len, CodeSource cs);
    }

    /** {@code ClassLoader.definePackage(String, String × 6, URL)} of the loader. */
    @FunctionalInterface
    public interface PackageDefiner {
        Package define(String name, String specTitle, String specVersion, String specVendor,
                String implTitle, String implVersion, String implVendor, URL sealBase);
    }

    private static final Object NO_MANIFEST = new Object();
    /** Releases the native index of a lookup that is never closed, once it is unreachable. */
    private static final Cleaner CLEANER = Cleaner.create();

    private final long handle;
    /** The search path: given jars and those their Class-Path attributes add, in order. */
    private final URL[] jarUrls;
    private final String[] baseFiles;
    private final URL[] baseUrls;
    private final CodeSource[] codeSources;
    private final boolean[] multiRelease;
    private final AtomicReferenceArray<Object> manifests;
    private final Cleaner.Cleanable releaser;
    private volatile boolean closed;

    private IndexedJars(long handle, URL[] jarUrls, int[] flags) throws MalformedURLException {
        this.handle = handle;
        this.releaser = CLEANER.register(this, () -> NativeJarIndex.close(handle));
        int n = jarUrls.length;
        this.jarUrls = jarUrls;
        this.baseUrls = new URL[n];
        this.baseFiles = new String[n];
        this.codeSources = new CodeSource[n];
        this.multiRelease = new boolean[n];
        this.manifests = new AtomicReferenceArray<>(n);
        for (int i = 0; i < n; i++) {
            // URLClassPath.JarLoader: new URL("jar", "", -1, url + "!/").
            baseUrls[i] = new URL("jar", "", -1, jarUrls[i] + "!/");
            baseFiles[i] = baseUrls[i].getFile();
            codeSources[i] = new CodeSource(jarUrls[i], (Certificate[]) null);
            multiRelease[i] = (flags[i] & NativeJarIndex.MULTI_RELEASE) != 0;
        }
    }

    /**
     * The native lookup for {@code urls}, or null when the JDK's own lookup must serve them
     * (see the class comment).
     */
    public static IndexedJars open(URL[] urls) {
        try {
            return openOrNull(urls);
        } catch (LinkageError | RuntimeException | IOException e) {
            // No native library, a jar the index refuses, a bad URL: the JDK's lookup serves.
            return null;
        }
    }

    private static IndexedJars openOrNull(URL[] urls) throws IOException {
        if (urls == null || urls.length == 0) {
            return null;
        }
        // URLClassPath.getLoader(int): a stack of unopened URLs; a jar's Class-Path URLs are
        // pushed in front of the rest; a URL already opened is skipped.
        ArrayDeque<URL> unopened = new ArrayDeque<>(urls.length);
        for (URL u : urls) {
            if (u == null) {
                return null;
            }
            unopened.add(u);
        }
        Set<String> seen = new HashSet<>();
        List<URL> path = new ArrayList<>(urls.length);
        List<String> files = new ArrayList<>(urls.length);
        List<Integer> flags = new ArrayList<>(urls.length);
        while (!unopened.isEmpty()) {
            URL url = unopened.pollFirst();
            if (!seen.add(urlNoFragString(url))) {
                continue;
            }
            String file = localJar(url);
            if (file == null) {
                return null;
            }
            if (file == MISSING) {
                continue; // URLClassPath skips a jar it cannot open (FileNotFoundException)
            }
            int f = NativeJarIndex.probe(file);
            if (f < 0 || (f & (NativeJarIndex.SIGNED | NativeJarIndex.INDEX_LIST)) != 0) {
                return null;
            }
            path.add(url);
            files.add(file);
            flags.add(f);
            if ((f & NativeJarIndex.CLASS_PATH) != 0) {
                URL[] more = classPath(url, NativeJarIndex.manifestOf(file));
                if (more == null) {
                    return null;
                }
                for (int i = more.length - 1; i >= 0; i--) {
                    unopened.addFirst(more[i]);
                }
            }
        }
        long h = NativeJarIndex.open(files.toArray(new String[0]), Runtime.version().feature());
        int[] fl = new int[flags.size()];
        for (int i = 0; i < fl.length; i++) {
            fl[i] = flags.get(i);
        }
        try {
            return new IndexedJars(h, path.toArray(new URL[0]), fl);
        } catch (MalformedURLException e) {
            NativeJarIndex.close(h);
            return null;
        }
    }

    /** {@code sun.net.util.URLUtil.urlNoFragString}: how URLClassPath keys the jars it opened. */
    static String urlNoFragString(URL url) {
        StringBuilder s = new StringBuilder();
        String protocol = url.getProtocol();
        if (protocol != null) {
            s.append(protocol.toLowerCase()).append("://");
        }
        String host = url.getHost();
        if (host != null) {
            s.append(host.toLowerCase());
            int port = url.getPort();
            if (port == -1) {
                port = url.getDefaultPort();
            }
            if (port != -1) {
                s.append(':').append(port);
            }
        }
        String file = url.getFile();
        if (file != null) {
            s.append(file);
        }
        return s.toString();
    }

    /** {@link #localJar}'s answer for a file that does not exist or is not a regular file. */
    private static final String MISSING = new String("(missing)");

    /**
     * The absolute path of a {@code file:} URL of a jar; {@link #MISSING} when no regular file
     * is there; null for anything the JDK would open another way (directories, other protocols).
     */
    private static String localJar(URL u) {
        if (!"file".equalsIgnoreCase(u.getProtocol()) || u.getRef() != null || u.getQuery() != null
                || (u.getHost() != null && !u.getHost().isEmpty()) || u.getFile().endsWith("/")) {
            return null;
        }
        File f;
        try {
            f = new File(u.toURI());
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
        return f.isFile() ? f.getAbsolutePath() : MISSING;
    }

    /**
     * {@code URLClassPath.JarLoader.getClassPath}: the URLs of the manifest's main
     * {@code Class-Path} attribute resolved against the jar's URL ({@code tryResolveFile}:
     * entries with a ':' that resolve to another protocol are dropped); null when the manifest
     * cannot be parsed (the JDK would then fail on this jar in ways not reproduced here).
     */
    private static URL[] classPath(URL base, byte[] manifest) {
        if (manifest == null) {
            return new URL[0];
        }
        Manifest man;
        try {
            man = new Manifest(new ByteArrayInputStream(manifest));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        String value = man.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
        if (value == null) {
            return new URL[0];
        }
        List<URL> out = new ArrayList<>();
        StringTokenizer st = new StringTokenizer(value);
        while (st.hasMoreTokens()) {
            String path = st.nextToken();
            URL url;
            try {
                url = new URL(base, path);
            } catch (MalformedURLException e) {
                return null;
            }
            if (path.indexOf(':') >= 0 && !"file".equalsIgnoreCase(url.getProtocol())) {
                continue;
            }
            out.add(url);
        }
        return out.toArray(new URL[0]);
    }

    /** The location of class {@code name} in the search path, or a negative value. */
    public long findClass(String name) {
        if (closed) {
            return NativeJarIndex.NOT_FOUND;
        }
        try {
            return NativeJarIndex.findClass(handle, name);
        } catch (IllegalStateException e) {
            if (closed) {
                return NativeJarIndex.NOT_FOUND; // closed on another thread
            }
            throw e;
        }
    }

    /**
     * Defines the class at {@code location} as {@code URLClassLoader.defineClass(String,
     * Resource)} does: the package first (from the jar's manifest, with sealing checks), then
     * the class with the jar's {@code CodeSource}.
     *
     * @throws ClassNotFoundException when the entry cannot be read (as the JDK's IOException)
     */
    public Class<?> define(String name, long location, ClassLoader loader, ClassDefiner classes, PackageDefiner packages)
            throws ClassNotFoundException {
        int jar = NativeJarIndex.jarOf(location);
        int dot = name.lastIndexOf('.');
        if (dot != -1) {
            String pkg = name.substring(0, dot);
            Manifest man = manifest(jar);
            URL url = jarUrls[jar];
            if (getAndVerifyPackage(loader, pkg, man, url) == null) {
                try {
                    definePackage(packages, pkg, man, url);
                } catch (IllegalArgumentException iae) {
                    // Parallel definition of the same package: re-verify.
                    if (getAndVerifyPackage(loader, pkg, man, url) == null) {
                        throw new AssertionError("Cannot find package " + pkg);
                    }
                }
            }
        }
        byte[] bytes;
        try {
            bytes = NativeJarIndex.read(handle, location);
        } catch (IOException | IllegalStateException e) {
            throw new ClassNotFoundException(name, e);
        }
        return classes.define(name, bytes, 0, bytes.length, codeSources[jar]);
    }

    private static Package getAndVerifyPackage(ClassLoader loader, String pkg, Manifest man, URL url) {
        Package p = loader.getDefinedPackage(pkg);
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

    /** {@code URLClassLoader.definePackage(String, Manifest, URL)}, or the plain one without a manifest. */
    private static void definePackage(PackageDefiner packages, String name, Manifest man, URL url) {
        if (man == null) {
            packages.define(name, null, null, null, null, null, null, null);
            return;
        }
        String[] v = new String[7];
        Attributes.Name[] keys = {
            Attributes.Name.SPECIFICATION_TITLE, Attributes.Name.SPECIFICATION_VERSION, Attributes.Name.SPECIFICATION_VENDOR,
            Attributes.Name.IMPLEMENTATION_TITLE, Attributes.Name.IMPLEMENTATION_VERSION, Attributes.Name.IMPLEMENTATION_VENDOR,
            Attributes.Name.SEALED
        };
        Attributes attr = man.getAttributes(name.replace('.', '/').concat("/"));
        if (attr != null) {
            for (int i = 0; i < keys.length; i++) {
                v[i] = attr.getValue(keys[i]);
            }
        }
        attr = man.getMainAttributes();
        if (attr != null) {
            for (int i = 0; i < keys.length; i++) {
                if (v[i] == null) {
                    v[i] = attr.getValue(keys[i]);
                }
            }
        }
        URL sealBase = "true".equalsIgnoreCase(v[6]) ? url : null;
        packages.define(name, v[0], v[1], v[2], v[3], v[4], v[5], sealBase);
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
                } catch (IOException | IllegalStateException e) {
                    parsed = NO_MANIFEST;
                }
            }
            manifests.compareAndSet(jar, null, parsed);
            m = manifests.get(jar);
        }
        return m == NO_MANIFEST ? null : (Manifest) m;
    }

    /** {@code URLClassLoader.findResource}: the first jar's URL for {@code name}, or null. */
    public URL findResource(String name) {
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

    /** {@code URLClassLoader.findResources}: every jar's URL for {@code name}, in search order. */
    public Enumeration<URL> findResources(String name) {
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
        String entry = ResourceNames.encodePath(multiRelease[jar] ? NativeJarIndex.entryName(handle, location) : name);
        try {
            if (ResourceNames.isPlainRelativePath(entry)) {
                // What parsing `entry` against the base yields, without the parse: the base file
                // ("file:/x.jar!/") followed by the path, no query, no fragment.
                return new URL("jar", "", -1, baseFiles[jar] + entry);
            }
            return new URL(baseUrls[jar], entry);
        } catch (MalformedURLException e) {
            return null;
        }
    }

    /** Whether the native index was reused from an earlier loader over the same unchanged jars. */
    public boolean reusedIndex() {
        return !closed && NativeJarIndex.wasReused(handle);
    }

    /** Whether {@link #close} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Releases the native index; lookups afterwards find nothing. Idempotent. */
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        releaser.clean();
    }
}
