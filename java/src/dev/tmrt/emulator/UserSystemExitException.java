package dev.tmrt.emulator;

/**
 * Thrown in a job's thread when it calls {@code System.exit} or {@code Runtime.halt}: the
 * emulator intercepts the call, as Flink does with {@code cluster.intercept-user-system-exit:
 * THROW} (Flink's {@code UserSystemExitException}), so that the job cannot end the host process.
 */
public final class UserSystemExitException extends SecurityException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public UserSystemExitException(int status) {
        super("System.exit(" + status + ") called by the job; tmrt intercepts it as Flink does with "
                + "cluster.intercept-user-system-exit: THROW");
        this.status = status;
    }

    /** The status the job asked to exit with. */
    public int getStatus() {
        return status;
    }
}
