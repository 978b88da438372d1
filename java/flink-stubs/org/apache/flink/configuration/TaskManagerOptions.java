package org.apache.flink.configuration;

import java.util.Map;

/** Stub of Flink's {@code TaskManagerOptions} (the members tmrt's drop-in uses). */
public class TaskManagerOptions {
    public static final ConfigOption<Map<String, String>> MANAGED_MEMORY_CONSUMER_WEIGHTS = null;
}
