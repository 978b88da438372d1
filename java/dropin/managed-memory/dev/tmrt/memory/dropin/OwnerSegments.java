package dev.tmrt.memory.dropin;

import dev.tmrt.memory.OwnerBook;
import java.util.IdentityHashMap;
import org.apache.flink.core.memory.MemorySegment;

/**
 * The managed segments one owner holds: what Flink's {@code MemoryManager} keeps as the
 * {@code Set<MemorySegment>} under the owner's key, as an array (append, swap-remove) whose
 * positions are found through the segment's page index, so that registering and unregistering a
 * segment cost no hashing and no allocation.
 *
 * <p>{@link #present} is Flink's "the owner is a key of {@code allocatedSegments}": set by every
 * allocation (even of zero pages), cleared when a release empties the set or {@code releaseAll}
 * removes it. A record stays in the registry while logically absent (so that an owner allocating
 * and releasing one page at a time does not touch the registry's map each time), until a purge
 * marks it {@link #dead}.
 *
 * <p>All fields are guarded by the record's lock ({@link OwnerBook}, which also keeps the owner's
 * reserved bytes and credit). Callers that find a dead record after locking look the owner up again.
 */
public final class OwnerSegments extends OwnerBook {
    /** The owner object (the registry's key, compared with {@code equals} as Flink does). */
    public final Object owner;
    /** The owner's number in the slot pool's page table (for reports). */
    public final long id;

    private MemorySegment[] segs = new MemorySegment[4];
    /** The page index of each segment ({@code -1} for segments that are not tmrt pages). */
    private int[] pages = new int[4];
    private int count;
    /** Flink's "the owner is a key of allocatedSegments". */
    public boolean present;
    /** Purged from the registry: look the owner up again. */
    boolean dead;
    /** Positions of segments that are not tmrt pages (the fallback without a slot pool). */
    private final IdentityHashMap<MemorySegment, Integer> where;

    OwnerSegments(Object owner, long id, boolean byIdentity) {
        this.owner = owner;
        this.id = id;
        this.where = byIdentity ? new IdentityHashMap<>() : null;
    }

    /** Whether a purge removed the record (call under the lock). */
    public boolean isDead() {
        return dead;
    }

    /** Segments registered now. */
    public int size() {
        return count;
    }

    /** Registers {@code s}, the segment of page {@code page} ({@code -1}: not a tmrt page). */
    public void add(MemorySegment s, int page, int[] slotOf) {
        if (count == segs.length) {
            segs = java.util.Arrays.copyOf(segs, count * 2);
            pages = java.util.Arrays.copyOf(pages, count * 2);
        }
        segs[count] = s;
        pages[count] = page;
        if (where != null) {
            where.put(s, count);
        } else if (page >= 0) {
            slotOf[page] = count;
        }
        count++;
    }

    /** Forgets the segments registered after the first {@code keep} (an allocation that failed). */
    public void truncate(int keep) {
        while (count > keep) {
            MemorySegment s = segs[--count];
            segs[count] = null;
            if (where != null) {
                where.remove(s);
            }
        }
    }

    /**
     * Unregisters {@code s} (of page {@code page}, or {@code -1}); false when it is not
     * registered here (Flink's {@code Set.remove} returning false).
     */
    public boolean remove(MemorySegment s, int page, int[] slotOf) {
        int k = -1;
        if (where != null) {
            Integer w = where.remove(s);
            if (w == null) {
                return false;
            }
            k = w;
        } else {
            if (page >= 0) {
                int c = slotOf[page];
                if (c >= 0 && c < count && segs[c] == s) {
                    k = c;
                }
            }
            if (k < 0) {
                // Not where its page says: a segment freed directly (its page went to another
                // segment since), or one that is not registered here at all.
                for (int i = 0; i < count; i++) {
                    if (segs[i] == s) {
                        k = i;
                        break;
                    }
                }
                if (k < 0) {
                    return false;
                }
            }
        }
        int last = --count;
        if (k != last) {
            MemorySegment moved = segs[last];
            segs[k] = moved;
            pages[k] = pages[last];
            if (where != null) {
                where.put(moved, k);
            } else if (pages[k] >= 0 && !moved.isFreed()) {
                slotOf[pages[k]] = k;
            }
        }
        segs[last] = null;
        return true;
    }

    /** Unregisters every segment and returns them (releaseAll, shutdown). */
    public MemorySegment[] takeAll() {
        MemorySegment[] all = java.util.Arrays.copyOf(segs, count);
        java.util.Arrays.fill(segs, 0, count, null);
        if (where != null) {
            where.clear();
        }
        count = 0;
        return all;
    }
}
