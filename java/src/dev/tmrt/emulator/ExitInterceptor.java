package dev.tmrt.emulator;

import java.security.Permission;

/**
 * A security manager that permits everything except ending the JVM: {@code System.exit} and
 * {@code Runtime.halt} throw {@link UserSystemExitException} in the calling thread. Installed
 * once by the driver. The host never exits the JVM through Java, so every such call comes from
 * a job.
 *
 * <p>Java 17 prints a deprecation warning when a security manager is installed; from Java 18 the
 * JVM must be started with {@code -Djava.security.manager=allow} (the host adds it when it knows
 * the Java version); on a JVM that refuses, nothing is installed and a job's {@code System.exit}
 * ends the process, as in a Flink TaskManager with the default
 * {@code cluster.intercept-user-system-exit: DISABLED}.
 */
final class ExitInterceptor extends SecurityManager {
    private static volatile boolean installed;

    private ExitInterceptor() {}

    /** Installs the interceptor unless one is; returns whether it is in place. */
    @SuppressWarnings("removal")
    static synchronized boolean install() {
        if (installed) {
            return true;
        }
        try {
            System.setSecurityManager(new ExitInterceptor());
            installed = true;
        } catch (UnsupportedOperationException | SecurityException e) {
            installed = false;
        }
        return installed;
    }

    @Override
    public void checkExit(int status) {
        throw new UserSystemExitException(status);
    }

    @Override
    public void checkPermission(Permission perm) {
        // Everything else is allowed, as without a security manager.
    }

    @Override
    public void checkPermission(Permission perm, Object context) {
        // Everything else is allowed, as without a security manager.
    }
}
