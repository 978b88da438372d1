package example.cleanjob;

import dev.tmrt.emulator.Task;
import dev.tmrt.emulator.TaskContext;
import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A well-behaved job: sorts records in its slot's managed memory (pages taken from the slot's
 * {@code MemoryManager} for the task's owner), releases every page it took, starts no thread
 * and leaves nothing behind in shared places, so its classloader is collected after each round.
 */
public final class CleanJob implements Task {
    private static final int PAGES = 64;

    @Override
    public void run(TaskContext ctx) throws Exception {
        MemoryManager memory = ctx.getMemoryManager();
        List<Segment> pages = memory.allocatePages(ctx.getOwner(), PAGES);
        try {
            long checksum = new RecordSorter(pages, 1_000 * (ctx.getSlotIndex() + 1) + ctx.getRound()).sortAndSum();
            if (checksum == 0) {
                throw new IllegalStateException("empty sort");
            }
        } finally {
            memory.release(pages);
        }
    }

    /** Fills the pages with pseudo-random longs, sorts each page and sums them. */
    static final class RecordSorter {
        private final List<Segment> pages;
        private long seed;

        RecordSorter(List<Segment> pages, long seed) {
            this.pages = pages;
            this.seed = seed;
        }

        long sortAndSum() {
            long sum = 0;
            for (Segment page : pages) {
                ByteBuffer buf = page.buffer();
                int n = buf.capacity() / Long.BYTES;
                long[] records = new long[n];
                for (int i = 0; i < n; i++) {
                    seed = seed * 6364136223846793005L + 1442695040888963407L;
                    records[i] = seed >>> 1;
                }
                java.util.Arrays.sort(records);
                for (int i = 0; i < n; i++) {
                    buf.putLong(i * Long.BYTES, records[i]);
                    sum += records[i] & 0xff;
                }
            }
            return sum;
        }
    }
}
