package dev.tmrt.emulator;

/**
 * Thrown in a job's thread when it calls {@code System.exit} or {@code Runtime.halt}: the
 * emulator intercepts the call, as Flink does with {@code cluster.intercept-user-system-exit:
 * THROW} (Flink's {@code UserSystemExitException}), so that the job cannot end the host process.
 * The message says which of the two it was.
 */
public final class UserSystemExitException extends SecurityException {
    private static final long serialVersionUID = 1L;
    /** The message prefix of a {@code Runtime.halt}. */
    static final String HALT = "Runtime.halt(";
    private final int status;
    private final boolean halt;

    public UserSystemExitException(int status) {
        this(status, false);
    }

    UserSystemExitException(int status, boolean halt) {
        super((halt ? HALT : "System.exit(") + status + ") called by the job; tmrt intercepts it as Flink does with "
                + "cluster.intercept-user-system-exit: THROW");
        this.status = status;
        this.halt = halt;
    }

    /** The status the job asked to exit with. */
    public int getStatus() {
        return status;
    }

    /** Whether it was {@code Runtime.halt} rather than {@code System.exit}. */
    public boolean isHalt() {
        return halt;
    }
}
