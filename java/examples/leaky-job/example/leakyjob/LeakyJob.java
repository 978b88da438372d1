package example.leakyjob;

import dev.tmrt.emulator.Task;
import dev.tmrt.emulator.TaskContext;
import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import example.lib.SessionCache;
import java.util.List;

/**
 * A job with the two commonest metaspace leaks of session clusters. Its managed memory is used
 * correctly; what leaks is its classloader, kept alive after the job ends by
 * <ul>
 *   <li>a lingering thread: a "metrics reporter" thread started by the job and never stopped (its
 *       context classloader and its class both belong to the job), and
 *   <li>a cache entry: an object of the job's own class put into {@link SessionCache}, a static
 *       map in a class loaded by the parent (the TaskManager's class path), and never removed.
 * </ul>
 */
public final class LeakyJob implements Task {
    @Override
    public void run(TaskContext ctx) throws Exception {
        MemoryManager memory = ctx.getMemoryManager();
        List<Segment> pages = memory.allocatePages(ctx.getOwner(), 16);
        memory.release(pages);

        if (ctx.getSlotIndex() == 0) {
            Thread reporter = new MetricsReporter("leaky-job-metrics-reporter-round-" + ctx.getRound());
            reporter.setDaemon(true);
            reporter.start();
        }
        SessionCache.put("leaky-job/round-" + ctx.getRound() + "/slot-" + ctx.getSlotIndex(), new CachedSchema(ctx.getRound()));
    }

    /** A thread that never ends: it holds the job's classloader for as long as it runs. */
    static final class MetricsReporter extends Thread {
        MetricsReporter(String name) {
            super(name);
        }

        @Override
        public void run() {
            while (true) {
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** A value of the job's own class: its class references the job's classloader. */
    static final class CachedSchema {
        final int round;

        CachedSchema(int round) {
            this.round = round;
        }
    }
}
