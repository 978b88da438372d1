package dev.tmrt.classload;

import java.net.URL;
import java.net.URLClassLoader;

/**
 * Flink's user-code classloaders ({@code org.apache.flink.util.FlinkUserCodeClassLoaders}),
 * resolving exactly as Flink's do, over tmrt's native jar index.
 *
 * <ul>
 *   <li>{@code child-first} ({@code ChildFirstClassLoader}): a class whose binary name starts
 *       with an always-parent-first pattern ({@code String.startsWith}) is loaded with standard
 *       delegation (parent, then the loader's jars); any other class from the loader's jars
 *       first, then the parent. {@code getResource}: own jars, then standard delegation;
 *       {@code getResources}: own jars' URLs, then the parent's. Patterns never apply to
 *       resources.
 *   <li>{@code parent-first}: standard {@code URLClassLoader} delegation; patterns are ignored,
 *       as in Flink.
 * </ul>
 *
 * <p>Classes are defined with the {@code CodeSource} (the jar's URL as given) and
 * {@code Package} (from the jar's manifest, with sealing checks) a {@code URLClassLoader} would
 * use, and resource URLs are the ones a {@code URLClassLoader} returns
 * ({@code jar:file:/…/x.jar!/name}). When every URL names a local file, the loader's own lookups
 * go through the native index: one native call per miss instead of one probe per jar. Other URLs
 * (directories, remote) use the JDK's own lookup, with the same semantics.
 *
 * <p>With {@code checkClassLoaderLeak}, the loader comes wrapped like Flink's
 * ({@code SafetyNetWrapperClassLoader}): using the returned loader after {@code close()} throws
 * {@code IllegalStateException("Trying to access closed classloader. …")}, while classes report
 * the inner loader as their {@code getClassLoader()}, as in Flink. Closing the inner loader also
 * tells {@code dev.tmrt.telemetry.Telemetry.markReleased} (when that class is present).
 */
public final class UserCodeClassLoaders {
    private UserCodeClassLoaders() {}

    /**
     * Creates a loader for {@code resolveOrder} ({@code "child-first"} or {@code "parent-first"},
     * case-insensitive, like Flink's {@code ResolveOrder.fromString}).
     *
     * @throws IllegalArgumentException for an unknown resolve order ("Unknown resolve order: …"),
     *     or a jar that cannot be indexed (the message names it)
     */
    public static URLClassLoader create(
            String resolveOrder,
            URL[] urls,
            ClassLoader parent,
            String[] alwaysParentFirstPatterns,
            boolean checkClassLoaderLeak) {
        if ("parent-first".equalsIgnoreCase(resolveOrder)) {
            return parentFirst(urls, parent, checkClassLoaderLeak);
        } else if ("child-first".equalsIgnoreCase(resolveOrder)) {
            return childFirst(urls, parent, alwaysParentFirstPatterns, checkClassLoaderLeak);
        }
        throw new IllegalArgumentException("Unknown resolve order: " + resolveOrder);
    }

    /** A child-first loader (Flink's {@code FlinkUserCodeClassLoaders.childFirst}). */
    public static URLClassLoader childFirst(
            URL[] urls, ClassLoader parent, String[] alwaysParentFirstPatterns, boolean checkClassLoaderLeak) {
        String[] patterns = alwaysParentFirstPatterns == null ? new String[0] : alwaysParentFirstPatterns.clone();
        return wrapWithSafetyNet(new ChildFirstUserCodeClassLoader(urls, parent, patterns), checkClassLoaderLeak);
    }

    /** A parent-first loader (Flink's {@code FlinkUserCodeClassLoaders.parentFirst}). */
    public static URLClassLoader parentFirst(URL[] urls, ClassLoader parent, boolean checkClassLoaderLeak) {
        return wrapWithSafetyNet(new ParentFirstUserCodeClassLoader(urls, parent), checkClassLoaderLeak);
    }

    private static URLClassLoader wrapWithSafetyNet(IndexedUserCodeClassLoader loader, boolean check) {
        return check ? new SafetyNetUserCodeClassLoader(loader) : loader;
    }
}
