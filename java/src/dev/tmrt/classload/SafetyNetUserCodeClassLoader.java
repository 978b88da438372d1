package dev.tmrt.classload;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Enumeration;

/**
 * Flink's {@code SafetyNetWrapperClassLoader}: the loader handed out when
 * {@code classloader.check-leaked-classloader} is on. It delegates class and resource loading to
 * the real loader and, once closed, throws {@link IllegalStateException} with Flink's message
 * instead, so that code holding on to a job's classloader after the job ends fails loudly. As in
 * Flink, classes are defined by the inner loader (their {@code getClassLoader()}), whose own
 * resolution of references keeps working after close.
 */
final class SafetyNetUserCodeClassLoader extends URLClassLoader {
    static {
        ClassLoader.registerAsParallelCapable();
    }

    static final String CLOSED_MESSAGE =
            "Trying to access closed classloader. Please check if you store classloaders directly or indirectly in"
                    + " static fields. If the stacktrace suggests that the leak occurs in a third party library and"
                    + " cannot be fixed immediately, you can disable this check with the configuration"
                    + " 'classloader.check-leaked-classloader'.";

    private volatile IndexedUserCodeClassLoader inner;

    SafetyNetUserCodeClassLoader(IndexedUserCodeClassLoader inner) {
        super(new URL[0], inner.getParent());
        this.inner = inner;
    }

    private IndexedUserCodeClassLoader ensureInner() {
        IndexedUserCodeClassLoader i = inner;
        if (i == null) {
            throw new IllegalStateException(CLOSED_MESSAGE);
        }
        return i;
    }

    @Override
    public void close() {
        IndexedUserCodeClassLoader i = inner;
        if (i != null) {
            try {
                i.close();
            } catch (IOException e) {
                // Flink logs "Could not close user classloader" and carries on.
            }
        }
        inner = null;
    }

    @Override
    public Class<?> loadClass(String name) throws ClassNotFoundException {
        return ensureInner().loadClass(name);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        return ensureInner().loadClassFromWrapper(name, resolve);
    }

    @Override
    public URL getResource(String name) {
        return ensureInner().getResource(name);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
        return ensureInner().getResources(name);
    }

    @Override
    public URL[] getURLs() {
        return ensureInner().getURLs();
    }
}
