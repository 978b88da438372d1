package dev.tmrt.telemetry;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The telemetry at one moment: the agent's JSON report ({@link #toJson()}), read field by field.
 * The report is the one encoding: it crosses JNI as text and is parsed here, so a field the
 * agent adds shows up in {@link #toJson()} at once and in a getter when one is added. Immutable.
 */
public final class Snapshot {
    /** Why a leaked loader is alive. */
    public static final class Suspect {
        private final String kind;
        private final String description;

        Suspect(String kind, String description) {
            this.kind = kind;
            this.description = description;
        }

        /**
         * {@code "thread"}, {@code "context-classloader"}, {@code "thread-local"},
         * {@code "static-field"} or {@code "reference-path"}.
         */
        public String kind() {
            return kind;
        }

        public String description() {
            return description;
        }

        @Override
        public String toString() {
            return kind + ": " + description;
        }
    }

    /** A class name defined by several live loaders at once. */
    public static final class DuplicateClass {
        private final String name;
        private final List<Long> loaders;

        DuplicateClass(String name, List<Long> loaders) {
            this.name = name;
            this.loaders = Collections.unmodifiableList(loaders);
        }

        public String name() {
            return name;
        }

        /** The ids of the loaders that defined it, ascending. */
        public List<Long> loaders() {
            return loaders;
        }
    }

    /** One classloader. */
    public static final class Loader {
        private final Map<String, Object> m;
        private final List<Suspect> suspects;

        Loader(Map<String, Object> m) {
            this.m = m;
            List<Suspect> s = new ArrayList<>();
            for (Object o : list(m.get("suspects"))) {
                Map<String, Object> sm = map(o);
                s.add(new Suspect(str(sm.get("kind")), str(sm.get("description"))));
            }
            this.suspects = Collections.unmodifiableList(s);
        }

        /** The agent's id for the loader (0 is the bootstrap loader). */
        public long id() {
            return num(m.get("id"), -1);
        }

        /** The loader's class ({@code <bootstrap>} for the bootstrap loader). */
        public String className() {
            return str(m.get("class"));
        }

        /** {@code ClassLoader.getName()}, or null. */
        public String name() {
            return str(m.get("name"));
        }

        /** The parent loader's id, or -1 for the bootstrap loader itself. */
        public long parent() {
            return num(m.get("parent"), -1);
        }

        /**
         * {@code "bootstrap"}, {@code "platform"}, {@code "application"}, {@code "flink"},
         * {@code "tmrt"}, {@code "url"}, {@code "jdk-internal"} or {@code "other"}.
         */
        public String kind() {
            return str(m.get("kind"));
        }

        /** Whether this is one job's loader (Flink's, tmrt's, a URLClassLoader below the application loader). */
        public boolean userCode() {
            return Boolean.TRUE.equals(m.get("user_code"));
        }

        /** The Flink job whose jars it loads (32 hex digits), or null. */
        public String flinkJobId() {
            return str(m.get("flink_job_id"));
        }

        /** Its class path (for URLClassLoaders). */
        public List<String> urls() {
            List<String> out = new ArrayList<>();
            for (Object o : list(m.get("urls"))) {
                out.add(str(o));
            }
            return Collections.unmodifiableList(out);
        }

        public long classesDefined() {
            return num(m.get("classes_defined"), 0);
        }

        public long classesUnloaded() {
            return num(m.get("classes_unloaded"), 0);
        }

        public boolean released() {
            return Boolean.TRUE.equals(m.get("released"));
        }

        /** When it was released (milliseconds since the epoch), or -1. */
        public long releasedAtUnixMs() {
            Object r = m.get("released_at");
            return r == null ? -1 : num(map(r).get("unix_ms"), -1);
        }

        /** The JVM's full-collection count when it was released, or -1. */
        public long releasedAtFullGcCount() {
            Object r = m.get("released_at");
            return r == null ? -1 : num(map(r).get("full_gc_count"), -1);
        }

        public boolean alive() {
            return Boolean.TRUE.equals(m.get("alive"));
        }

        public boolean leaked() {
            return Boolean.TRUE.equals(m.get("leaked"));
        }

        public List<Suspect> suspects() {
            return suspects;
        }

        /** What the leak analysis could not do for this loader. */
        public List<String> limits() {
            List<String> out = new ArrayList<>();
            for (Object o : list(m.get("limits"))) {
                out.add(str(o));
            }
            return Collections.unmodifiableList(out);
        }
    }

    private final boolean agentLoaded;
    private final Map<String, Object> top;
    private final List<Loader> loaders;
    private final String json;

    private Snapshot(boolean agentLoaded, String json) {
        this.agentLoaded = agentLoaded;
        this.json = json;
        this.top = map(Json.parse(json));
        List<Loader> l = new ArrayList<>();
        for (Object o : list(top.get("loaders"))) {
            l.add(new Loader(map(o)));
        }
        this.loaders = Collections.unmodifiableList(l);
    }

    static Snapshot fromJson(String json) {
        return new Snapshot(true, json);
    }

    static Snapshot withoutAgent() {
        long loaded = ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        long unloaded = ManagementFactory.getClassLoadingMXBean().getUnloadedClassCount();
        long msUsed = 0, msMax = -1, msCommitted = 0, ccsUsed = 0, ccsCommitted = 0, ccsMax = -1;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage u = pool.getUsage();
            if (pool.getName().equals("Metaspace")) {
                msUsed = u.getUsed();
                msMax = u.getMax();
                msCommitted = u.getCommitted();
            } else if (pool.getName().equals("Compressed Class Space")) {
                ccsUsed = u.getUsed();
                ccsCommitted = u.getCommitted();
                ccsMax = u.getMax();
            }
        }
        long gcs = 0, full = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            long c = gc.getCollectionCount();
            if (c > 0) {
                gcs += c;
                if (FullCollectors.isFull(gc.getName())) {
                    full += c;
                }
            }
        }
        String json = "{\n"
                + "  \"classes_loaded_total\": " + loaded + ",\n"
                + "  \"classes_unloaded_total\": " + unloaded + ",\n"
                + "  \"metaspace_used_bytes\": " + msUsed + ",\n"
                + "  \"metaspace_max_bytes\": " + msMax + ",\n"
                + "  \"gc_count\": " + gcs + ",\n"
                + "  \"metaspace_committed_bytes\": " + msCommitted + ",\n"
                + "  \"compressed_class_space_used_bytes\": " + ccsUsed + ",\n"
                + "  \"compressed_class_space_committed_bytes\": " + ccsCommitted + ",\n"
                + "  \"compressed_class_space_max_bytes\": " + ccsMax + ",\n"
                + "  \"full_gc_count\": " + full + ",\n"
                + "  \"loaders\": [],\n"
                + "  \"duplicate_classes\": [],\n"
                + "  \"duplicate_classes_cut\": 0,\n"
                + "  \"limits\": [\n    \"the tmrt agent is not loaded: JVM-wide figures only\"\n  ]\n"
                + "}\n";
        return new Snapshot(false, json);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        if (o instanceof Map) {
            return (Map<String, Object>) o;
        }
        return Collections.emptyMap();
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        if (o instanceof List) {
            return (List<Object>) o;
        }
        return Collections.emptyList();
    }

    static String str(Object o) {
        return o == null ? null : o.toString();
    }

    static long num(Object o, long absent) {
        return o instanceof Number ? ((Number) o).longValue() : absent;
    }

    private long top(String key) {
        return num(top.get(key), 0);
    }

    /** Whether the agent took this snapshot (else: JVM-wide MXBean figures only, no loaders). */
    public boolean agentLoaded() {
        return agentLoaded;
    }

    /** Classes loaded since the JVM started ({@code ClassLoadingMXBean.getTotalLoadedClassCount}). */
    public long classesLoadedTotal() {
        return top("classes_loaded_total");
    }

    /** Classes unloaded since the JVM started ({@code ClassLoadingMXBean.getUnloadedClassCount}). */
    public long classesUnloadedTotal() {
        return top("classes_unloaded_total");
    }

    public long metaspaceUsedBytes() {
        return top("metaspace_used_bytes");
    }

    /** -1 when metaspace is unlimited. */
    public long metaspaceMaxBytes() {
        return num(top.get("metaspace_max_bytes"), -1);
    }

    /** Garbage collections, all collectors. */
    public long gcCount() {
        return top("gc_count");
    }

    public long metaspaceCommittedBytes() {
        return top("metaspace_committed_bytes");
    }

    public long compressedClassSpaceUsedBytes() {
        return top("compressed_class_space_used_bytes");
    }

    public long compressedClassSpaceCommittedBytes() {
        return top("compressed_class_space_committed_bytes");
    }

    public long compressedClassSpaceMaxBytes() {
        return num(top.get("compressed_class_space_max_bytes"), -1);
    }

    /** Full collections (the ones that can unload classes). */
    public long fullGcCount() {
        return top("full_gc_count");
    }

    /** Every loader the agent knows, bootstrap first (id 0). */
    public List<Loader> loaders() {
        return loaders;
    }

    /** The loaders currently judged leaked. */
    public List<Loader> leaked() {
        List<Loader> out = new ArrayList<>();
        for (Loader l : loaders) {
            if (l.leaked()) {
                out.add(l);
            }
        }
        return out;
    }

    /** Class names defined by two or more live loaders, biggest first (capped). */
    public List<DuplicateClass> duplicateClasses() {
        List<DuplicateClass> out = new ArrayList<>();
        for (Object o : list(top.get("duplicate_classes"))) {
            Map<String, Object> d = map(o);
            List<Long> ids = new ArrayList<>();
            for (Object id : list(d.get("loaders"))) {
                ids.add(num(id, -1));
            }
            out.add(new DuplicateClass(str(d.get("name")), ids));
        }
        return Collections.unmodifiableList(out);
    }

    /** What the agent could not do in this JVM. */
    public List<String> limits() {
        List<String> out = new ArrayList<>();
        for (Object o : list(top.get("limits"))) {
            out.add(str(o));
        }
        return Collections.unmodifiableList(out);
    }

    /** The JSON report, exactly as {@code report=PATH} writes it. */
    public String toJson() {
        return json;
    }

    @Override
    public String toString() {
        return json;
    }
}
