package dev.tmrt.emulator;

import dev.tmrt.memory.MemoryAllocationException;

/** Sorts what a slot's task threw into the failure kinds the host reports. */
final class Failures {
    static final String TASK_THREW = "task-threw";
    static final String SLOT_BUDGET_EXCEEDED = "slot-budget-exceeded";
    static final String METASPACE_EXHAUSTED = "metaspace-exhausted";

    private static final int STACK_FRAMES = 8;

    private Failures() {}

    /** The kind of {@code t}: the first recognised cause in its chain wins. */
    static String kind(Throwable t) {
        if (t instanceof EntryPoint.BadEntry) {
            return ((EntryPoint.BadEntry) t).kind;
        }
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof MemoryAllocationException || isOverTotal(c)) {
                return SLOT_BUDGET_EXCEEDED;
            }
            if (c instanceof OutOfMemoryError) {
                String m = String.valueOf(c.getMessage());
                if (m.contains("Metaspace") || m.contains("Compressed class space")) {
                    return METASPACE_EXHAUSTED;
                }
            }
        }
        return TASK_THREW;
    }

    /** The exception most telling for {@code kind}: the recognised cause, else {@code t}. */
    static Throwable telling(Throwable t, String kind) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (SLOT_BUDGET_EXCEEDED.equals(kind) && (c instanceof MemoryAllocationException || isOverTotal(c))) {
                return c;
            }
            if (METASPACE_EXHAUSTED.equals(kind) && c instanceof OutOfMemoryError) {
                return c;
            }
        }
        return t;
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

    /**
     * What {@link #render} returns when rendering itself fails: with metaspace exhausted for
     * good (classes kept by a leak), anything that would load a class fails too. A constant, so
     * that producing it needs nothing.
     */
    static final String METASPACE_FALLBACK =
            "{\"kind\":\"metaspace-exhausted\",\"exception\":\"java.lang.OutOfMemoryError\","
                    + "\"message\":\"Metaspace (details lost: rendering them failed)\",\"stack\":[]}";
    /** As {@link #METASPACE_FALLBACK}, for any other failure. */
    static final String FALLBACK =
            "{\"kind\":\"task-threw\",\"exception\":\"java.lang.Throwable\","
                    + "\"message\":\"(details lost: rendering them failed)\",\"stack\":[]}";

    /**
     * {@code t} as JSON, never throwing: when rendering fails (out of memory), one of the
     * constant fallbacks. {@link #warmUp()} has loaded every class this needs.
     */
    static String render(Throwable t) {
        try {
            JsonWriter json = new JsonWriter();
            write(json, t);
            return json.toString();
        } catch (Throwable again) {
            return t instanceof OutOfMemoryError || again instanceof OutOfMemoryError ? METASPACE_FALLBACK : FALLBACK;
        }
    }

    /**
     * Renders sample failures once, so that every class rendering needs is loaded and linked
     * before a job can exhaust metaspace.
     */
    static void warmUp() {
        Throwable sample = new IllegalStateException("warm-up", new OutOfMemoryError("Metaspace"));
        render(sample);
        render(new MemoryAllocationException("warm-up"));
        render(new IllegalArgumentException("Cannot allocate more segments (warm-up)"));
        render(new EntryPoint.BadEntry(EntryPoint.NO_ENTRY_METHOD, "warm-up\u0001"));
    }

    /** Writes {@code {"kind","exception","message","stack"}}. */
    static void write(JsonWriter json, Throwable thrown) {
        String kind = kind(thrown);
        Throwable t = telling(thrown, kind);
        json.beginObject().name("kind").value(kind);
        if (t instanceof EntryPoint.BadEntry) {
            json.name("exception").value("");
        } else {
            json.name("exception").value(t.getClass().getName());
        }
        json.name("message").value(t.getMessage() == null ? "" : t.getMessage());
        json.name("stack").beginArray();
        if (!(t instanceof EntryPoint.BadEntry)) {
            StackTraceElement[] frames = t.getStackTrace();
            for (int i = 0; i < Math.min(STACK_FRAMES, frames.length); i++) {
                json.value(frames[i].toString());
            }
        }
        json.endArray().endObject();
    }
}
