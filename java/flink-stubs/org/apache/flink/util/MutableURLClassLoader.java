package org.apache.flink.util;

import java.net.URL;
import java.net.URLClassLoader;

/** Stub of Flink 1.20.3 / 2.2.0's {@code MutableURLClassLoader} (absent in 1.13). Never packaged. */
public abstract class MutableURLClassLoader extends URLClassLoader {
    public MutableURLClassLoader(URL[] urls, ClassLoader parent) {
        super(urls, parent);
    }

    @Override
    public void addURL(URL url) {
        throw new UnsupportedOperationException("stub");
    }

    public abstract MutableURLClassLoader copy();
}
