import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedList;
import java.util.List;
import java.util.Random;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.runtime.memory.MemoryManager;
import org.apache.flink.runtime.memory.OpaqueMemoryResource;

/**
 * A long seeded sequence of operations through Flink's own MemoryManager API (every method, on
 * the memory manager and on its segments, failures included), printing one line per operation:
 * what was called and what came back (values, or the exception's class and message, and its
 * cause's). Run once against Flink's class and once with tmrt's drop-in: the transcripts must be
 * equal line by line. Nothing printed depends on addresses or identity hash codes.
 *
 * <p>Usage: FlinkOps SEED OPS
 */
public class FlinkOps {
    interface Op {
        Object run() throws Exception;
    }

    /** An owner with a name; equal owners are distinct objects that compare equal (Strings). */
    static final class Named {
        final String name;

        Named(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A shared resource that records its closing. */
    static final class Resource implements AutoCloseable {
        final long size;
        final List<String> log;

        Resource(long size, List<String> log) {
            this.size = size;
            this.log = log;
        }

        @Override
        public void close() {
            log.add("closed resource of " + size);
        }

        @Override
        public String toString() {
            return "Resource(" + size + ")";
        }
    }

    static final StringBuilder out = new StringBuilder();
    static int line;
    static final List<MemorySegment> segments = new ArrayList<>();
    static final List<String> names = new ArrayList<>();
    static final List<Object> owners = new ArrayList<>();
    static final List<OpaqueMemoryResource<Resource>> leases = new ArrayList<>();
    static final List<String> closeLog = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        long seed = Long.parseLong(args[0]);
        int ops = Integer.parseInt(args[1]);
        Random rnd = new Random(seed);
        System.err.println("MemoryManager from " + MemoryManager.class.getProtectionDomain().getCodeSource().getLocation());
        int rounds = Math.max(4, ops / 300);
        for (int round = 0; round < rounds; round++) {
            int pageSize = new int[] {4096, 32768, 8192}[rnd.nextInt(3)];
            long size = new long[] {0, pageSize, 10L * pageSize, 10L * pageSize + pageSize / 2, 64L * pageSize,
                    3L * pageSize - 1}[rnd.nextInt(6)];
            emit("create(" + size + ", " + pageSize + ")", () -> {
                MemoryManager.create(size, pageSize);
                return "ok";
            });
            run(rnd, MemoryManager.create(size, pageSize), MemoryManager.create(4L * pageSize, pageSize), ops / rounds);
        }
        for (long[] bad : new long[][] {{-1, 4096}, {1 << 20, 2048}, {1 << 20, 12288}, {1 << 20, 0},
                {(long) Integer.MAX_VALUE * 4096 + 4096, 4096}}) {
            emit("create(" + bad[0] + ", " + bad[1] + ")", () -> MemoryManager.create(bad[0], (int) bad[1]));
        }
        System.out.print(out);
        System.out.println("ops " + line);
    }

