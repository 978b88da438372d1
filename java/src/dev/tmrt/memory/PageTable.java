package dev.tmrt.memory;

import java.lang.reflect.Field;

/**
 * The Java side of the page-table protocol defined in tmrt's {@code runtime/src/managed/protocol.rs}
 * (read its module documentation first): a line-by-line port of the single-page allocate and
 * release, operating with atomic accesses on the same memory as the native pool (the table's
 * mapping, at the address the native pool gives), and of the batch allocate and release and the
 * reservations. Everything else (returning memory, closing, reports, and every error's exact text
 * for the tmrt API) is native. Change one side, change the other; {@code tests/managed_java.rs}
 * checks that they agree.
 *
 * <p>Allocation is in the steps of protocol.rs: {@link #takeHot()} (the parked page, with its
 * claim), else {@link #claim} then {@link #popClaimed()}; then {@link #publish}.
 * {@link #allocateOne} and {@link #allocate} run them for both Java faces, which fall back to the
 * native pool when they say no.
 *
 * <p><b>Why {@code sun.misc.Unsafe}.</b> {@code MethodHandles.byteBufferViewVarHandle} over a
 * direct buffer of the table works (an earlier version used it) but costs about 2 ns of checks
 * per access on JDK 17, some 25 ns per page allocated and released, more than the atomic
 * operations themselves; Flink's own {@code MemorySegment} uses {@code Unsafe} for the same
 * reason. Raw addresses are safe here because (1) every address is {@code base} plus an offset
 * inside the table: page indices are checked against {@code total} before use, including the
 * ones read from the table itself; (2) the table lives as long as the native pool, which the
 * memory manager's {@code Cleaner} frees only once the memory manager is unreachable, and this
 * object is reachable only through the memory manager (segments hold it), whose every method
 * that uses it is fenced with {@code Reference.reachabilityFence}.
 */
final class PageTable {
    private static final sun.misc.Unsafe U;

