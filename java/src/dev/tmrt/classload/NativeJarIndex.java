package dev.tmrt.classload;

import dev.tmrt.NativeLibrary;
import java.io.IOException;

/**
 * The native jar index ({@code runtime::classload::JarIndex}) behind an opaque handle: every
 * class and resource name of an ordered list of jars mapped to the jars that hold it, plus the
 * compiled always-parent-first patterns. A lookup is one native call however many jars there are.
 *
 * <p>Locations are packed {@code long}s (jar position in the high half, entry in the low half);
 * negative values are the answers below. A closed or unknown handle is an
 * {@link IllegalStateException}, never a crash.
 */
final class NativeJarIndex {
    /** {@link #findClass} answer: the name starts with an always-parent-first pattern. */
    static final long PARENT_FIRST = -2;
    /** Lookup answer: no jar of the index holds the name. */
    static final long NOT_FOUND = -1;

    static {
        NativeLibrary.load();
    }

    private NativeJarIndex() {}

    static int jarOf(long location) {
        return (int) (location >>> 32);
    }

    /** Opens and indexes {@code jars} (absolute paths, classpath order) for JDK {@code release}. */
    static native long open(String[] jars, int release, String[] alwaysParentFirstPatterns);

    static native void close(long handle);

    /** Pattern decision (when {@code checkPatterns}) and lookup of {@code a/b/C.class}, in one call. */
    static native long findClass(long handle, String binaryName, boolean checkPatterns);

    static native long find(long handle, String resourceName);

    static native long[] findAll(long handle, String resourceName);

    /** The entry's bytes; an {@link IOException} (naming the jar) when it cannot be read or inflated. */
    static native byte[] read(long handle, long location) throws IOException;

    static native String entryName(long handle, long location);

    static native long manifest(long handle, int jar);

    static native boolean isMultiRelease(long handle, int jar);
}
