package dev.tmrt.emulator;

import dev.tmrt.memory.MemoryAllocationException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sorts what a task or a job threw into the failure kinds the host reports, and turns it into a
 * {@link Failure} of plain strings: the telling exception and the whole cause chain.
 */
final class Failures {
    static final String TASK_THREW = "task-threw";
    static final String SLOT_BUDGET_EXCEEDED = "slot-budget-exceeded";
    static final String METASPACE_EXHAUSTED = "metaspace-exhausted";
    static final String SYSTEM_EXIT = "system-exit";
    static final String RUNTIME_HALT = "runtime-halt";
    static final String INTERCEPTOR_REMOVED = "exit-interceptor-removed";
    static final String TASK_TIMED_OUT = "task-timed-out";
    static final String JOB_FAILED = "job-failed";
    static final String PROGRAM_FAILED = "program-failed";

    /** Top frames kept for the telling exception. */
    private static final int STACK_FRAMES = 8;
    /** Most exceptions kept of a cause chain. */
    private static final int MAX_CHAIN = 32;
    private static final String EXIT_EXCEPTION = UserSystemExitException.class.getName();

    private Failures() {}

    /** The chain of {@code t}, outermost first (cycles cut, at most {@link #MAX_CHAIN}). */
    static List<Throwable> chain(Throwable t) {
        List<Throwable> out = new ArrayList<>();
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable c = t; c != null && out.size() < MAX_CHAIN && seen.put(c, Boolean.TRUE) == null; c = c.getCause()) {
            out.add(c);
        }
        return out;
    }

    /**
     * The kind of {@code t}, thrown by a slot's task ({@code otherwise} = task-threw) or a job
     * ({@code otherwise} = job-failed or program-failed): the first recognised cause in its chain
     * wins. Causes are recognised by class name, so that a Flink {@code SerializedThrowable} of an
     * exit or an out-of-metaspace is recognised as well.
     */
    static String kind(Throwable t, String otherwise) {
        if (t instanceof EntryPoint.BadEntry) {
            return ((EntryPoint.BadEntry) t).kind;
        }
        for (Throwable c : chain(t)) {
            String name = Cause.className(c);
            String m = String.valueOf(Cause.message(c));
            if (c instanceof MemoryAllocationException || isOverTotal(c)) {
                return SLOT_BUDGET_EXCEEDED;
            }
            if (EXIT_EXCEPTION.equals(name)) {
                return m.startsWith(UserSystemExitException.HALT) ? RUNTIME_HALT : SYSTEM_EXIT;
            }
            if ("java.lang.SecurityException".equals(name) && m.equals(ExitInterceptor.TAMPER_MESSAGE)) {
                return INTERCEPTOR_REMOVED;
            }
            if ("java.lang.OutOfMemoryError".equals(name)
                    && (m.contains("Metaspace") || m.contains("Compressed class space"))) {
                return METASPACE_EXHAUSTED;
            }
        }
        return otherwise;
    }

    /**
     * The exception most telling for {@code kind}: the recognised cause for a recognised kind,
     * else the root cause (the innermost: what actually went wrong).
     */
    static Throwable telling(Throwable t, String kind, String otherwise) {
        List<Throwable> chain = chain(t);
        if (!kind.equals(otherwise)) {
            for (Throwable c : chain) {
                if (kind(c, otherwise).equals(kind) && (c.getCause() == null || !kind(c.getCause(), otherwise).equals(kind))) {
                    return c;
                }
            }
        }
        return chain.get(chain.size() - 1);
    }

    /**
     * Whether {@code t} is the {@code MemoryManager}'s refusal of a request larger than the whole
     * slot: like Flink's, an {@code IllegalArgumentException} "Cannot allocate more segments N
     * than the max number M" thrown by {@code allocatePages}.
     */
    private static boolean isOverTotal(Throwable t) {
        if (!(t instanceof IllegalArgumentException)
                || t.getMessage() == null
                || !t.getMessage().startsWith("Cannot allocate more segments")) {
            return false;
        }
        for (StackTraceElement f : t.getStackTrace()) {
            if ("dev.tmrt.memory.MemoryManager".equals(f.getClassName()) && "allocatePages".equals(f.getMethodName())) {
                return true;
            }
        }
        return false;
    }

    /** What {@link #of} returns when describing fails with metaspace exhausted for good. */
    static final Failure METASPACE_FALLBACK = Failure.plain(
            METASPACE_EXHAUSTED, "java.lang.OutOfMemoryError: Metaspace (details lost: describing them failed)");
    /** As {@link #METASPACE_FALLBACK}, for any other failure. */
    static final Failure FALLBACK = Failure.plain(TASK_THREW, "(details lost: describing them failed)");

    /**
     * {@code t} as a {@link Failure} of kind {@link #kind}, never throwing: when describing fails
     * (out of memory), one of the constant fallbacks. {@link #warmUp()} has loaded every class
     * this needs.
     */
    static Failure of(Throwable t, String otherwise) {
        try {
            String kind = kind(t, otherwise);
            if (t instanceof EntryPoint.BadEntry) {
                return Failure.plain(kind, t.getMessage());
            }
            Throwable telling = telling(t, kind, otherwise);
            List<Throwable> chain = chain(t);
            Cause[] causes = new Cause[chain.size()];
            for (int i = 0; i < causes.length; i++) {
                causes[i] = Cause.of(chain.get(i));
            }
            return new Failure(
                    kind,
                    Cause.className(telling),
                    Cause.message(telling),
                    Cause.frames(telling.getStackTrace(), STACK_FRAMES),
                    causes,
                    null);
        } catch (Throwable again) {
            return t instanceof OutOfMemoryError || again instanceof OutOfMemoryError ? METASPACE_FALLBACK : FALLBACK;
        }
    }

    /** A slot's task failure. */
    static Failure ofTask(Throwable t) {
        return of(t, TASK_THREW);
    }

    /**
     * Describes sample failures once, so that every class describing needs is loaded and linked
     * before a job can exhaust metaspace.
     */
    static void warmUp() {
        // Class names the host may have to read from an exception's fields when the heap is full.
        OutOfMemoryError.class.getName();
        StackOverflowError.class.getName();
        InterruptedException.class.getName();
        ofTask(new IllegalStateException("warm-up", new OutOfMemoryError("Metaspace")));
        ofTask(new MemoryAllocationException("warm-up"));
        ofTask(new UserSystemExitException(0));
        ofTask(new UserSystemExitException(0, true));
        ofTask(new SecurityException(ExitInterceptor.TAMPER_MESSAGE));
        timedOut(1, Thread.currentThread().getStackTrace(), true);
        ofTask(new IllegalArgumentException("Cannot allocate more segments (warm-up)"));
        ofTask(new EntryPoint.BadEntry(EntryPoint.NO_ENTRY_METHOD, "warm-up\u0001"));
        ExitInterceptor.drain();
    }

    /**
     * The failure of a task still running after {@code millis}: where it was ({@code at}) and
     * whether it ignored its interrupt ({@code stillRunning}).
     */
    static Failure timedOut(long millis, StackTraceElement[] at, boolean stillRunning) {
        String message = "still running after " + millis + " ms; interrupted"
                + (stillRunning ? ", and still running (its thread is left behind)" : ", then it ended");
        String[] stack = Cause.frames(at, STACK_FRAMES);
        return new Failure(TASK_TIMED_OUT, "", message, stack, new Cause[] {new Cause("", message, stack)}, null);
    }
}
