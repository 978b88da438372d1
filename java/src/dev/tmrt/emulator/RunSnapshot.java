package dev.tmrt.emulator;

/**
 * The agent's report at the start or the end of a job, read by the host through JNI, with what
 * only the driver knows then.
 */
public final class RunSnapshot {
    /** The agent's JSON report, as the agent wrote it. */
    public final String agentReport;
    /** Whether a job's {@code System.exit} is intercepted (else it would end the process). */
    public final boolean exitIntercepted;
    /** At the end (plain mode): rounds whose user-code loader is still reachable. */
    public final int[] roundsAlive;

    RunSnapshot(String agentReport, boolean exitIntercepted, int[] roundsAlive) {
        this.agentReport = agentReport;
        this.exitIntercepted = exitIntercepted;
        this.roundsAlive = roundsAlive;
    }
}
