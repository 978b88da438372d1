package dev.tmrt.emulator;

/**
 * What a round observed, read by the host through JNI: the slots' tasks (plain mode) or the job
 * (Flink mode), what went wrong outside them, and the agent's report after the round's
 * collections, exactly as the agent wrote it (the JVM's figures are read there, and only there).
 */
public final class RoundResult {
    public final int round;
    public final long millis;
    /** The slots' tasks (plain mode); empty in the Flink mode. */
    public final SlotResult[] slots;
    /** The job (Flink mode); null in the plain mode. */
    public final JobResult job;
    /** Exits, halts and interceptor removals by the job outside a failing task. */
    public final Failure[] incidents;
    /** The agent's JSON report ({@code Telemetry.snapshot().toJson()}). */
    public final String agentReport;
    /** Rounds whose user-code loader is still reachable (plain mode; -1: the host decides). */
    public final int loadersAlive;

    RoundResult(int round, long millis, SlotResult[] slots, JobResult job, Failure[] incidents, String agentReport, int loadersAlive) {
        this.round = round;
        this.millis = millis;
        this.slots = slots;
        this.job = job;
        this.incidents = incidents;
        this.agentReport = agentReport;
        this.loadersAlive = loadersAlive;
    }
}