    static void run(Random rnd, MemoryManager mm, MemoryManager other, int ops) throws Exception {
        segments.clear();
        names.clear();
        owners.clear();
        leases.clear();
        owners.add("task-a");
        owners.add(new String("task-a")); // equal to the first, another object
        owners.add(new Named("sorter"));
        owners.add(new Named("hash-table"));
        owners.add(7);
        int total = mm.computeNumberOfPages(1.0);
        emit("pageSize/memorySize/pages", () -> mm.getPageSize() + " " + mm.getMemorySize() + " " + total);
        for (int i = 0; i < ops; i++) {
            Object owner = owners.get(rnd.nextInt(owners.size()));
            String who = owner instanceof String ? "'" + owner + "'#" + owners.indexOf(owner) : String.valueOf(owner);
            int n = pick(rnd, total);
            switch (rnd.nextInt(24)) {
                case 0:
                case 1:
                case 2:
                    emit("allocatePages(" + who + ", " + n + ")", () -> added(mm.allocatePages(owner, n)));
                    break;
                case 3:
                case 4: {
                    Collection<MemorySegment> target = rnd.nextBoolean() ? new ArrayList<>() : new LinkedList<>();
                    int m = Math.max(n, 0);
                    emit("allocatePages(" + who + ", target, " + m + ")", () -> {
                        mm.allocatePages(owner, target, m);
                        return added(target);
                    });
                    break;
                }
                case 5: {
                    int m = Math.max(n, 1);
                    emit("allocatePages(" + who + ", immutable, " + m + ")", () -> {
                        mm.allocatePages(owner, Collections.emptyList(), m);
                        return "ok";
                    });
                    break;
                }
                case 6:
                case 7: {
                    int k = segments.isEmpty() ? -1 : rnd.nextInt(segments.size());
                    MemorySegment s = k < 0 ? null : segments.get(k);
                    emit("release(" + name(k) + ")", () -> {
                        mm.release(s);
                        return "ok";
                    });
                    break;
                }
                case 8:
                case 9: {
                    List<MemorySegment> batch = new ArrayList<>();
                    StringBuilder what = new StringBuilder();
                    int len = rnd.nextInt(6);
                    for (int j = 0; j < len && !segments.isEmpty(); j++) {
                        int k = rnd.nextInt(segments.size() + 1) - 1;
                        batch.add(k < 0 ? null : segments.get(k));
                        what.append(name(k)).append(' ');
                    }
                    boolean immutable = rnd.nextInt(5) == 0;
                    Collection<MemorySegment> arg = immutable ? Collections.unmodifiableList(batch) : batch;
                    emit("release([" + what.toString().trim() + "]" + (immutable ? " immutable" : "") + ")", () -> {
                        mm.release(arg);
                        return "ok, left " + batch.size();
                    });
                    break;
                }
                case 10:
                    emit("releaseAll(" + who + ")", () -> {
                        mm.releaseAll(owner);
                        return "ok";
                    });
                    break;
                case 11: {
                    long bytes = rnd.nextInt(4) == 0 ? -rnd.nextInt(100) : (long) rnd.nextInt(3 * mm.getPageSize());
                    emit("reserveMemory(" + who + ", " + bytes + ")", () -> {
                        mm.reserveMemory(owner, bytes);
                        return "ok";
                    });
                    break;
                }
                case 12: {
                    long bytes = rnd.nextInt(4) == 0 ? -1 : (long) rnd.nextInt(3 * mm.getPageSize());
                    emit("releaseMemory(" + who + ", " + bytes + ")", () -> {
                        mm.releaseMemory(owner, bytes);
                        return "ok";
                    });
                    break;
                }
                case 13:
                    emit("releaseAllMemory(" + who + ")", () -> {
                        mm.releaseAllMemory(owner);
                        return "ok";
                    });
                    break;
                case 14:
                    emit("availableMemory/verifyEmpty/isShutdown",
                            () -> mm.availableMemory() + " " + mm.verifyEmpty() + " " + mm.isShutdown());
                    break;
                case 15: {
                    double f = new double[] {0.0, 0.25, 0.5, 1.0, 1.5, -0.1, 1.0 / 3}[rnd.nextInt(7)];
                    emit("computeNumberOfPages(" + f + ")", () -> mm.computeNumberOfPages(f));
                    emit("computeMemorySize(" + f + ")", () -> mm.computeMemorySize(f));
                    break;
                }
                case 16: {
                    String type = rnd.nextBoolean() ? "rocksdb" : "python";
                    double f = new double[] {0.1, 0.5, 1.0, 0.0}[rnd.nextInt(4)];
                    boolean failing = rnd.nextInt(5) == 0;
                    emit("getSharedMemoryResourceForManagedMemory(" + type + ", " + f + (failing ? ", failing" : "") + ")",
                            () -> lease(mm.getSharedMemoryResourceForManagedMemory(type, size -> {
                                if (failing) {
                                    throw new IllegalStateException("initializer failed for " + size);
                                }
                                return new Resource(size, closeLog);
                            }, f)));
                    break;
                }
                case 17: {
                    String type = "external-" + rnd.nextInt(2);
                    long bytes = rnd.nextInt(1000);
                    emit("getExternalSharedMemoryResource(" + type + ", " + bytes + ")",
                            () -> lease(mm.getExternalSharedMemoryResource(type, size -> new Resource(size, closeLog), bytes)));
                    break;
                }
                case 18: {
                    int k = leases.isEmpty() ? -1 : rnd.nextInt(leases.size());
                    emit("lease#" + k + ".close()", () -> {
                        if (k >= 0) {
                            leases.get(k).close();
                        }
                        String log = closeLog.toString();
                        closeLog.clear();
                        return "ok " + log;
                    });
                    break;
                }
                case 19:
                case 20: {
                    int k = segments.isEmpty() ? -1 : rnd.nextInt(segments.size());
                    if (k >= 0) {
                        MemorySegment s = segments.get(k);
                        int at = rnd.nextInt(s.size() / 8) * 8;
                        long v = rnd.nextLong();
                        emit(name(k) + ".putLong/getLong(" + at + ")", () -> {
                            s.putLong(at, v);
                            return s.getLong(at) == v;
                        });
                        emit(name(k) + ".state", () -> s.size() + " freed=" + s.isFreed() + " offHeap=" + s.isOffHeap()
                                + " owner=" + s.getOwner());
                        emit(name(k) + ".wrap(0, 8)", () -> s.wrap(0, 8));
                        emit(name(k) + ".get(" + s.size() + ")", () -> s.get(s.size()));
                    }
                    break;
                }
                case 21: {
                    // A segment of another memory manager, released here.
                    emit("release(foreign of " + who + ")", () -> {
                        MemorySegment f = other.allocatePages(owner, 1).get(0);
                        mm.release(f);
                        mm.release(Arrays.asList(f));
                        return "ok, foreign freed=" + f.isFreed();
                    });
                    break;
                }
                case 22:
                    if (rnd.nextInt(40) == 0) {
                        emit("shutdown()", () -> {
                            mm.shutdown();
                            return "ok";
                        });
                    }
                    break;
                default:
                    emit("allocatePages(" + who + ", " + n + ") then free() directly", () -> {
                        List<MemorySegment> got = mm.allocatePages(owner, Math.max(n, 0));
                        String r = added(got);
                        for (MemorySegment s : got) {
                            s.free();
                        }
                        return r + " freed; available " + mm.availableMemory();
                    });
                    break;
            }
        }
        emit("final availableMemory/verifyEmpty", () -> mm.availableMemory() + " " + mm.verifyEmpty());
        emit("shutdown()", () -> {
            mm.shutdown();
            return "ok";
        });
        emit("after shutdown", () -> mm.availableMemory() + " " + mm.verifyEmpty() + " " + mm.isShutdown());
        int k = segments.size() - 1;
        emit("after shutdown, " + name(k) + " freed", () -> k < 0 || segments.get(k).isFreed());
        emit("after shutdown, allocatePages", () -> mm.allocatePages("x", 0));
        emit("after shutdown, release(null)", () -> {
            mm.release((MemorySegment) null);
            return "ok";
        });
        emit("after shutdown, release(collection)", () -> {
            mm.release(new ArrayList<>());
            return "ok";
        });
        emit("after shutdown, releaseAll", () -> {
            mm.releaseAll("x");
            return "ok";
        });
        emit("after shutdown, reserveMemory", () -> {
            mm.reserveMemory("x", 1);
            return "ok";
        });
        emit("after shutdown, shared resource", () -> lease(mm.getSharedMemoryResourceForManagedMemory(
                "late", size -> new Resource(size, closeLog), 0.5)));
        other.shutdown();
    }

