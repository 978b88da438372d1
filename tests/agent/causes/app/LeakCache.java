/** A cache in an application (Flink lib/) class. */
public class LeakCache {
    public static final java.util.Map<String, Object> CACHE = new java.util.HashMap<>();
}
