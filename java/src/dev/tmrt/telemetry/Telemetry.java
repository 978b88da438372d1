package dev.tmrt.telemetry;

import dev.tmrt.NativeLibrary;
import java.util.Objects;

/**
 * Classloader telemetry from tmrt's JVMTI agent ({@code -agentpath:/path/libtmrt.so[=options]}).
 *
 * <p>The agent counts, per classloader, the classes it defined and the ones unloaded, and reports
 * a loader <em>leaked</em> when it was released — closed by its owner (any {@code URLClassLoader},
 * Flink's user-code loaders among them, is seen closing without any call here), or
 * {@linkplain #markReleased(ClassLoader) marked released} — and is still alive after
 * {@code leak-gc-cycles} (default 3) full collections, with suspects: threads tied to the loader,
 * static fields and {@code ThreadLocal}s that hold its objects, and a reference path from a GC
 * root.
 *
 * <p>Without the agent every method still works: {@link #isAgentLoaded()} is false,
 * {@link #markReleased(ClassLoader)} does nothing, {@link #snapshot()} holds the JVM-wide figures
 * of the platform MXBeans and no loaders, and {@link #writeReport(String)} writes that snapshot.
 */
public final class Telemetry {
    private static final boolean NATIVE;

    static {
        boolean ok;
        try {
            NativeLibrary.load();
            ok = true;
        } catch (UnsatisfiedLinkError e) {
            ok = false;
        }
        NATIVE = ok;
    }

    private Telemetry() {}

    /** Whether tmrt's JVMTI agent is loaded in this JVM (not merely the native library). */
    public static boolean isAgentLoaded() {
        if (!NATIVE) {
            return false;
        }
        try {
            return nativeAgentLoaded();
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /**
     * Marks a classloader released: its owner is done with it and expects it to be collected.
     * Called by tmrt's user-code classloaders on {@code close()}. Releasing twice keeps the first
     * release. Does nothing without the agent.
     *
     * @throws NullPointerException if {@code loader} is null
     */
    public static void markReleased(ClassLoader loader) {
        Objects.requireNonNull(loader, "loader");
        if (isAgentLoaded()) {
            nativeMarkReleased(loader);
        }
    }

    /** The telemetry now, with leak verdicts brought up to date (no collection is forced). */
    public static Snapshot snapshot() {
        return collectAndSnapshot(0);
    }

    /**
     * Forces {@code fullGcs} full garbage collections (JVMTI {@code ForceGarbageCollection};
     * {@code System.gc()} without the agent), then returns a snapshot with leak verdicts brought
     * up to date. A released loader still alive after {@code leak-gc-cycles} full collections
     * since its release is reported leaked, so pass at least {@code leak-gc-cycles} to get a
     * verdict for loaders released just before.
     *
     * @throws IllegalArgumentException if {@code fullGcs} is negative
     */
    public static Snapshot collectAndSnapshot(int fullGcs) {
        if (fullGcs < 0) {
            throw new IllegalArgumentException("fullGcs must be >= 0, was " + fullGcs);
        }
        if (!isAgentLoaded()) {
            for (int i = 0; i < fullGcs; i++) {
                System.gc();
            }
            return Snapshot.withoutAgent();
        }
        return Snapshot.fromJson(nativeSnapshot(fullGcs));
    }

    /**
     * Asks the agent for one full reference-path walk: the next leak analysis searches the whole
     * heap for the path from a GC root to each newly leaked loader, whatever the pause budget
     * ({@code pause-budget}, default 100 ms). Such a walk stops the JVM for about the time it
     * takes to visit every live object. Does nothing without the agent.
     */
    public static void requestFullReferencePaths() {
        if (isAgentLoaded()) {
            nativeRequestFullReferencePaths();
        }
    }

    /**
     * Writes the JSON report (the same text as {@code snapshot().toJson()}) to {@code path}; with
     * a null path, to the agent's {@code report=PATH}.
     *
     * @throws IllegalStateException if {@code path} is null and there is no {@code report=PATH}
     * @throws java.io.UncheckedIOException if the file cannot be written
     */
    public static void writeReport(String path) {
        if (isAgentLoaded()) {
            nativeWriteReport(path);
            return;
        }
        if (path == null) {
            throw new IllegalStateException("no path given and the tmrt agent is not loaded");
        }
        try {
            java.nio.file.Files.write(
                    java.nio.file.Paths.get(path),
                    Snapshot.withoutAgent().toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + path, e);
        }
    }

    /** Writes the report to the agent's {@code report=PATH}; see {@link #writeReport(String)}. */
    public static void writeReport() {
        writeReport(null);
    }

    private static native boolean nativeAgentLoaded();

    private static native void nativeMarkReleased(ClassLoader loader);

    private static native String nativeSnapshot(int fullGcs);

    private static native void nativeRequestFullReferencePaths();

    private static native String nativeWriteReport(String path);
}
