import java.util.HashMap;
import java.util.Map;

/**
 * Steady-state workload: no class loading after warm-up, allocation-heavy map work that keeps
 * the young generation collecting (each collection posts JVMTI GC events to the agent). Prints
 * the elapsed wall time of a fixed amount of work after a warm-up.
 */
public class SteadyWorkload {
    static long round(int n) {
        Map<Integer, String> m = new HashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(i, Integer.toHexString(i * 31));
        }
        long sum = 0;
        for (Map.Entry<Integer, String> e : m.entrySet()) {
            sum += e.getKey() ^ e.getValue().hashCode();
        }
        return sum;
    }

    public static void main(String[] args) {
        int rounds = Integer.parseInt(args[0]);
        long sum = 0;
        for (int i = 0; i < rounds / 5; i++) sum += round(10_000); // warm-up
        long cpu0 = cpuMillis();
        long t0 = System.nanoTime();
        for (int i = 0; i < rounds; i++) sum += round(10_000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long cpu = cpuMillis() - cpu0;
        System.out.println("elapsed_ms " + ms + " cpu_ms " + cpu + " checksum " + sum);
    }

    /** CPU time of the whole process (all threads, the agent's included), in ms. */
    static long cpuMillis() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toMillis()).orElse(-1L);
    }
}
