package dev.tmrt.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One owner's book in a memory manager: the record's lock, the bytes the owner has reserved, and
 * the credit it keeps — bytes it released that stay reserved in the slot pool for its next
 * reservation. Both memory managers (tmrt's API and the drop-in for Flink's) keep their owner
 * records on this.
 *
 * <p>Why credit: a reservation booked straight on the pool's reserved total costs that total's
 * lock and budget CAS on both the reserve and the release, on top of the owner's own lock. With
 * credit, an owner that reserves and releases in a loop (a state backend's or an operator's
 * scratch memory) touches only its own record: one CAS and one release store per call, the least
 * any thread-safe booking can cost, since any thread may book for any owner. Credit is capped per
 * owner ({@code cap} of {@link #unbook}); whatever the cap, it never refuses anyone: a
 * reservation or page allocation that the pool refuses is retried once after every owner's
 * credit went back ({@link #returnCredit}), and the manager's available memory counts the credit
 * as available. So every answer is the one without credit.
 *
 * <p>Every non-final field is guarded by the lock ({@link #lock()}: one CAS; {@link #unlock()}: a
 * release store). The budget calls ({@link ReservedBudget}) are made under it.
 */
public abstract class OwnerBook {
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(OwnerBook.class, "locked", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The pool's reserved total, as far as credit needs it. */
    public interface ReservedBudget {
        /** Adds {@code bytes} to the reserved total; false (nothing changed) when they do not fit. */
        boolean reserve(long bytes);

        /** Takes {@code bytes} (reserved before) off the reserved total. */
        void releaseReserved(long bytes);
    }

    /** Bytes the owner has reserved (what reports and Flink's per-owner map show). */
    public long reserved;
    /** Bytes released by the owner and still reserved in the pool for its next reservation. */
    private long credit;

    @SuppressWarnings("unused") // accessed through LOCK
    private volatile int locked;

    /** Takes the record's lock (spins, then yields: critical sections are a few stores). */
    public final void lock() {
        int spins = 0;
        while (!LOCK.compareAndSet(this, 0, 1)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    /** Takes the lock if it is free. */
    public final boolean tryLock() {
        return LOCK.compareAndSet(this, 0, 1);
    }

    public final void unlock() {
        LOCK.setRelease(this, 0);
    }

    /**
     * Books {@code bytes > 0} for the owner, from its credit first, the rest from {@code budget};
     * false (nothing changed) when the budget refuses the rest. Call under the lock.
     */
    public final boolean book(long bytes, ReservedBudget budget) {
        long c = credit;
        if (c >= bytes) {
            credit = c - bytes;
        } else if (budget.reserve(bytes - c)) {
            credit = 0;
        } else {
            return false;
        }
        reserved += bytes;
        return true;
    }

    /**
     * Unbooks {@code bytes <= reserved}: they become credit up to {@code cap}, the rest goes back
     * to {@code budget}. Call under the lock.
     */
    public final void unbook(long bytes, long cap, ReservedBudget budget) {
        reserved -= bytes;
        long c = credit + bytes;
        if (c > cap) {
            budget.releaseReserved(c - cap);
            c = cap;
        }
        credit = c;
    }

    /** Gives the credit back to {@code budget}; how much it was. Call under the lock. */
    public final long returnCredit(ReservedBudget budget) {
        long c = credit;
        if (c > 0) {
            budget.releaseReserved(c);
            credit = 0;
        }
        return c;
    }

    /** Forgets the credit without giving it back (the pool is gone). Call under the lock. */
    public final void dropCredit() {
        credit = 0;
    }

    /** The credit kept now. Call under the lock. */
    public final long credit() {
        return credit;
    }
}
