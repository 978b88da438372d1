package dev.tmrt.emulator;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

/**
 * Runs a job's entry class the way the emulator promises: a {@link Task} implementation gets a
 * fresh instance and {@link Task#run}; any other class needs {@code public static void
 * main(String[])}. A missing class or method is a {@link BadEntry}, not a task failure.
 */
final class EntryPoint {
    static final String ENTRY_CLASS_NOT_FOUND = "entry-class-not-found";
    static final String NO_ENTRY_METHOD = "no-entry-method";

    /** The entry cannot be run at all: the input is wrong, not the task. */
    static final class BadEntry extends Exception {
        private static final long serialVersionUID = 1L;
        final String kind;

        BadEntry(String kind, String message) {
            super(message);
            this.kind = kind;
        }
    }

    private EntryPoint() {}

    /** Loads {@code entryClass} through {@code loader} (without initialising it). */
    static Class<?> load(String entryClass, ClassLoader loader) throws BadEntry {
        try {
            return Class.forName(entryClass, false, loader);
        } catch (ClassNotFoundException e) {
            throw new BadEntry(
                    ENTRY_CLASS_NOT_FOUND,
                    "entry class " + entryClass + " not found in the job jars nor on the parent class path");
        }
    }

    /** Initialises the entry class {@code c} and runs it to completion. */
    static void run(Class<?> c, TaskContext ctx, String[] args) throws Throwable {
        if (Task.class.isAssignableFrom(c)) {
            if (Modifier.isAbstract(c.getModifiers())) {
                throw new BadEntry(NO_ENTRY_METHOD, c.getName() + " implements " + Task.class.getName() + " but is abstract");
            }
            Constructor<?> ctor;
            try {
                ctor = c.getConstructor();
            } catch (NoSuchMethodException e) {
                throw new BadEntry(
                        NO_ENTRY_METHOD,
                        c.getName() + " implements " + Task.class.getName() + " but has no public no-argument constructor");
            }
            Task task;
            try {
                task = (Task) ctor.newInstance();
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            task.run(ctx);
            return;
        }
        Method main;
        try {
            main = c.getMethod("main", String[].class);
        } catch (NoSuchMethodException e) {
            main = null;
        }
        if (main == null || !Modifier.isStatic(main.getModifiers()) || main.getReturnType() != void.class) {
            throw new BadEntry(
                    NO_ENTRY_METHOD,
                    c.getName() + " has no public static void main(String[]) and does not implement "
                            + Task.class.getName());
        }
        try {
            main.invoke(null, (Object) args.clone());
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
