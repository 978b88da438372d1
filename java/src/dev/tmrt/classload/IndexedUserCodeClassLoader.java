package dev.tmrt.classload;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Collections;
import java.util.Enumeration;

/**
 * The part of tmrt's user-code loaders shared by both resolve orders: the loader's own lookups
 * ({@link #findClass}, {@link #findResource}, {@link #findResources}) through the native index
 * ({@link IndexedJars}), with {@code URLClassLoader}'s answers; where the index cannot give
 * them exactly (see {@link IndexedJars}), the JDK's own lookup.
 */
abstract class IndexedUserCodeClassLoader extends URLClassLoader {
    static {
        ClassLoader.registerAsParallelCapable();
    }

    /** Null when the JDK's own lookup serves this loader's URLs. */
    private final IndexedJars jars;
    private volatile boolean closed;

    IndexedUserCodeClassLoader(URL[] urls, ClassLoader parent) {
        super(urls, parent);
        this.jars = IndexedJars.open(urls);
    }

    /** Whether the native index serves this loader (for tests). */
    final boolean nativeIndexed() {
        return jars != null;
    }

    /** Whether the index was reused from an earlier loader over the same unchanged jars (for tests). */
    final boolean reusedIndex() {
        return jars != null && jars.reusedIndex();
    }

    /** The own-jar lookup of a class: its location, or a negative value; negative when JDK-served. */
    final long findOwnClass(String name) {
        IndexedJars j = jars;
        return j == null ? NativeJarIndex.NOT_FOUND : j.findClass(name);
    }

    /** {@code loadClass(name, resolve)} for {@link SafetyNetUserCodeClassLoader} (same package). */
    final Class<?> loadClassFromWrapper(String name, boolean resolve) throws ClassNotFoundException {
        return loadClass(name, resolve);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        if (jars == null || closed) {
            return super.findClass(name);
        }
        long location = jars.findClass(name);
        if (location < 0) {
            throw new ClassNotFoundException(name);
        }
        return defineOwnClass(name, location);
    }

    /** Defines the class at {@code location} as {@code URLClassLoader.defineClass(String, Resource)} does. */
    final Class<?> defineOwnClass(String name, long location) throws ClassNotFoundException {
        return jars.define(name, location, this, this::defineClass, this::definePackage);
    }

    @Override
    public URL findResource(String name) {
        if (jars == null) {
            return closed ? null : super.findResource(name);
        }
        return jars.findResource(name);
    }

    @Override
    public Enumeration<URL> findResources(String name) throws IOException {
        if (jars == null) {
            return closed ? Collections.emptyEnumeration() : super.findResources(name);
        }
        return jars.findResources(name);
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
            if (jars != null) {
                jars.close();
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
}
