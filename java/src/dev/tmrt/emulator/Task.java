package dev.tmrt.emulator;

/**
 * A job's entry point when it wants the slot it runs in: the emulator instantiates the entry
 * class (public no-argument constructor) in every slot, once per round, and calls {@link #run}
 * in the slot's thread, whose context classloader is the round's user-code classloader.
 *
 * <p>An entry class that does not implement {@code Task} needs a {@code public static void
 * main(String[])} instead, which the emulator calls with the {@code --args} of the run.
 */
public interface Task {
    /**
     * Runs the task to completion. Managed memory is taken from {@link
     * TaskContext#getMemoryManager()}; whatever the task leaves allocated is released by the
     * host afterwards and reported as left behind.
     *
     * @throws Exception anything: the emulator reports it with the round and slot
     */
    void run(TaskContext ctx) throws Exception;
}
