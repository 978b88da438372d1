package dev.tmrt.emulator;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;

/** JVM-wide figures from the platform MXBeans, as Flink's metrics read them. */
final class JvmFigures {
    private JvmFigures() {}

    /** Writes {@code metaspace_used_bytes, …, gc_count} as one JSON object. */
    static void write(JsonWriter json) {
        long used = 0;
        long committed = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if ("Metaspace".equals(pool.getName())) {
                MemoryUsage u = pool.getUsage();
                used = u.getUsed();
                committed = u.getCommitted();
            }
        }
        long gcs = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs += Math.max(0, gc.getCollectionCount());
        }
        ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
        json.beginObject()
                .name("metaspace_used_bytes").value(used)
                .name("metaspace_committed_bytes").value(committed)
                .name("classes_loaded_total").value(classes.getTotalLoadedClassCount())
                .name("classes_unloaded_total").value(classes.getUnloadedClassCount())
                .name("classes_loaded").value(classes.getLoadedClassCount())
                .name("gc_count").value(gcs)
                .endObject();
    }
}
