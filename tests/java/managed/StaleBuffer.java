import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Stale buffers never crash the JVM: after release (the page goes to another owner), after
 * shutdown, and after the MemoryManager was garbage-collected and its native pool freed.
 */
public class StaleBuffer {
    public static void main(String[] args) throws Exception {
        List<ByteBuffer> stale = new ArrayList<>();
        for (int round = 0; round < 20; round++) {
            MemoryManager mm = MemoryManager.create(64L * 4096, 4096);
            List<Segment> segs = mm.allocatePages("owner", 64);
            for (Segment s : segs) {
                ByteBuffer b = s.buffer();
                b.putLong(0, round + 1);
                stale.add(b);
            }
            mm.release(segs.subList(0, 32));
            // Released but not shut down: the stale buffer still reads the page (no crash): its
            // old contents, or zeros when the pool gave the page's memory back to the OS.
            long seen = stale.get(stale.size() - 64).getLong(0);
            if (seen != round + 1 && seen != 0) {
                throw new AssertionError("released page changed unexpectedly: " + seen);
            }
            if (round % 2 == 0) {
                mm.shutdown();
            }
            // Drop the memory manager (odd rounds without shutdown: the Cleaner frees it).
        }
        // Wait until the Cleaner has freed every native pool (odd rounds were never shut down).
        java.lang.reflect.Method live = MemoryManager.class.getDeclaredMethod("nativeLivePools");
        live.setAccessible(true);
        long alive = -1;
        for (int i = 0; i < 100 && alive != 0; i++) {
            System.gc();
            Thread.sleep(100);
            alive = (Long) live.invoke(null);
        }
        if (alive != 0) {
            throw new AssertionError(alive + " native pools still alive after GC");
        }
        System.out.println("all native pools freed");
        long sum = 0;
        for (ByteBuffer b : stale) {
            sum += b.getLong(0);
            b.putLong(8, 1); // writes too
        }
        System.out.println("stale sum " + sum);
        System.out.println("ALL OK");
    }
}
