package dev.tmrt.emulator;

import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The few calls of Flink's API the Flink mode makes, found by reflection in the Flink distribution
 * on the class path, so that tmrt needs no Flink to build. Everything is looked up once, at
 * {@link #load}, and a missing class or method is a clear error naming it and the Flink version;
 * the lookups accept every signature of Flink 1.13, 1.20 and 2.2 (2.x submits an
 * {@code ExecutionPlan}, which the {@code JobGraph} is).
 *
 * <p>The client side is Flink's own: {@code PackagedProgram} over the job jar (its {@code main},
 * or the manifest's {@code Main-Class}), {@code PackagedProgramUtils.createJobGraph} (which runs
 * the main in Flink's plan-extraction environment and adds the jar to the job graph), and
 * {@code MiniCluster.submitJob}, which uploads the jar to the blob server as a session cluster's
 * dispatcher receives it.
 */
final class FlinkApi {
    /** The Flink version ({@code EnvironmentInformation.getVersion()}). */
    final String version;

    private final Method fromMap;
    private final Constructor<?> clusterConfigBuilder;
    private final Method setConfiguration;
    private final Method setNumTaskManagers;
    private final Method setNumSlots;
    private final Method buildClusterConfig;
    private final Constructor<?> miniCluster;
    private final Method start;
    private final Method submitJob;
    private final Method requestJobResult;
    private final Method cancelJob;
    private final Method closeAsync;
    private final Method programBuilder;
    private final Method setJarFile;
    private final Method setEntryPoint;
    private final Method setArguments;
    private final Method setProgramConfiguration;
    private final Method buildProgram;
    private final Method closeProgram;
    private final Method createJobGraph;
    private final Method getJobId;
    private final Method isSuccess;
    private final Method getSerializedThrowable;
    private final Method getApplicationStatus;

    private FlinkApi(ClassLoader cl) throws ReflectiveOperationException {
        version = String.valueOf(
                cl.loadClass("org.apache.flink.runtime.util.EnvironmentInformation").getMethod("getVersion").invoke(null));
        Class<?> configuration = cl.loadClass("org.apache.flink.configuration.Configuration");
        fromMap = configuration.getMethod("fromMap", Map.class);
        Class<?> builder = cl.loadClass("org.apache.flink.runtime.minicluster.MiniClusterConfiguration$Builder");
        clusterConfigBuilder = builder.getConstructor();
        setConfiguration = builder.getMethod("setConfiguration", configuration);
        setNumTaskManagers = builder.getMethod("setNumTaskManagers", int.class);
        setNumSlots = builder.getMethod("setNumSlotsPerTaskManager", int.class);
        buildClusterConfig = builder.getMethod("build");
        Class<?> cluster = cl.loadClass("org.apache.flink.runtime.minicluster.MiniCluster");
        miniCluster = cluster.getConstructor(cl.loadClass("org.apache.flink.runtime.minicluster.MiniClusterConfiguration"));
        start = cluster.getMethod("start");
        Class<?> jobGraph = cl.loadClass("org.apache.flink.runtime.jobgraph.JobGraph");
        submitJob = oneArgument(cluster, "submitJob", jobGraph);
        Class<?> jobId = cl.loadClass("org.apache.flink.api.common.JobID");
        requestJobResult = cluster.getMethod("requestJobResult", jobId);
        cancelJob = cluster.getMethod("cancelJob", jobId);
        closeAsync = cluster.getMethod("closeAsync");
        Class<?> program = cl.loadClass("org.apache.flink.client.program.PackagedProgram");
        programBuilder = program.getMethod("newBuilder");
        Class<?> pb = programBuilder.getReturnType();
        setJarFile = pb.getMethod("setJarFile", File.class);
        setEntryPoint = pb.getMethod("setEntryPointClassName", String.class);
        setArguments = pb.getMethod("setArguments", String[].class);
        setProgramConfiguration = pb.getMethod("setConfiguration", configuration);
        buildProgram = pb.getMethod("build");
        closeProgram = program.getMethod("close");
        createJobGraph = cl.loadClass("org.apache.flink.client.program.PackagedProgramUtils")
                .getMethod("createJobGraph", program, configuration, int.class, boolean.class);
        getJobId = jobGraph.getMethod("getJobID");
        Class<?> result = cl.loadClass("org.apache.flink.runtime.jobmaster.JobResult");
        isSuccess = result.getMethod("isSuccess");
        getSerializedThrowable = result.getMethod("getSerializedThrowable");
        getApplicationStatus = result.getMethod("getApplicationStatus");
    }

    /** Flink's API in {@code cl}, or an exception naming what is missing. */
    static FlinkApi load(ClassLoader cl) {
        try {
            return new FlinkApi(cl);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException(
                    "the Flink distribution on the class path lacks what tmrt's Flink mode needs ("
                            + e + "); supported: Flink 1.13, 1.20 and 2.2", e);
        }
    }

    /** The public one-argument method {@code name} of {@code owner} that takes a {@code type}. */
    private static Method oneArgument(Class<?> owner, String name, Class<?> type) throws NoSuchMethodException {
        for (Method m : owner.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == 1 && m.getParameterTypes()[0].isAssignableFrom(type)) {
                return m;
            }
        }
        throw new NoSuchMethodException(owner.getName() + "." + name + "(" + type.getName() + ")");
    }

    /** Calls {@code m}; an exception the call threw is rethrown as it is. */
    private static Object call(Method m, Object target, Object... args) throws Exception {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw rethrow(e.getCause());
        }
    }

    private static Exception rethrow(Throwable t) {
        if (t instanceof Exception) {
            return (Exception) t;
        }
        if (t instanceof Error) {
            throw (Error) t;
        }
        return new RuntimeException(t);
    }

    /** {@code Configuration.fromMap(options)}. */
    Object configuration(Map<String, String> options) throws Exception {
        return call(fromMap, null, options);
    }

    /** A started MiniCluster with one TaskManager of {@code slots} slots. */
    Object startMiniCluster(Object configuration, int slots) throws Exception {
        Object b = clusterConfigBuilder.newInstance();
        call(setConfiguration, b, configuration);
        call(setNumTaskManagers, b, 1);
        call(setNumSlots, b, slots);
        Object cluster = miniCluster.newInstance(call(buildClusterConfig, b));
        call(start, cluster);
        return cluster;
    }

    /** A {@code PackagedProgram} over {@code jar}; {@code entry} null: the manifest's. */
    Object program(File jar, String entry, String[] args, Object configuration) throws Exception {
        Object b = call(programBuilder, null);
        call(setJarFile, b, jar);
        call(setEntryPoint, b, entry);
        call(setArguments, b, (Object) args.clone());
        call(setProgramConfiguration, b, configuration);
        return call(buildProgram, b);
    }

    void closeProgram(Object program) throws Exception {
        call(closeProgram, program);
    }

    /** The job graph the program's main builds, as Flink's client builds it. */
    Object jobGraph(Object program, Object configuration, int parallelism) throws Exception {
        return call(createJobGraph, null, program, configuration, parallelism, false);
    }

    Object jobId(Object jobGraph) throws Exception {
        return call(getJobId, jobGraph);
    }

    void submit(Object cluster, Object jobGraph) throws Exception {
        ((CompletableFuture<?>) call(submitJob, cluster, jobGraph)).get();
    }

    /** The job's result, waiting at most {@code millis} (0: no limit). */
    Object result(Object cluster, Object jobId, long millis) throws Exception {
        CompletableFuture<?> f = (CompletableFuture<?>) call(requestJobResult, cluster, jobId);
        return millis > 0 ? f.get(millis, TimeUnit.MILLISECONDS) : f.get();
    }

    void cancel(Object cluster, Object jobId) throws Exception {
        ((CompletableFuture<?>) call(cancelJob, cluster, jobId)).get(30, TimeUnit.SECONDS);
    }

    boolean succeeded(Object result) throws Exception {
        return (Boolean) call(isSuccess, result);
    }

    /** The job's failure cause (a {@code SerializedThrowable}), or null. */
    Throwable failure(Object result) throws Exception {
        Object optional = call(getSerializedThrowable, result);
        return (Throwable) ((java.util.Optional<?>) optional).orElse(null);
    }

    String status(Object result) throws Exception {
        return String.valueOf(call(getApplicationStatus, result));
    }

    /** Closes the cluster, waiting at most {@code seconds}. */
    void close(Object cluster, long seconds) throws Exception {
        ((CompletableFuture<?>) call(closeAsync, cluster)).get(seconds, TimeUnit.SECONDS);
    }
}
