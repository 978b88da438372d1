package org.apache.flink.core.memory;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * tmrt's door into Flink's {@link MemorySegment}: managed segments over pages of a tmrt slot pool,
 * in the state Flink's package-private constructor {@code MemorySegment(ByteBuffer, Object,
 * boolean, Runnable)} gives its own managed segments ({@code
 * MemorySegmentFactory.allocateOffHeapUnsafeMemory}): off heap, wrapping disallowed
 * ({@link MemorySegment#wrap} throws Flink's {@code UnsupportedOperationException}), and a cleanup
 * action that {@link MemorySegment#free()} runs once.
 *
 * <p><b>Why not simply the constructor.</b> Flink's constructor reads the buffer's address through
 * {@code MemoryUtils.getByteBufferAddress}, which builds an error message by string concatenation
 * on every call, failing or not: about half of Flink's own cost per page. When the segment's
 * instance fields are exactly the nine of Flink 1.13 to 2.2 (checked by name and type when this
 * class loads), a segment is made without the constructor ({@code Unsafe.allocateInstance}) and
 * its fields are set to the values the constructor would set, followed by a store fence (what a
 * constructor's final fields get). Otherwise, the constructor is used.
 *
 * <p>It lives in Flink's package so that it can call the package-private constructor and
 * {@code MemoryUtils}; tmrt.jar is on the class path of Flink's own classes, which is what
 * package-private access needs.
 */
public final class TmrtManagedSegments {
    private static final sun.misc.Unsafe U;
    private static final boolean DIRECT;
    private static final long HEAP_MEMORY;
    private static final long OFF_HEAP_BUFFER;
    private static final long ADDRESS;
    private static final long ADDRESS_LIMIT;
    private static final long SIZE;
    private static final long OWNER;
    private static final long CLEANER;
    private static final long ALLOW_WRAP;
    private static final long IS_FREED;

    static {
        sun.misc.Unsafe u = null;
        Map<String, Long> at = new HashMap<>();
        boolean direct = false;
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            u = (sun.misc.Unsafe) f.get(null);
            Map<String, Class<?>> expected = new HashMap<>();
            expected.put("heapMemory", byte[].class);
            expected.put("offHeapBuffer", ByteBuffer.class);
            expected.put("address", long.class);
            expected.put("addressLimit", long.class);
            expected.put("size", int.class);
            expected.put("owner", Object.class);
            expected.put("cleaner", Runnable.class);
            expected.put("allowWrap", boolean.class);
            expected.put("isFreedAtomic", AtomicBoolean.class);
            int instanceFields = 0;
            for (Field field : MemorySegment.class.getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers())) {
                    continue;
                }
                instanceFields++;
                if (expected.get(field.getName()) == field.getType()) {
                    at.put(field.getName(), u.objectFieldOffset(field));
                }
            }
            direct = instanceFields == expected.size() && at.size() == expected.size();
        } catch (Throwable t) {
            direct = false;
        }
        U = u;
        DIRECT = direct;
        HEAP_MEMORY = at.getOrDefault("heapMemory", -1L);
        OFF_HEAP_BUFFER = at.getOrDefault("offHeapBuffer", -1L);
        ADDRESS = at.getOrDefault("address", -1L);
        ADDRESS_LIMIT = at.getOrDefault("addressLimit", -1L);
        SIZE = at.getOrDefault("size", -1L);
        OWNER = at.getOrDefault("owner", -1L);
        CLEANER = at.getOrDefault("cleaner", -1L);
        ALLOW_WRAP = at.getOrDefault("allowWrap", -1L);
        IS_FREED = at.getOrDefault("isFreedAtomic", -1L);
    }

    private TmrtManagedSegments() {}

    /** Whether segments are made without Flink's constructor (see the class docs). */
    public static boolean direct() {
        return DIRECT;
    }

    /**
     * A managed segment over {@code view}, a direct buffer over the {@code size} bytes at
     * {@code address}, for {@code owner}.
     */
    public static MemorySegment managed(ByteBuffer view, long address, int size, Object owner, Runnable cleaner) {
        if (!DIRECT) {
            return new MemorySegment(view, owner, false, cleaner);
        }
        MemorySegment s;
        try {
            s = (MemorySegment) U.allocateInstance(MemorySegment.class);
        } catch (InstantiationException e) {
            return new MemorySegment(view, owner, false, cleaner);
        }
        U.putObject(s, HEAP_MEMORY, null);
        U.putObject(s, OFF_HEAP_BUFFER, view);
        U.putLong(s, ADDRESS, address);
        U.putLong(s, ADDRESS_LIMIT, address + size);
        U.putInt(s, SIZE, size);
        U.putObject(s, OWNER, owner);
        U.putObject(s, CLEANER, cleaner);
        U.putBoolean(s, ALLOW_WRAP, false);
        U.putObject(s, IS_FREED, new AtomicBoolean(false));
        U.storeFence();
        return s;
    }

    /** A direct buffer over {@code size} bytes at {@code address}, as Flink wraps unsafe memory. */
    public static ByteBuffer view(long address, int size) {
        return MemoryUtils.wrapUnsafeMemoryWithByteBuffer(address, size);
    }
}
