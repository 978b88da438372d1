package dev.tmrt.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Java side of the page-table protocol defined in tmrt's {@code runtime/src/managed/protocol.rs}
 * (read its module documentation first): a line-by-line port of the single-page allocate and
 * release, operating with {@link VarHandle}s on the same memory as the native pool (a direct
 * {@link ByteBuffer} over the table's mapping). Everything else (batches, releasing an owner's
 * pages, reservations, returning memory, closing, reports) is native. Change one side, change
 * the other; {@code tests/managed_java.rs} checks that they agree.
 *
 * <p>Allocation is split so that the memory manager can register the segment before the page
 * becomes visible as held: {@link #takeHot()} (the parked page, with its claim), else
 * {@link #claimOne()} then {@link #popClaimed()}; then {@link #publish}.
 */
final class PageTable {
    private static final VarHandle LONGS =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final VarHandle INTS =
            MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    // Layout and encoding: protocol.rs.
    private static final int BUDGET = 0;
    private static final int WARM = 8;
    private static final int COLD = 16;
    private static final int HINT_TAG = 24;
    private static final int HINT_LEN = 32;
    private static final int TOTAL = 40;
    private static final int IDLE_MIN = 48;
    private static final int MAX_RETAINED = 56;
    private static final int HOT = 64;
    private static final int HEADER_BYTES = 128;
    /** {@link #takeHot()}: no page was parked. */
    static final long NO_PAGE = -1L;
    private static final long LOW = 0xFFFF_FFFFL;
    private static final long TAG_MASK = 0xFFFF_FFFF_0000_0000L;
    private static final int NIL = -1;
    private static final long KIND_MASK = 7;
    private static final long WARM_FREE = 1;
    private static final long HELD = 2;
    private static final long RELEASING = 3;
    private static final long LEAKED = 4;
    /** The largest owner id a state word can carry (protocol.rs: MAX_OWNER_ID). */
    static final long MAX_OWNER_ID = (1L << 29) - 1;

    /** {@link #claimOne()}: the budget is full. */
    static final int FULL = 1;
    /** {@link #claimOne()} and {@link #release}: the table is closed. */
    static final int CLOSED = 2;
    /** {@link #release}: released; the slot may hold more warm pages than the policy allows. */
    static final int DUE = 3;
    /** {@link #release}: the page is not held with this generation (or is not in the table). */
    static final int NOT_HELD = 4;
    /** {@link #release} and {@link #claimOne()}: done. */
    static final int OK = 0;

    private final ByteBuffer table;
    private final int total;
    private final int nextBase;
    private final long idleMin;
    private final long maxRetained;

    PageTable(ByteBuffer table) {
        this.table = table.order(ByteOrder.nativeOrder());
        this.total = (int) (long) LONGS.getVolatile(this.table, TOTAL);
        this.nextBase = HEADER_BYTES + 8 * total;
        this.idleMin = (long) LONGS.getVolatile(this.table, IDLE_MIN);
        this.maxRetained = (long) LONGS.getVolatile(this.table, MAX_RETAINED);
    }

    int total() {
        return total;
    }

    /**
     * Allocate, step 0: takes the hot page (released last, parked with its budget claim) and
     * returns its handle bits with the generation it will be published with, or
     * {@link #NO_PAGE}.
     */
    long takeHot() {
        long h = (long) LONGS.getAcquire(table, HOT);
        for (;;) {
            int i = (int) h;
            if (i == NIL) {
                return NO_PAGE;
            }
            long witness = (long) LONGS.compareAndExchange(table, HOT, h, (h & TAG_MASK) | LOW);
            if (witness == h) {
                return bitsOf(i);
            }
            h = witness;
        }
    }

    /** Gives a page from {@link #takeHot()} back unused: pushed on the warm stack, claim returned. */
    void giveBack(long bits) {
        push((int) bits);
        LONGS.getAndAdd(table, BUDGET, -1L);
    }

    /** Allocate, step 1: claims one page of the budget. */
    int claimOne() {
        long b = (long) LONGS.getVolatile(table, BUDGET);
        for (;;) {
            if (b < 0) {
                return CLOSED;
            }
            long used = (b & LOW) + ((b >>> 32) & 0x7FFF_FFFFL);
            if (used + 1 > total) {
                return FULL;
            }
            long witness = (long) LONGS.compareAndExchange(table, BUDGET, b, b + 1);
            if (witness == b) {
                return OK;
            }
            b = witness;
        }
    }

    /**
     * Allocate, step 2: pops a claimed page (warm first) and returns its handle bits with the
     * generation it will be published with. Spins while a trim holds the pages.
     */
    long popClaimed() {
        int spins = 0;
        for (;;) {
            int i = pop(WARM);
            if (i == NIL) {
                i = pop(COLD);
            }
            if (i != NIL) {
                return bitsOf(i);
            }
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private long bitsOf(int i) {
        long s = (long) LONGS.getAcquire(table, stateOffset(i));
        int generation = (int) (s >>> 32) + 1;
        return ((long) generation << 32) | (i & LOW);
    }

    /** Allocate, step 3: marks the popped page held by {@code owner}. */
    void publish(long bits, long owner) {
        int i = (int) bits;
        long generation = bits >>> 32;
        LONGS.setRelease(table, stateOffset(i), (generation << 32) | (owner << 3) | HELD);
    }

    /** Gives back a claim that was not used (the caller popped nothing). */
    void unclaimOne() {
        LONGS.getAndAdd(table, BUDGET, -1L);
    }

    private int pop(int head) {
        long h = (long) LONGS.getAcquire(table, head);
        for (;;) {
            int top = (int) h;
            if (top == NIL) {
                return NIL;
            }
            int next = (int) INTS.getAcquire(table, nextBase + 4 * top);
            long witness = (long) LONGS.compareAndExchange(table, head, h, (h & TAG_MASK) | (next & LOW));
            if (witness == h) {
                return top;
            }
            h = witness;
        }
    }

    /**
     * Releases one page: {@link #OK} or {@link #DUE} (released), {@link #NOT_HELD} or
     * {@link #CLOSED} (refused, nothing changed: the caller asks the native pool for the exact
     * error).
     */
    int release(long bits) {
        int i = (int) bits;
        int generation = (int) (bits >>> 32);
        if (i < 0 || i >= total) {
            return NOT_HELD;
        }
        if ((long) LONGS.getVolatile(table, BUDGET) < 0) {
            return CLOSED;
        }
        int offset = stateOffset(i);
        long s = (long) LONGS.getAcquire(table, offset);
        for (;;) {
            if ((int) (s >>> 32) != generation) {
                return NOT_HELD;
            }
            long kind = s & KIND_MASK;
            if (kind == HELD) {
                long witness = (long) LONGS.compareAndExchange(table, offset, s, ((long) generation << 32) | WARM_FREE);
                if (witness == s) {
                    break;
                }
                s = witness;
            } else if (kind == RELEASING) {
                Thread.onSpinWait();
                s = (long) LONGS.getAcquire(table, offset);
            } else if (kind == LEAKED) {
                return CLOSED;
            } else {
                return NOT_HELD;
            }
        }
        long hot = (long) LONGS.getAcquire(table, HOT);
        while ((int) hot == NIL) {
            long parked = (((hot >>> 32) + 1) << 32) | (i & LOW);
            long witness = (long) LONGS.compareAndExchange(table, HOT, hot, parked);
            if (witness == hot) {
                // Parked as the hot page, still claimed: the next single-page allocation takes it.
                boolean idle = ((long) LONGS.getVolatile(table, BUDGET) & LOW) == 1;
                int tag = (int) ((long) LONGS.getOpaque(table, WARM) >>> 32);
                return due(tag, idle, 1);
            }
            hot = witness;
        }
        int tag = push(i);
        long left = ((long) LONGS.getAndAdd(table, BUDGET, -1L) & LOW) - 1;
        long parked = (int) (long) LONGS.getAcquire(table, HOT) == NIL ? 0 : 1;
        // Idle: no page held, the budget counts at most the hot page.
        return due(tag, left == parked, parked);
    }

    /** Pushes a free page on the warm stack; returns the new tag. */
    private int push(int i) {
        long h = (long) LONGS.getAcquire(table, WARM);
        for (;;) {
            INTS.set(table, nextBase + 4 * i, (int) h);
            int tag = (int) (h >>> 32) + 1;
            long witness = (long) LONGS.compareAndExchange(table, WARM, h, ((long) tag << 32) | (i & LOW));
            if (witness == h) {
                return tag;
            }
            h = witness;
        }
    }

    /** Whether the warm pages may exceed the policy (protocol.rs: returning memory). */
    private int due(int tag, boolean idle, long hot) {
        long base = (long) LONGS.getOpaque(table, HINT_TAG);
        long bound = (long) LONGS.getOpaque(table, HINT_LEN) + ((tag - (int) base) & LOW) + hot;
        return (idle && bound >= idleMin) || bound > maxRetained ? DUE : OK;
    }

    /**
     * Whether the page of {@code bits} is held now with that generation (by its owner, or being
     * released by a batch). False once released by any path, or leaked at shutdown.
     */
    boolean isHeld(long bits) {
        int i = (int) bits;
        if (i < 0 || i >= total) {
            return false;
        }
        long s = (long) LONGS.getAcquire(table, stateOffset(i));
        long kind = s & KIND_MASK;
        return (kind == HELD || kind == RELEASING) && (int) (s >>> 32) == (int) (bits >>> 32);
    }

    private static int stateOffset(int i) {
        return HEADER_BYTES + 8 * i;
    }
}
