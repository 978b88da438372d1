package org.apache.flink.util;

import dev.tmrt.classload.IndexedJars;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Enumeration;
import java.util.function.Consumer;

/**
 * tmrt's drop-in {@code org.apache.flink.util.FlinkUserCodeClassLoader} for Flink 1.13
 * ({@code runtime=classloading}); the 1.20/2.2 variant differs only where Flink's does (a
 * {@code URLClassLoader}, a private handler field, not parallel-capable). Flink's own class,
 * member for member (the exception handler around {@code loadClass},
 * {@code loadClassWithoutExceptionHandling}), so
 * that Flink's {@code ChildFirstClassLoader}, {@code ParentFirstClassLoader}, their
 * {@code copy()} and Flink's {@code SafetyNetWrapperClassLoader} run unchanged on top of it;
 * only the loader's own lookups ({@code findClass}, {@code findResource},
 * {@code findResources}) go through tmrt's native jar index ({@link IndexedJars}), which gives
 * {@code URLClassLoader}'s answers or, where it cannot, leaves them to the JDK. {@code close()}
 * closes the {@code URLClassLoader} and releases the index; {@code addURL} re-indexes.
 */
public abstract class FlinkUserCodeClassLoader extends URLClassLoader {
    public static final Consumer<Throwable> NOOP_EXCEPTION_HANDLER = classLoadingException -> {};

    private final Consumer<Throwable> classLoadingExceptionHandler;

    /** The native lookup of the own jars; null when the JDK's serves them. */
    private volatile IndexedJars tmrtJars;

    private volatile boolean tmrtClosed;

    protected FlinkUserCodeClassLoader(URL[] urls, ClassLoader parent) {
        this(urls, parent, NOOP_EXCEPTION_HANDLER);
    }

    protected FlinkUserCodeClassLoader(
            URL[] urls, ClassLoader parent, Consumer<Throwable> classLoadingExceptionHandler) {
        super(urls, parent);
        this.classLoadingExceptionHandler = classLoadingExceptionHandler;
        this.tmrtJars = IndexedJars.open(urls);
    }

    @Override
    public final Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        try {
            synchronized (getClassLoadingLock(name)) {
                return loadClassWithoutExceptionHandling(name, resolve);
            }
        } catch (Throwable classLoadingException) {
            classLoadingExceptionHandler.accept(classLoadingException);
            throw classLoadingException;
        }
    }

    protected Class<?> loadClassWithoutExceptionHandling(String name, boolean resolve)
            throws ClassNotFoundException {
        return super.loadClass(name, resolve);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        IndexedJars jars = tmrtJars;
        if (jars != null) {
            long location = jars.findClass(name);
            if (location >= 0) {
                return jars.define(name, location, this, this::defineClass, this::definePackage);
            }
            if (!jars.isClosed()) {
                throw new ClassNotFoundException(name);
            }
        }
        return super.findClass(name);
    }

    @Override
    public URL findResource(String name) {
        IndexedJars jars = tmrtJars;
        return jars == null || jars.isClosed() ? super.findResource(name) : jars.findResource(name);
    }

    @Override
    public Enumeration<URL> findResources(String name) throws IOException {
        IndexedJars jars = tmrtJars;
        return jars == null || jars.isClosed() ? super.findResources(name) : jars.findResources(name);
    }

    @Override
    protected void addURL(URL url) {
        super.addURL(url);
        synchronized (this) {
            if (tmrtClosed) {
                return;
            }
            IndexedJars old = tmrtJars;
            tmrtJars = IndexedJars.open(getURLs());
            if (old != null) {
                old.close();
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            super.close();
        } finally {
            synchronized (this) {
                tmrtClosed = true;
                IndexedJars jars = tmrtJars;
                if (jars != null) {
                    jars.close();
                }
            }
        }
    }
}