    static {
        dev.tmrt.NativeLibrary.load();
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            U = (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

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
    private static final int RESERVED = 72;
    private static final int RES_LOCK = 80;
    private static final int SIZE = 88;
    private static final int SHIFT = 96;
    private static final long SUSPENDED = 1L << 62;
    private static final int HEADER_BYTES = 128;
    /** {@link #takeHot()}: no page was parked. */
    static final long NO_PAGE = -1L;
    /** Batches up to this size are allocated here in Java, larger ones by the native pool. */
    static final int BATCH_MAX = 64;
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

    /** {@link #claim}: the budget is full. */
    static final int FULL = 1;
    /** {@link #claim} and {@link #release}: the table is closed. */
    static final int CLOSED = 2;
    /** {@link #release}: released; the slot may hold more warm pages than the policy allows. */
    static final int DUE = 3;
    /** {@link #release}: the page is not held with this generation (or is not in the table). */
    static final int NOT_HELD = 4;
    /** {@link #release} and {@link #claim}: done. */
    static final int OK = 0;
    /** {@link #releaseBatch}: a page appears twice in the batch. */
    static final int DUPLICATE = 5;

    static {
        checkLayout(nativeLayout());
    }

    /**
     * Checks this port's constants against the native definition ({@code protocol::layout()} in
     * Rust: names and values, in pairs); a mismatch is an error naming both values.
     */
    static void checkLayout(String[] nativeLayout) {
        java.util.Map<String, Long> mine = new java.util.LinkedHashMap<>();
        mine.put("BUDGET", (long) BUDGET);
        mine.put("WARM", (long) WARM);
        mine.put("COLD", (long) COLD);
        mine.put("HINT_TAG", (long) HINT_TAG);
        mine.put("HINT_LEN", (long) HINT_LEN);
        mine.put("TOTAL", (long) TOTAL);
        mine.put("IDLE_MIN", (long) IDLE_MIN);
        mine.put("MAX_RETAINED", (long) MAX_RETAINED);
        mine.put("HOT", (long) HOT);
        mine.put("RESERVED", (long) RESERVED);
        mine.put("RES_LOCK", (long) RES_LOCK);
        mine.put("SIZE", (long) SIZE);
        mine.put("SHIFT", (long) SHIFT);
        mine.put("SUSPENDED", SUSPENDED);
        mine.put("HEADER_BYTES", (long) HEADER_BYTES);
        mine.put("STATE_BYTES", 8L);
        mine.put("NEXT_BYTES", 4L);
        mine.put("KIND_MASK", KIND_MASK);
        mine.put("COLD_FREE", 0L);
        mine.put("WARM_FREE", WARM_FREE);
        mine.put("HELD", HELD);
        mine.put("RELEASING", RELEASING);
        mine.put("LEAKED", LEAKED);
        mine.put("OWNER_SHIFT", 3L);
        mine.put("MAX_OWNER_ID", MAX_OWNER_ID);
        mine.put("CLOSED", Long.MIN_VALUE);
        mine.put("NIL", LOW);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i + 1 < nativeLayout.length; i += 2) {
            String name = nativeLayout[i];
            long value = Long.parseUnsignedLong(nativeLayout[i + 1]);
            Long java = mine.get(name);
            if (java == null) {
                throw new IllegalStateException("page table layout: the native side defines " + name + " = "
                        + Long.toUnsignedString(value) + ", which dev.tmrt.memory.PageTable does not know");
            }
            if (java != value) {
                throw new IllegalStateException("page table layout: " + name + " is " + Long.toUnsignedString(value)
                        + " in the native library (protocol.rs) but " + Long.toUnsignedString(java)
                        + " in dev.tmrt.memory.PageTable");
            }
            seen.add(name);
        }
        for (String name : mine.keySet()) {
            if (!seen.contains(name)) {
                throw new IllegalStateException("page table layout: " + name + " = "
                        + Long.toUnsignedString(mine.get(name))
                        + " in dev.tmrt.memory.PageTable is missing from the native library (protocol.rs)");
            }
        }
    }

    /** {@code protocol::layout()}: names and values (unsigned decimal), alternating. */
    private static native String[] nativeLayout();

    /** The table's first byte (8-byte aligned: the mapping is page-aligned). */
    private final long base;
    private final int total;
    private final long nextBase;
    private final long size;
    private final int shift;

    /** The table at {@code base}, {@code length} bytes (from the native pool). */
    PageTable(long base, long length) {
        this.base = base;
        long pages = U.getLongVolatile(null, base + TOTAL);
        if (pages < 0 || pages > Integer.MAX_VALUE || HEADER_BYTES + 12 * pages != length) {
            throw new IllegalStateException("page table of " + length + " bytes says " + pages + " pages");
        }
        this.total = (int) pages;
        this.nextBase = HEADER_BYTES + 8L * total;
        this.size = U.getLongVolatile(null, base + SIZE);
        this.shift = (int) U.getLongVolatile(null, base + SHIFT);
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
        long h = U.getLongVolatile(null, base + HOT);
        for (;;) {
            int i = (int) h;
            if (i == NIL) {
                return NO_PAGE;
            }
            checkIndex(i);
            if (U.compareAndSwapLong(null, base + HOT, h, (h & TAG_MASK) | LOW)) {
                return bitsOf(i);
            }
            h = U.getLongVolatile(null, base + HOT);
        }
    }

    /**
     * Gives a page from {@link #takeHot()} or {@link #popClaimed()} back unused: pushed on the
     * warm stack, claim returned.
     */
    void giveBack(long bits) {
        int i = (int) bits;
        long offset = stateOffset(i);
        // Free already (taken from HOT, or popped from either stack): marked warm for its stack.
        U.putLongVolatile(null, base + offset, (U.getLongVolatile(null, base + offset) & ~KIND_MASK) | WARM_FREE);
        push(i);
        U.getAndAddLong(null, base + BUDGET, -1L);
    }

    /** Allocate, step 1: claims {@code n >= 0} pages of the budget, all or nothing. */
    int claim(int n) {
        long b = U.getLongVolatile(null, base + BUDGET);
        for (;;) {
            if (b < 0) {
                return CLOSED;
            }
            long used = (b & LOW) + ((b >>> 32) & 0x7FFF_FFFFL);
            if (used + n > total) {
                return FULL;
            }
            if (U.compareAndSwapLong(null, base + BUDGET, b, b + n)) {
                return OK;
            }
            b = U.getLongVolatile(null, base + BUDGET);
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
        long s = U.getLongVolatile(null, base + stateOffset(i));
        int generation = (int) (s >>> 32) + 1;
        return ((long) generation << 32) | (i & LOW);
    }

    /** Allocate, step 3: marks the popped page held by {@code owner}. */
    void publish(long bits, long owner) {
        int i = (int) bits;
        long generation = bits >>> 32;
        U.putOrderedLong(null, base + stateOffset(i), (generation << 32) | (owner << 3) | HELD);
    }

    private int pop(int head) {
        long h = U.getLongVolatile(null, base + head);
        for (;;) {
            int top = (int) h;
            if (top == NIL) {
                return NIL;
            }
            checkIndex(top);
            int next = U.getIntVolatile(null, base + nextBase + 4L * top);
            if (U.compareAndSwapLong(null, base + head, h, (h & TAG_MASK) | (next & LOW))) {
                return top;
            }
            h = U.getLongVolatile(null, base + head);
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
        // Step (1), the closed check, is left to the state word here: closing marks every held
        // page LEAKED, and a free page is refused as not held (the native pool then reports
        // the shut down first).
        long offset = stateOffset(i);
        long s = U.getLongVolatile(null, base + offset);
        for (;;) {
            if ((int) (s >>> 32) != generation) {
                return NOT_HELD;
            }
            long kind = s & KIND_MASK;
            if (kind == HELD) {
                if (U.compareAndSwapLong(null, base + offset, s, ((long) generation << 32) | WARM_FREE)) {
                    break;
                }
                s = U.getLongVolatile(null, base + offset);
            } else if (kind == RELEASING) {
                Thread.onSpinWait();
                s = U.getLongVolatile(null, base + offset);
            } else if (kind == LEAKED) {
                return CLOSED;
            } else {
                return NOT_HELD;
            }
        }
        long hot = U.getLongVolatile(null, base + HOT);
        while ((int) hot == NIL) {
            long parked = (((hot >>> 32) + 1) << 32) | (i & LOW);
            if (U.compareAndSwapLong(null, base + HOT, hot, parked)) {
                // Parked as the hot page, still claimed: the next single-page allocation takes it.
                // Policy reads are hints: plain loads.
                boolean idle = (U.getLong(null, base + BUDGET) & LOW) == 1;
                int tag = (int) (U.getLong(null, base + WARM) >>> 32);
                return due(tag, idle, 1);
            }
            hot = U.getLongVolatile(null, base + HOT);
        }
        int tag = push(i);
        long left = (U.getAndAddLong(null, base + BUDGET, -1L) & LOW) - 1;
        long parked = (int) U.getLongVolatile(null, base + HOT) == NIL ? 0 : 1;
        // Idle: no page held, the budget counts at most the hot page.
        return due(tag, left == parked, parked);
    }

    /** Pushes a free page on the warm stack; returns the new tag. */
    private int push(int i) {
        long h = U.getLongVolatile(null, base + WARM);
        for (;;) {
            U.putInt(null, base + nextBase + 4L * i, (int) h);
            int tag = (int) (h >>> 32) + 1;
            if (U.compareAndSwapLong(null, base + WARM, h, ((long) tag << 32) | (i & LOW))) {
                return tag;
            }
            h = U.getLongVolatile(null, base + WARM);
        }
    }

    /**
     * Whether the warm pages may exceed the policy (protocol.rs: returning memory). The
     * thresholds are read each time: Rust suspends them while a return is deferred.
     */
    private int due(int tag, boolean idle, long hot) {
        long counted = U.getLong(null, base + HINT_TAG);
        long bound = U.getLong(null, base + HINT_LEN) + ((tag - (int) counted) & LOW) + hot;
        return (idle && bound >= U.getLong(null, base + IDLE_MIN)) || bound > U.getLong(null, base + MAX_RETAINED)
                ? DUE
                : OK;
    }

    /**
     * Allocate, step 2 for a batch: pops {@code n} claimed pages (warm first, as many as one CAS
     * takes from each stack) into {@code out[0..n)} as handle bits with the generation they will
     * be published with. Spins while a trim holds the pages.
     */
    void popClaimed(int n, long[] out) {
        int got = 0;
        int spins = 0;
        while (got < n) {
            int popped = popChain(WARM, n - got, out, got);
            if (popped == 0) {
                popped = popChain(COLD, n - got, out, got);
            }
            got += popped;
            if (popped == 0) {
                if (++spins < 64) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }

    /**
     * Pops up to {@code k} pages from stack {@code head} with one CAS (the walk may read links
     * that change under it; the push tag then fails the CAS), writing their bits to
     * {@code out[at..]}; returns how many.
     */
    private int popChain(int head, int k, long[] out, int at) {
        long h = U.getLongVolatile(null, base + head);
        for (;;) {
            int i = (int) h;
            int c = 0;
            while (i != NIL && c < k) {
                checkIndex(i);
                out[at + c++] = i;
                i = U.getIntVolatile(null, base + nextBase + 4L * i);
            }
            if (c == 0) {
                return 0;
            }
            if (U.compareAndSwapLong(null, base + head, h, (h & TAG_MASK) | (i & LOW))) {
                for (int j = 0; j < c; j++) {
                    out[at + j] = bitsOf((int) out[at + j]);
                }
                return c;
            }
            h = U.getLongVolatile(null, base + head);
        }
    }

    /** Allocate, step 3 for a batch: publishes {@code out[0..n)} as held by {@code owner}. */
    void publish(long[] bits, int n, long owner) {
        for (int k = 0; k < n; k++) {
            publish(bits[k], owner);
        }
    }

    /**
     * The three steps for one page: the parked hot page, else a claim and a pop; its handle,
     * published as held by {@code owner}, or {@link #NO_PAGE} with nothing changed when the
     * budget looks full or the table is closed (the caller asks the native pool, which decides
     * and words the refusal). What both Java faces ({@link Pages}, {@link SlotPages}) run.
     */
    long allocateOne(long owner) {
        long bits = takeHot();
        if (bits == NO_PAGE) {
            if (claim(1) != OK) {
                return NO_PAGE;
            }
            bits = popClaimed();
        }
        publish(bits, owner);
        return bits;
    }

    /**
     * The three steps for {@code n} pages, a batch of at most {@link #BATCH_MAX}: true when
     * {@code out[0..n)} hold them, published as held by {@code owner}; false with nothing changed
     * for a larger batch, a budget that looks full or a closed table (the caller asks the native
     * pool).
     */
    boolean allocate(long owner, int n, long[] out) {
        if (n > BATCH_MAX || claim(n) != OK) {
            return false;
        }
        popClaimed(n, out);
        publish(out, n, owner);
        return true;
    }

    /**
     * Releases {@code bits[0..n)}, all or nothing (protocol.rs: batches mark {@code RELEASING}
     * first and roll back): {@link #OK} or {@link #DUE} (released), else {@link #NOT_HELD},
     * {@link #DUPLICATE} or {@link #CLOSED} with nothing changed (the caller asks the native pool
     * for the exact error).
     */
    int releaseBatch(long[] bits, int n) {
        if (n == 0) {
            return OK;
        }
        for (int k = 0; k < n; k++) {
            long x = bits[k];
            int i = (int) x;
            int generation = (int) (x >>> 32);
            int fault = OK;
            if (i < 0 || i >= total) {
                fault = NOT_HELD;
            } else {
                long offset = stateOffset(i);
                long s = U.getLongVolatile(null, base + offset);
                for (;;) {
                    long kind = s & KIND_MASK;
                    if ((int) (s >>> 32) != generation) {
                        fault = NOT_HELD;
                    } else if (kind == HELD) {
                        if (!U.compareAndSwapLong(null, base + offset, s, (s & ~KIND_MASK) | RELEASING)) {
                            s = U.getLongVolatile(null, base + offset);
                            continue;
                        }
                    } else if (kind == RELEASING && inBatch(bits, k, i)) {
                        fault = DUPLICATE;
                    } else if (kind == LEAKED) {
                        fault = CLOSED;
                    } else {
                        // Free, or being released by another batch: a batch never waits.
                        fault = NOT_HELD;
                    }
                    break;
                }
            }
            if (fault != OK) {
                // Roll back: the marked words keep generation and owner, only the kind changed.
                for (int j = 0; j < k; j++) {
                    long offset = stateOffset((int) bits[j]);
                    long marked = U.getLongVolatile(null, base + offset);
                    U.putLongVolatile(null, base + offset, (marked & ~KIND_MASK) | HELD);
                }
                return fault;
            }
        }
        // All marked: free them, link them into one chain and push it with one CAS.
        for (int k = 0; k < n; k++) {
            int i = (int) bits[k];
            U.putOrderedLong(null, base + stateOffset(i), (bits[k] & TAG_MASK) | WARM_FREE);
            if (k + 1 < n) {
                U.putInt(null, base + nextBase + 4L * i, (int) bits[k + 1]);
            }
        }
        int first = (int) bits[0];
        int last = (int) bits[n - 1];
        long h = U.getLongVolatile(null, base + WARM);
        int tag;
        for (;;) {
            U.putInt(null, base + nextBase + 4L * last, (int) h);
            tag = (int) (h >>> 32) + n;
            if (U.compareAndSwapLong(null, base + WARM, h, ((long) tag << 32) | (first & LOW))) {
                break;
            }
            h = U.getLongVolatile(null, base + WARM);
        }
        long left = (U.getAndAddLong(null, base + BUDGET, -n) & LOW) - n;
        long parked = (int) U.getLongVolatile(null, base + HOT) == NIL ? 0 : 1;
        return due(tag, left == parked, parked);
    }

    /** Whether page {@code i} appears in {@code bits[0..k)}. */
    private static boolean inBatch(long[] bits, int k, int i) {
        for (int j = 0; j < k; j++) {
            if ((int) bits[j] == i) {
                return true;
            }
        }
        return false;
    }

    /** {@link #changeReserved}: the budget has no room; {@link #lastAvailable()} says how much it had. */
    static final long SHORT = -1;
    /** {@link #changeReserved}: the table is closed. */
    static final long CLOSED_TABLE = -2;

    /** Bytes available when the last {@link #changeReserved} of this thread was refused. */
    private static final ThreadLocal<long[]> REFUSED_AT = ThreadLocal.withInitial(() -> new long[1]);

    /**
     * Adds {@code add} bytes to the reserved total and takes {@code sub} away (the caller checked
     * that they were reserved), if the budget allows (protocol.rs: reserve or release): the new
     * total, or {@link #SHORT} / {@link #CLOSED_TABLE} with nothing changed.
     */
    long changeReserved(long add, long sub) {
        int spins = 0;
        while (!U.compareAndSwapLong(null, base + RES_LOCK, 0, 1)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        try {
            long before = U.getLongVolatile(null, base + RESERVED);
            long after = before - Math.min(sub, before) + add;
            if (after < 0 || after > size) {
                REFUSED_AT.get()[0] = available(U.getLongVolatile(null, base + BUDGET), before);
                return SHORT;
            }
            long blocked = total - Math.min((size - after) >>> shift, total);
            long b = U.getLongVolatile(null, base + BUDGET);
            for (;;) {
                if (b < 0) {
                    return CLOSED_TABLE;
                }
                if ((b & LOW) + blocked > total) {
                    long hot = takeHot();
                    if (hot != NO_PAGE) {
                        giveBack(hot);
                        b = U.getLongVolatile(null, base + BUDGET);
                        continue;
                    }
                    REFUSED_AT.get()[0] = available(b, before);
                    return SHORT;
                }
                if (U.compareAndSwapLong(null, base + BUDGET, b, (b & (Long.MIN_VALUE | LOW)) | (blocked << 32))) {
                    break;
                }
                b = U.getLongVolatile(null, base + BUDGET);
            }
            U.putOrderedLong(null, base + RESERVED, after);
            return after;
        } finally {
            U.putOrderedLong(null, base + RES_LOCK, 0);
        }
    }

    /** Bytes available when the last refused {@link #changeReserved} of this thread looked. */
    static long lastAvailable() {
        return REFUSED_AT.get()[0];
    }

    /** Bytes neither in pages nor reserved, with budget word {@code b} and {@code reserved} bytes. */
    private long available(long b, long reserved) {
        long hot = (int) U.getLongVolatile(null, base + HOT) == NIL ? 0 : 1;
        long pages = Math.max((b & LOW) - hot, 0);
        return Math.max(size - (pages << shift) - reserved, 0);
    }

    /** Bytes neither in pages nor reserved now (0 once closed). */
    long available() {
        long b = U.getLongVolatile(null, base + BUDGET);
        return b < 0 ? 0 : available(b, U.getLongVolatile(null, base + RESERVED));
    }

    /** Bytes reserved now, over all owners. */
    long reserved() {
        return U.getLongVolatile(null, base + RESERVED);
    }

    /** Pages held now (the parked hot page is free). */
    long pagesInUse() {
        long hot = (int) U.getLongVolatile(null, base + HOT) == NIL ? 0 : 1;
        return Math.max((U.getLongVolatile(null, base + BUDGET) & LOW) - hot, 0);
    }

    /** Whether the table was closed. */
    boolean isClosed() {
        return U.getLongVolatile(null, base + BUDGET) < 0;
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
        long s = U.getLongVolatile(null, base + stateOffset(i));
        long kind = s & KIND_MASK;
        return (kind == HELD || kind == RELEASING) && (int) (s >>> 32) == (int) (bits >>> 32);
    }

    private static long stateOffset(int i) {
        return HEADER_BYTES + 8L * i;
    }

    /** A page index read from the table must lie inside it (else no raw access is made). */
    private void checkIndex(int i) {
        if (i < 0 || i >= total) {
            throw new IllegalStateException("corrupt page table: page index " + i + " of " + total);
        }
    }
}
