package dev.tmrt.emulator;

/** The job of one round (the Flink mode), read by the host through JNI. */
public final class JobResult {
    /** Flink's {@code JobID} (32 hex digits); empty when no job graph was built. */
    public final String jobId;
    /** {@code FINISHED}, {@code FAILED}, {@code CANCELED}, or {@code NOT-SUBMITTED}. */
    public final String status;
    public final long graphMillis;
    public final long runMillis;
    /** Null when the job finished. */
    public final Failure failure;

    JobResult(String jobId, String status, long graphMillis, long runMillis, Failure failure) {
        this.jobId = jobId;
        this.status = status;
        this.graphMillis = graphMillis;
        this.runMillis = runMillis;
        this.failure = failure;
    }
}