    /** A page count: mostly small, sometimes the whole budget, more, or negative. */
    static int pick(Random rnd, int total) {
        switch (rnd.nextInt(10)) {
            case 0:
                return total;
            case 1:
                return total + 1;
            case 2:
                return -rnd.nextInt(3);
            case 3:
                return 0;
            default:
                return 1 + rnd.nextInt(Math.max(1, Math.min(total, 6)));
        }
    }

    static String lease(OpaqueMemoryResource<Resource> r) {
        leases.add(r);
        return "lease#" + (leases.size() - 1) + " size " + r.getSize() + " handle " + r.getResourceHandle();
    }

    static String added(Collection<MemorySegment> got) {
        StringBuilder sb = new StringBuilder();
        for (MemorySegment s : got) {
            segments.add(s);
            names.add("seg" + (segments.size() - 1));
            sb.append(names.get(names.size() - 1)).append(' ');
        }
        return "[" + sb.toString().trim() + "]";
    }

    static String name(int k) {
        return k < 0 ? "null" : names.get(k);
    }

    static void emit(String what, Op op) {
        String result;
        try {
            Object r = op.run();
            result = "-> " + r;
        } catch (Throwable t) {
            result = "!! " + describe(t);
            if (t.getCause() != null) {
                result += " / cause " + describe(t.getCause());
            }
        }
        out.append(line++).append(' ').append(what).append(' ').append(result).append('\n');
    }

    static String describe(Throwable t) {
        return t.getClass().getName() + ": " + t.getMessage();
    }
}
