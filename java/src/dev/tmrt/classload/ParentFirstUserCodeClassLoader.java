package dev.tmrt.classload;

import java.net.URL;

/**
 * Flink's {@code ParentFirstClassLoader}: standard {@code URLClassLoader} delegation (parent,
 * then the own jars); only the own-jar lookups differ, going through the native index.
 */
final class ParentFirstUserCodeClassLoader extends IndexedUserCodeClassLoader {
    static {
        ClassLoader.registerAsParallelCapable();
    }

    ParentFirstUserCodeClassLoader(URL[] urls, ClassLoader parent) {
        super(urls, parent);
    }
}
