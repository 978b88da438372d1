package dev.tmrt.classload;

import dev.tmrt.NativeLibrary;
import java.io.IOException;

/**
 * The native jar index ({@code runtime::classload::JarIndex}) behind an opaque handle: every
 * class and resource name of an ordered list of jars mapped to the jars that hold it. A lookup
 * is one native call however many jars there are. Indexes come from a process-wide cache: a
 * second index over the same unchanged jars (same path, size and modification time) is the
 * first one's.
 *
 * <p>Locations are packed {@code long}s (jar position in the high half, entry in the low half);
 * {@link #NOT_FOUND} when no jar holds a name. A closed or unknown handle is an
 * {@link IllegalStateException}, never a crash.
 */
final class NativeJarIndex {
    /** Lookup answer: no jar of the index holds the name. */
    static final long NOT_FOUND = -1;

    /** {@link #probe} flags, as {@code runtime::classload::jar::flags}. */
    static final int MULTI_RELEASE = 1;
    static final int CLASS_PATH = 2;
    static final int SIGNED = 4;
    static final int INDEX_LIST = 8;

    static {
        NativeLibrary.load();
    }

    private NativeJarIndex() {}

    static int jarOf(long location) {
        return (int) (location >>> 32);
    }

    /** The jar's flags, or -1 when it cannot be indexed. */
    static native int probe(String jar);

    /** The jar's manifest bytes, or null when it has none. */
    static native byte[] manifestOf(String jar) throws IOException;

    /** Opens (or reuses) an index of {@code jars} (absolute paths, search order) for JDK {@code release}. */
    static native long open(String[] jars, int release);

    /** Whether {@link #open} reused an earlier index of the same unchanged jars. */
    static native boolean wasReused(long handle);

    static native void close(long handle);

    /** The lookup of {@code a/b/C.class} for binary name {@code a.b.C}. */
    static native long findClass(long handle, String binaryName);

    static native long find(long handle, String resourceName);

    static native long[] findAll(long handle, String resourceName);

    /** The entry's bytes; an {@link IOException} (naming the jar) when it cannot be read or inflated. */
    static native byte[] read(long handle, long location) throws IOException;

    static native String entryName(long handle, long location);

    static native long manifest(long handle, int jar);
}
