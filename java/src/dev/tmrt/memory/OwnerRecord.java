package dev.tmrt.memory;

import java.util.Arrays;

/**
 * What one owner holds in a {@link MemoryManager}: its segments (an array, append and
 * swap-remove, each segment knowing its position, so registering and unregistering cost no
 * hashing and no allocation) and its reserved bytes. {@code releaseAll} takes the array at once;
 * a segment that is no longer in its owner's record was released already.
 *
 * <p>Every field but the final ones is guarded by the record's lock ({@link OwnerBook}, which also
 * keeps the reserved bytes and the owner's credit). A record that {@link Owners} dropped (holding nothing) is marked
 * {@link #dead}: callers that find it so after locking look the owner up again.
 */
final class OwnerRecord extends OwnerBook {
    /** The owner object (compared by identity). */
    final Object owner;
    /** The owner's number in the page table (never reused within a memory manager). */
    final long id;

    private Segment[] segs = new Segment[4];
    private int count;
    /** Dropped from the registry: look the owner up again. */
    boolean dead;

    OwnerRecord(Object owner, long id) {
        this.owner = owner;
        this.id = id;
    }

    /** Segments held now. */
    int size() {
        return count;
    }

    /** Whether the owner holds nothing (no segment, no reservation; credit is not held). */
    boolean isEmpty() {
        return count == 0 && reserved == 0;
    }

    /** Registers {@code s} as held by this owner. */
    void add(Segment s) {
        if (count == segs.length) {
            segs = Arrays.copyOf(segs, count * 2);
        }
        s.slot = count;
        segs[count++] = s;
    }

    /** Unregisters {@code s}; false when it is not held here (released already). */
    boolean remove(Segment s) {
        int k = s.slot;
        if (k < 0 || k >= count || segs[k] != s) {
            return false;
        }
        int last = --count;
        if (k != last) {
            Segment moved = segs[last];
            segs[k] = moved;
            moved.slot = k;
        }
        segs[last] = null;
        s.slot = -1;
        return true;
    }

    /** Unregisters every segment and returns them. */
    Segment[] takeAll() {
        Segment[] all = Arrays.copyOf(segs, count);
        for (int i = 0; i < count; i++) {
            segs[i].slot = -1;
            segs[i] = null;
        }
        count = 0;
        if (segs.length > 64) {
            segs = new Segment[4];
        }
        return all;
    }
}
