package dev.tmrt.telemetry;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The telemetry at one moment: the data of the agent's JSON report, field by field, and the
 * report itself ({@link #toJson()}). Immutable.
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

        /** {@code "thread"} or {@code "reference-path"}. */
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

    /** One classloader. */
    public static final class Loader {
        private final long id;
        private final String className;
        private final String name;
        private final long parent;
        private final long classesDefined;
        private final long classesUnloaded;
        private final boolean released;
        private final boolean alive;
        private final boolean leaked;
        private final List<Suspect> suspects;

        Loader(long id, String className, String name, long parent, long classesDefined,
                long classesUnloaded, boolean released, boolean alive, boolean leaked,
                List<Suspect> suspects) {
            this.id = id;
            this.className = className;
            this.name = name;
            this.parent = parent;
            this.classesDefined = classesDefined;
            this.classesUnloaded = classesUnloaded;
            this.released = released;
            this.alive = alive;
            this.leaked = leaked;
            this.suspects = Collections.unmodifiableList(suspects);
        }

        /** The agent's id for the loader (0 is the bootstrap loader). */
        public long id() {
            return id;
        }

        /** The loader's class ({@code <bootstrap>} for the bootstrap loader). */
        public String className() {
            return className;
        }

        /** {@code ClassLoader.getName()}, or null. */
        public String name() {
            return name;
        }

        /** The parent loader's id, or -1 for the bootstrap loader itself. */
        public long parent() {
            return parent;
        }

        public long classesDefined() {
            return classesDefined;
        }

        public long classesUnloaded() {
            return classesUnloaded;
        }

        public boolean released() {
            return released;
        }

        public boolean alive() {
            return alive;
        }

        public boolean leaked() {
            return leaked;
        }

        public List<Suspect> suspects() {
            return suspects;
        }
    }

    private final boolean agentLoaded;
    private final long[] totals;
    private final List<Loader> loaders;
    private final String json;

    private Snapshot(boolean agentLoaded, long[] totals, List<Loader> loaders, String json) {
        this.agentLoaded = agentLoaded;
        this.totals = totals;
        this.loaders = Collections.unmodifiableList(loaders);
        this.json = json;
    }

    static Snapshot fromNative(Object[] raw) {
        String json = (String) raw[0];
        long[] totals = (long[]) raw[1];
        long[] nums = (long[]) raw[2];
        String[] strs = (String[]) raw[3];
        String[] sus = (String[]) raw[4];
        List<Loader> loaders = new ArrayList<>();
        int s = 0;
        for (int i = 0; i * 8 < nums.length; i++) {
            int b = i * 8;
            List<Suspect> suspects = new ArrayList<>();
            for (int k = 0; k < nums[b + 7]; k++, s += 2) {
                suspects.add(new Suspect(sus[s], sus[s + 1]));
            }
            loaders.add(new Loader(nums[b], strs[2 * i], strs[2 * i + 1], nums[b + 1], nums[b + 2],
                    nums[b + 3], nums[b + 4] != 0, nums[b + 5] != 0, nums[b + 6] != 0, suspects));
        }
        return new Snapshot(true, totals, loaders, json);
    }

    static Snapshot withoutAgent() {
        long[] t = new long[10];
        t[0] = ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        t[1] = ManagementFactory.getClassLoadingMXBean().getUnloadedClassCount();
        t[3] = -1;
        t[8] = -1;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage u = pool.getUsage();
            if (pool.getName().equals("Metaspace")) {
                t[2] = u.getUsed();
                t[3] = u.getMax();
                t[5] = u.getCommitted();
            } else if (pool.getName().equals("Compressed Class Space")) {
                t[6] = u.getUsed();
                t[7] = u.getCommitted();
                t[8] = u.getMax();
            }
        }
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            long c = gc.getCollectionCount();
            if (c > 0) {
                t[4] += c;
                if (isFullCollector(gc.getName())) {
                    t[9] += c;
                }
            }
        }
        String[] names = {
            "classes_loaded_total", "classes_unloaded_total", "metaspace_used_bytes",
            "metaspace_max_bytes", "gc_count", "metaspace_committed_bytes",
            "compressed_class_space_used_bytes", "compressed_class_space_committed_bytes",
            "compressed_class_space_max_bytes", "full_gc_count"
        };
        StringBuilder sb = new StringBuilder("{\n");
        for (int i = 0; i < names.length; i++) {
            sb.append("  \"").append(names[i]).append("\": ").append(t[i]).append(",\n");
        }
        sb.append("  \"loaders\": []\n}\n");
        return new Snapshot(false, t, new ArrayList<>(), sb.toString());
    }

    // Same list as runtime::telemetry::gc::is_full_collector.
    private static boolean isFullCollector(String name) {
        switch (name) {
            case "G1 Old Generation":
            case "PS MarkSweep":
            case "MarkSweepCompact":
            case "ConcurrentMarkSweep":
            case "Shenandoah Cycles":
            case "ZGC":
            case "ZGC Cycles":
            case "ZGC Major Cycles":
                return true;
            default:
                return false;
        }
    }

    /** Whether the agent took this snapshot (else: JVM-wide MXBean figures only, no loaders). */
    public boolean agentLoaded() {
        return agentLoaded;
    }

    /** Classes loaded since the JVM started ({@code ClassLoadingMXBean.getTotalLoadedClassCount}). */
    public long classesLoadedTotal() {
        return totals[0];
    }

    /** Classes unloaded since the JVM started ({@code ClassLoadingMXBean.getUnloadedClassCount}). */
    public long classesUnloadedTotal() {
        return totals[1];
    }

    public long metaspaceUsedBytes() {
        return totals[2];
    }

    /** -1 when metaspace is unlimited. */
    public long metaspaceMaxBytes() {
        return totals[3];
    }

    /** Garbage collections, all collectors. */
    public long gcCount() {
        return totals[4];
    }

    public long metaspaceCommittedBytes() {
        return totals[5];
    }

    public long compressedClassSpaceUsedBytes() {
        return totals[6];
    }

    public long compressedClassSpaceCommittedBytes() {
        return totals[7];
    }

    public long compressedClassSpaceMaxBytes() {
        return totals[8];
    }

    /** Full collections (the ones that can unload classes). */
    public long fullGcCount() {
        return totals[9];
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

    /** The JSON report, exactly as {@code report=PATH} writes it. */
    public String toJson() {
        return json;
    }

    @Override
    public String toString() {
        return json;
    }
}
