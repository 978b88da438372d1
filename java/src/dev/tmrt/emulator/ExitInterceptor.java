package dev.tmrt.emulator;

import java.security.Permission;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A security manager that permits everything except ending the JVM and replacing itself:
 * {@code System.exit} and {@code Runtime.halt}, from any thread, throw
 * {@link UserSystemExitException} in the calling thread, and {@code System.setSecurityManager}
 * (which would remove the interception) throws {@code SecurityException}. Every such call is also
 * recorded as an incident with its thread and stack, so that a job which catches the exception, or
 * makes the call from a thread of its own, is still reported: the driver drains the incidents
 * after each round. The host never exits the JVM through Java, so every such call comes from a
 * job (or Flink code running for it).
 *
 * <p>Java 17 prints a four-line deprecation warning on the JVM's initial standard error when a
 * security manager is installed; the host owns the JVM's streams and calls {@link #install()}
 * first, with the JVM's standard error pointed at {@code /dev/null} for that call. From Java 18 the JVM
 * must be started with {@code -Djava.security.manager=allow} (the host adds it when it knows the
 * Java version); on a JVM that refuses, nothing is installed, the host says so, and its JVM exit
 * hook reports an exit that ends the process.
 */
public final class ExitInterceptor extends SecurityManager {
    private static volatile boolean installed;
    private static final ConcurrentLinkedQueue<Failure> INCIDENTS = new ConcurrentLinkedQueue<>();
    static final String TAMPER_MESSAGE =
            "tmrt's exit interceptor cannot be replaced or removed (the job called System.setSecurityManager)";

    private ExitInterceptor() {}

    /** Installs the interceptor unless one is; returns whether it is in place. */
    @SuppressWarnings("removal")
    public static synchronized boolean install() {
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

    /** The incidents recorded since the last call, oldest first. */
    static List<Failure> drain() {
        List<Failure> out = new ArrayList<>();
        for (Failure f; (f = INCIDENTS.poll()) != null; ) {
            out.add(f);
        }
        return out;
    }

    @Override
    public void checkExit(int status) {
        boolean halt = calledFrom("halt");
        UserSystemExitException e = new UserSystemExitException(status, halt);
        record(halt ? Failures.RUNTIME_HALT : Failures.SYSTEM_EXIT, e);
        throw e;
    }

    @Override
    public void checkPermission(Permission perm) {
        if (perm instanceof RuntimePermission && "setSecurityManager".equals(perm.getName())) {
            SecurityException e = new SecurityException(TAMPER_MESSAGE);
            record(Failures.INTERCEPTOR_REMOVED, e);
            throw e;
        }
    }

    @Override
    public void checkPermission(Permission perm, Object context) {
        checkPermission(perm);
    }

    /** Whether {@code java.lang.Runtime.method} is on the calling stack. */
    private static boolean calledFrom(String method) {
        for (StackTraceElement f : new Throwable().getStackTrace()) {
            if ("java.lang.Runtime".equals(f.getClassName()) && method.equals(f.getMethodName())) {
                return true;
            }
        }
        return false;
    }

    private static void record(String kind, Throwable t) {
        try {
            Cause c = Cause.of(t);
            INCIDENTS.add(new Failure(kind, c.exception, c.message, c.stack, new Cause[] {c}, Thread.currentThread().getName()));
        } catch (Throwable ignored) {
            // Out of memory: the exception thrown at the caller still stops it.
        }
    }
}
