package dev.tmrt.emulator;

import dev.tmrt.telemetry.Telemetry;
import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * The JVM half of {@code tmrt emulate}'s Flink mode: Flink's own {@code MiniCluster}, from the
 * distribution the host put on the class path, with one TaskManager configured by the host; then,
 * per round, a job jar submitted as a session cluster receives it (several jobs may take turns in
 * one session, as {@code tmrt demo}'s do). Flink's client builds the
 * job graph ({@link FlinkApi}), the jar goes to the blob server with the job, and the TaskManager
 * makes the job's user-code classloader from its blob cache and releases it when the job is done:
 * the same loaders, created and released by the same Flink code, as in the user's cluster. The
 * agent watches them; this class only runs the jobs and hands the host the agent's report.
 *
 * <p>Like {@link RoundDriver}, every call returns a plain object the host reads through JNI, and
 * describes failures as plain strings, so that no object of the job's classes outlives a round.
 */
public final class FlinkSession {
    /** The ApplicationStatus of a job that finished. */
    private static final String SUCCEEDED = "SUCCEEDED";
    /** How long closing the MiniCluster may take at the end. */
    private static final long CLOSE_SECONDS = 10;

    private final FlinkApi flink;
    private final Object configuration;
    private final Object cluster;
    private final int parallelism;
    private final long jobTimeoutMillis;
    private final boolean exitIntercepted;

    /**
     * Starts the MiniCluster.
     *
     * @param keys the session configuration's keys (the host derived them)
     * @param values their values
     * @param slots the TaskManager's slots
     * @param parallelism the parallelism of jobs that set none
     * @param jobTimeoutMillis how long a job may run before it is cancelled (0: no limit)
     */
    public FlinkSession(String[] keys, String[] values, int slots, int parallelism, long jobTimeoutMillis)
            throws Exception {
        ClassLoader host = FlinkSession.class.getClassLoader();
        Thread.currentThread().setContextClassLoader(host);
        Failures.warmUp();
        exitIntercepted = ExitInterceptor.install();
        this.flink = FlinkApi.load(host);
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < keys.length; i++) {
            options.put(keys[i], values[i]);
        }
        this.configuration = flink.configuration(options);
        this.parallelism = parallelism;
        this.jobTimeoutMillis = jobTimeoutMillis;
        this.cluster = flink.startMiniCluster(configuration, slots);
        Telemetry.snapshot().toJson();
    }

    /** The Flink version of the distribution ({@code EnvironmentInformation.getVersion()}). */
    public String flinkVersion() {
        return flink.version;
    }

    /** The JVM with the session started and no job run yet, after a full GC. */
    public RunSnapshot baseline() {
        fullGc();
        return new RunSnapshot(Telemetry.snapshot().toJson(), exitIntercepted, new int[0]);
    }

    /**
     * Submits the job of {@code jarPath} once ({@code entryClass} null: the manifest's
     * {@code Main-Class}), waits for its end, collects, and returns what the round observed.
     */
    public RoundResult runJob(int round, String jarPath, String entryClass, String[] args) {
        long start = System.nanoTime();
        ExitInterceptor.drain();
        JobResult job = submitOnce(new File(jarPath), entryClass, args);
        fullGc();
        List<Failure> incidents = new ArrayList<>();
        for (Failure f : ExitInterceptor.drain()) {
            if (job.failure == null || !job.failure.kind.equals(f.kind)) {
                incidents.add(f);
            }
        }
        return new RoundResult(
                round,
                (System.nanoTime() - start) / 1_000_000,
                new SlotResult[0],
                job,
                incidents.toArray(new Failure[0]),
                Telemetry.snapshot().toJson(),
                -1);
    }

    /** A full GC, then the agent's report: the host calls it while a round's loaders settle. */
    public String collect() {
        fullGc();
        return Telemetry.snapshot().toJson();
    }

    /** Ends a job's run: the agent forces {@code gcCycles} full collections and reports every loader. */
    public RunSnapshot finish(int gcCycles) {
        return new RunSnapshot(Telemetry.collectAndSnapshot(gcCycles).toJson(), exitIntercepted, new int[0]);
    }

    /** Closes the MiniCluster (waiting at most {@link #CLOSE_SECONDS}); false when it did not close. */
    public boolean close() {
        try {
            flink.close(cluster, CLOSE_SECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private JobResult submitOnce(File jar, String entryClass, String[] args) {
        long start = System.nanoTime();
        Object jobGraph;
        Object program = null;
        try {
            program = flink.program(jar, entryClass, args, configuration);
            jobGraph = flink.jobGraph(program, configuration, parallelism);
        } catch (Throwable t) {
            return new JobResult("", "NOT-SUBMITTED", millisSince(start), 0, programFailure(t));
        } finally {
            if (program != null) {
                try {
                    flink.closeProgram(program);
                } catch (Throwable t) {
                    // Closing only deletes extracted jars and closes the client's loader.
                }
            }
            program = null;
        }
        long graphMillis = millisSince(start);
        long submitted = System.nanoTime();
        String id = "";
        try {
            Object jobId = flink.jobId(jobGraph);
            id = String.valueOf(jobId);
            flink.submit(cluster, jobGraph);
            jobGraph = null;
            Object result;
            Failure timedOut = null;
            try {
                result = flink.result(cluster, jobId, jobTimeoutMillis);
            } catch (TimeoutException e) {
                flink.cancel(cluster, jobId);
                result = flink.result(cluster, jobId, 0);
                timedOut = Failure.plain(
                        Failures.TASK_TIMED_OUT, "the job was still running after " + jobTimeoutMillis + " ms; cancelled");
            }
            String status = flink.status(result);
            if (flink.succeeded(result)) {
                return new JobResult(id, "FINISHED", graphMillis, millisSince(submitted), null);
            }
            Throwable cause = flink.failure(result);
            Failure failure = timedOut != null
                    ? timedOut
                    : cause != null ? Failures.of(cause, Failures.JOB_FAILED) : Failure.plain(Failures.JOB_FAILED, "the job ended " + status);
            return new JobResult(id, SUCCEEDED.equals(status) ? "FINISHED" : status, graphMillis, millisSince(submitted), failure);
        } catch (Throwable t) {
            Throwable cause = t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
            return new JobResult(id, "FAILED", graphMillis, millisSince(submitted), Failures.of(cause, Failures.JOB_FAILED));
        }
    }

    /**
     * What building the job graph threw: the entry class missing or without {@code main} (bad
     * input, in Flink's own words), or the job's main failing.
     */
    static Failure programFailure(Throwable t) {
        String m = String.valueOf(t.getMessage());
        if (m.contains("entry point class") && m.contains("was not found")) {
            return Failure.plain(EntryPoint.ENTRY_CLASS_NOT_FOUND, m);
        }
        if (m.contains("does not have a main(String[]) method")
                || m.contains("has no main(String[]) method")
                || m.contains("Neither a 'Main-Class', nor a 'program-class' entry")) {
            return Failure.plain(EntryPoint.NO_ENTRY_METHOD, m);
        }
        return Failures.of(t, Failures.PROGRAM_FAILED);
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static void fullGc() {
        System.gc();
        System.gc();
    }
}
