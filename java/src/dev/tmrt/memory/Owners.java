package dev.tmrt.memory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The owners of one {@link MemoryManager}: owner objects by identity to their {@link OwnerRecord}s
 * (an {@link IdentityHashMap}; Flink's map uses {@code equals}, which is the same for its owners,
 * operators and tasks that do not override it), numbered in order (numbers are never reused; the
 * number is what the page table records as the holder of a page). The owner used last is cached
 * (one volatile read, no lock); other lookups take the registry's monitor. Records of owners that
 * hold nothing any more are dropped in batches whenever the map has doubled (their credit goes
 * back to the pool), so the map stays bounded without work per release.
 */
final class Owners {
    private static final int MIN_PURGE_AT = 64;

    /** Guarded by this object's monitor. */
    final IdentityHashMap<Object, OwnerRecord> records = new IdentityHashMap<>();
    private volatile OwnerRecord last;
    private long nextId = 1;
    private int purgeAt = MIN_PURGE_AT;
    /** Where the credit of dropped records goes. */
    private final OwnerBook.ReservedBudget budget;

    Owners(OwnerBook.ReservedBudget budget) {
        this.budget = budget;
    }

    /** The record of {@code owner}, made if there is none, returned LOCKED and alive. */
    OwnerRecord lockOrCreate(Object owner) {
        OwnerRecord r = last;
        if (r == null || r.owner != owner) {
            r = lookUp(owner, true);
        }
        for (;;) {
            r.lock();
            if (!r.dead) {
                return r;
            }
            r.unlock();
            r = lookUp(owner, true);
        }
    }

    /** The alive record of {@code owner}, LOCKED, or null when it has none. */
    OwnerRecord lockExisting(Object owner) {
        OwnerRecord r = last;
        if (r == null || r.owner != owner) {
            r = lookUp(owner, false);
        }
        while (r != null) {
            r.lock();
            if (!r.dead) {
                return r;
            }
            r.unlock();
            r = lookUp(owner, false);
        }
        return null;
    }

    private synchronized OwnerRecord lookUp(Object owner, boolean create) {
        OwnerRecord r = records.get(owner);
        if (r == null) {
            if (!create) {
                return null;
            }
            if (records.size() >= purgeAt) {
                purge();
            }
            if (nextId > PageTable.MAX_OWNER_ID) {
                throw new IllegalStateException(
                        "this memory manager has used all " + PageTable.MAX_OWNER_ID + " owner ids");
            }
            r = new OwnerRecord(owner, nextId++);
            records.put(owner, r);
        }
        last = r;
        return r;
    }

    /** The number of {@code owner}, or -1. */
    synchronized long idOf(Object owner) {
        OwnerRecord r = records.get(owner);
        return r == null ? -1 : r.id;
    }

    /** Drops records that hold nothing; call under this object's monitor. */
    private void purge() {
        for (Iterator<OwnerRecord> it = records.values().iterator(); it.hasNext(); ) {
            OwnerRecord r = it.next();
            if (r.tryLock()) {
                try {
                    if (r.isEmpty()) {
                        r.returnCredit(budget);
                        r.dead = true;
                        it.remove();
                    }
                } finally {
                    r.unlock();
                }
            }
        }
        OwnerRecord l = last;
        if (l != null && l.dead) {
            last = null;
        }
        purgeAt = Math.max(MIN_PURGE_AT, records.size() * 2);
    }

    /** Who holds what: triples (owner number, pages, reserved bytes), by number; holders only. */
    synchronized long[] usage() {
        List<OwnerRecord> all = new ArrayList<>(records.values());
        all.sort(Comparator.comparingLong(r -> r.id));
        long[] triples = new long[3 * all.size()];
        int n = 0;
        for (OwnerRecord r : all) {
            r.lock();
            try {
                if (!r.isEmpty()) {
                    triples[n++] = r.id;
                    triples[n++] = r.size();
                    triples[n++] = r.reserved;
                }
            } finally {
                r.unlock();
            }
        }
        return java.util.Arrays.copyOf(triples, n);
    }

    /**
     * Gives every owner's credit back to the pool, one record locked at a time (call holding no
     * record's lock): how many bytes went back. Before the pool refuses anyone.
     */
    long returnCredit() {
        long back = 0;
        for (OwnerRecord r : snapshot()) {
            r.lock();
            try {
                back += r.returnCredit(budget);
            } finally {
                r.unlock();
            }
        }
        return back;
    }

    /** The credit all owners keep now (available memory, in truth). */
    long credit() {
        long sum = 0;
        for (OwnerRecord r : snapshot()) {
            r.lock();
            sum += r.credit();
            r.unlock();
        }
        return sum;
    }

    private synchronized List<OwnerRecord> snapshot() {
        return new ArrayList<>(records.values());
    }

    /** The owner object of number {@code id}, or null. */
    synchronized Object ownerOf(long id) {
        for (Map.Entry<Object, OwnerRecord> e : records.entrySet()) {
            if (e.getValue().id == id) {
                return e.getKey();
            }
        }
        return null;
    }

    /** Marks every record dead and forgets them (shutdown); returns them. */
    synchronized List<OwnerRecord> clear() {
        List<OwnerRecord> all = new ArrayList<>(records.values());
        for (OwnerRecord r : all) {
            r.lock();
            r.dead = true;
            r.dropCredit();
            r.unlock();
        }
        records.clear();
        last = null;
        return all;
    }
}
