package dev.tmrt.classload;

import java.io.IOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

/** Flink's {@code ChildFirstClassLoader} semantics over the native index. */
final class ChildFirstUserCodeClassLoader extends IndexedUserCodeClassLoader {
    static {
        ClassLoader.registerAsParallelCapable();
    }

    private final String[] alwaysParentFirstPatterns;

    ChildFirstUserCodeClassLoader(
            URL[] urls, ClassLoader parent, String[] alwaysParentFirstPatterns) {
        super(urls, parent);
        this.alwaysParentFirstPatterns = alwaysParentFirstPatterns;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                for (String pattern : alwaysParentFirstPatterns) {
                    if (name.startsWith(pattern)) {
                        // Standard delegation: parent, then the own jars.
                        return super.loadClass(name, resolve);
                    }
                }
                long location = findOwnClass(name);
                if (location >= 0) {
                    c = defineOwnClass(name, location);
                } else if (!nativeIndexed()) {
                    try {
                        c = findClass(name);
                    } catch (ClassNotFoundException e) {
                        return super.loadClass(name, resolve);
                    }
                } else {
                    // Not in the own jars: Flink falls back to standard delegation, whose own-jar
                    // step would miss again; ask the parent directly.
                    ClassLoader parent = getParent();
                    if (parent == null) {
                        return super.loadClass(name, resolve);
                    }
                    c = parent.loadClass(name);
                }
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    @Override
    public URL getResource(String name) {
        URL url = findResource(name);
        if (url != null) {
            return url;
        }
        return super.getResource(name);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
        List<URL> result = new ArrayList<>();
        Enumeration<URL> own = findResources(name);
        while (own.hasMoreElements()) {
            result.add(own.nextElement());
        }
        Enumeration<URL> fromParent = getParent().getResources(name);
        while (fromParent.hasMoreElements()) {
            result.add(fromParent.nextElement());
        }
        return Collections.enumeration(result);
    }
}
