package dev.tmrt.emulator;

import dev.tmrt.memory.MemoryManager;

/**
 * What a {@link Task} gets from its slot: the slot's managed memory, which slot it runs in, and
 * which round (restart) this is. Like Flink's runtime context, it is created by the host for
 * one task in one round and must not be kept beyond it.
 */
public final class TaskContext {
    private final MemoryManager memoryManager;
    private final int slotIndex;
    private final int numberOfSlots;
    private final int round;
    private final Object owner;
    private final String[] args;

    TaskContext(MemoryManager memoryManager, int slotIndex, int numberOfSlots, int round, Object owner, String[] args) {
        this.memoryManager = memoryManager;
        this.slotIndex = slotIndex;
        this.numberOfSlots = numberOfSlots;
        this.round = round;
        this.owner = owner;
        this.args = args.clone();
    }

    /** The slot's managed memory: pages of {@code taskmanager.memory.segment-size}, up to the slot's budget. */
    public MemoryManager getMemoryManager() {
        return memoryManager;
    }

    /** The slot this task runs in, from 0. */
    public int getSlotIndex() {
        return slotIndex;
    }

    /** How many slots the TaskManager has. */
    public int getNumberOfSlots() {
        return numberOfSlots;
    }

    /** The round (restart) this run belongs to, from 1. */
    public int getRound() {
        return round;
    }

    /**
     * The owner to allocate managed memory for, as Flink's tasks use their invokable: the host
     * releases everything this owner holds when the task ends and reports it as left behind.
     */
    public Object getOwner() {
        return owner;
    }

    /** The run's {@code --args}. */
    public String[] getArgs() {
        return args.clone();
    }
}
