import dev.tmrt.telemetry.Telemetry;
import java.util.List;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.runtime.memory.MemoryManager;

/**
 * Pages and reservations of two owners in one memory manager (tmrt's drop-in, shadowing Flink's),
 * then the agent's report: a sorter that holds pages and a few reserved bytes (owner 1), a state
 * backend that only reserves (owner 2). Prints the report's JSON before and after the releases.
 */
public class OwnerReport {
    public static void main(String[] args) throws Exception {
        MemoryManager mm = MemoryManager.create(4L << 20, 32 * 1024);
        Object sorter = new Object();
        Object stateBackend = "rocksdb";
        List<MemorySegment> pages = mm.allocatePages(sorter, 3);
        mm.reserveMemory(stateBackend, 100_000);
        mm.reserveMemory(sorter, 5);
        System.out.println("HELD " + Telemetry.snapshot().toJson().replace('\n', ' '));
        mm.releaseMemory(stateBackend, 100_000);
        mm.releaseMemory(sorter, 5);
        mm.release(pages);
        System.out.println("RELEASED " + Telemetry.snapshot().toJson().replace('\n', ' '));
        mm.shutdown();
    }
}
