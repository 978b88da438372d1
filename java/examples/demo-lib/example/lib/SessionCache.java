package example.lib;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A process-wide cache in a jar on the TaskManager's own class path (like a library in Flink's
 * {@code lib/}): loaded once by the parent of every job's classloader, so whatever a job puts
 * here outlives the job. Jobs that forget to remove their entries keep their classloader alive.
 */
public final class SessionCache {
    private static final Map<String, Object> ENTRIES = new ConcurrentHashMap<>();

    private SessionCache() {}

    public static void put(String key, Object value) {
        ENTRIES.put(key, value);
    }

    public static Object get(String key) {
        return ENTRIES.get(key);
    }

    public static void remove(String key) {
        ENTRIES.remove(key);
    }

    public static int size() {
        return ENTRIES.size();
    }
}
