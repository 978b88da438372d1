package dev.tmrt.memory.dropin;

import dev.tmrt.memory.OwnerBook;
import dev.tmrt.memory.SlotPages;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Owner objects of one memory manager, to their {@link OwnerSegments}: keys compared with
 * {@code equals}/{@code hashCode}, as Flink's {@code ConcurrentHashMap} compares them (a task's
 * owners are often {@code String}s or objects that do not override {@code equals}). The owner used
 * last is cached (an identity check, no hashing); a lookup that misses it is a lock-free
 * {@code ConcurrentHashMap.get}. Records of owners that hold nothing any more (no segment, no
 * reservation, not a key for Flink) are purged in batches when the map has doubled (their credit
 * goes back to the pool), so the map stays bounded without work per release.
 */
public final class Owners {
    private static final int MIN_PURGE_AT = 64;

    private final ConcurrentHashMap<Object, OwnerSegments> map = new ConcurrentHashMap<>();
    private final boolean byIdentity;
    /** The slot pool, where credit goes back; null without one (no credit is kept then). */
    private final OwnerBook.ReservedBudget budget;
    private volatile OwnerSegments last;
    private long nextId = 1; // guarded by this
    private int purgeAt = MIN_PURGE_AT; // guarded by this

    /**
     * Owners over the slot pool {@code budget}, or over Flink's own allocation when it is null
     * (segments are not tmrt pages then: they are found by identity, not by page index).
     */
    public Owners(OwnerBook.ReservedBudget budget) {
        this.budget = budget;
        this.byIdentity = budget == null;
    }

    /** The record of {@code owner} (non-null), or null; may be dead (callers recheck locked). */
    public OwnerSegments find(Object owner) {
        OwnerSegments c = last;
        if (c != null && c.owner == owner) {
            return c;
        }
        c = map.get(owner);
        if (c != null) {
            last = c;
        }
        return c;
    }

    /** The record of {@code owner} (non-null), made if there is none, returned LOCKED and alive. */
    public OwnerSegments lockOrCreate(Object owner) {
        for (;;) {
            OwnerSegments c = find(owner);
            if (c == null) {
                synchronized (this) {
                    c = map.get(owner);
                    if (c == null) {
                        if (map.size() >= purgeAt) {
                            purge();
                        }
                        long id = (nextId++ - 1) % SlotPages.MAX_OWNER_ID + 1;
                        c = new OwnerSegments(owner, id, byIdentity);
                        map.put(owner, c);
                    }
                }
                last = c;
            }
            c.lock();
            if (!c.dead) {
                return c;
            }
            c.unlock();
        }
    }

    /** The alive record of {@code owner}, LOCKED, or null when there is none. */
    public OwnerSegments lockExisting(Object owner) {
        for (;;) {
            OwnerSegments c = find(owner);
            if (c == null) {
                return null;
            }
            c.lock();
            if (!c.dead) {
                return c;
            }
            c.unlock();
            map.remove(owner, c);
        }
    }

    /** Every record (shutdown, reports). */
    public Iterable<OwnerSegments> all() {
        return map.values();
    }

    /**
     * Who holds what: triples (owner number, pages, reserved bytes), by number; holders only.
     * For the agent's report ({@link SlotPages#describeOwnersWith}); locks one record at a time.
     */
    public long[] usage() {
        java.util.List<OwnerSegments> all = new java.util.ArrayList<>(map.values());
        all.sort(java.util.Comparator.comparingLong(c -> c.id));
        long[] triples = new long[3 * all.size()];
        int n = 0;
        for (OwnerSegments c : all) {
            c.lock();
            try {
                if (!c.dead && (c.size() > 0 || c.reserved > 0)) {
                    triples[n++] = c.id;
                    triples[n++] = c.size();
                    triples[n++] = c.reserved;
                }
            } finally {
                c.unlock();
            }
        }
        return java.util.Arrays.copyOf(triples, n);
    }

    /**
     * Gives every owner's credit back to the pool, one record locked at a time (call holding no
     * record's lock): how many bytes went back. Before the pool refuses anyone.
     */
    public long returnCredit() {
        long back = 0;
        if (budget != null) {
            for (OwnerSegments c : map.values()) {
                c.lock();
                try {
                    back += c.returnCredit(budget);
                } finally {
                    c.unlock();
                }
            }
        }
        return back;
    }

    /** The credit all owners keep now (available memory, in truth). */
    public long credit() {
        long sum = 0;
        for (OwnerSegments c : map.values()) {
            c.lock();
            sum += c.credit();
            c.unlock();
        }
        return sum;
    }

    /** How many records the map holds now (tests). */
    public int size() {
        return map.size();
    }

    /** Drops records that hold nothing; call under this object's monitor. */
    private void purge() {
        for (OwnerSegments c : map.values()) {
            if (c.tryLock()) {
                try {
                    if (c.size() == 0 && !c.present && c.reserved == 0) {
                        if (budget != null) {
                            c.returnCredit(budget);
                        }
                        c.dead = true;
                        map.remove(c.owner, c);
                    }
                } finally {
                    c.unlock();
                }
            }
        }
        OwnerSegments l = last;
        if (l != null && l.dead) {
            last = null;
        }
        purgeAt = Math.max(MIN_PURGE_AT, map.size() * 2);
    }
}
