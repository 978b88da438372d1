package dev.tmrt;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads {@code libtmrt.so}, the native side of the tmrt Java library, once per JVM.
 *
 * <p>Where it looks, in order: the library already in the process (loaded as a JVMTI agent with
 * {@code -agentpath}, or by an earlier call), the path in the system property
 * {@code tmrt.library}, then {@code java.library.path} ({@code System.loadLibrary("tmrt")}).
 * When none works, {@link #load()} throws an {@link UnsatisfiedLinkError} that names every place
 * it looked and why each failed.
 */
public final class NativeLibrary {
    /** System property naming the library file, e.g. {@code -Dtmrt.library=/opt/tmrt/libtmrt.so}. */
    public static final String LIBRARY_PROPERTY = "tmrt.library";

    private static final Object LOCK = new Object();
    private static volatile String version;

    private NativeLibrary() {}

    /**
     * Makes sure the native library is loaded and returns its version.
     *
     * @throws UnsatisfiedLinkError naming where it looked, when the library cannot be found
     */
    public static String load() {
        String v = version;
        if (v != null) {
            return v;
        }
        synchronized (LOCK) {
            if (version != null) {
                return version;
            }
            List<String> tried = new ArrayList<>();
            v = probe(tried, "already loaded (agent or earlier load)");
            if (v == null) {
                String path = System.getProperty(LIBRARY_PROPERTY);
                if (path != null && !path.isEmpty()) {
                    File f = new File(path);
                    try {
                        System.load(f.getAbsolutePath());
                        v = probe(tried, "-D" + LIBRARY_PROPERTY + "=" + path);
                    } catch (UnsatisfiedLinkError e) {
                        tried.add("-D" + LIBRARY_PROPERTY + "=" + path + ": " + e.getMessage());
                    }
                } else {
                    tried.add("-D" + LIBRARY_PROPERTY + ": not set");
                }
            }
            if (v == null) {
                String where = "java.library.path=" + System.getProperty("java.library.path");
                try {
                    System.loadLibrary("tmrt");
                    v = probe(tried, where);
                } catch (UnsatisfiedLinkError e) {
                    tried.add(where + ": " + e.getMessage());
                }
            }
            if (v == null) {
                throw new UnsatisfiedLinkError(
                        "tmrt native library (libtmrt.so) not found; looked in: "
                                + String.join("; ", tried)
                                + ". Pass -D" + LIBRARY_PROPERTY
                                + "=/path/to/libtmrt.so (after cargo build --release: target/release/libtmrt.so)");
            }
            version = v;
            return v;
        }
    }

    /** Whether the native library is loaded, without trying to load it. */
    public static boolean isLoaded() {
        return version != null || probe(new ArrayList<>(), "probe") != null;
    }

    private static String probe(List<String> tried, String where) {
        try {
            return nativeVersion();
        } catch (UnsatisfiedLinkError e) {
            tried.add(where + ": not found");
            return null;
        }
    }

    private static native String nativeVersion();
}
