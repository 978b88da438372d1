import dev.tmrt.memory.MemoryManager;
import dev.tmrt.memory.Segment;
import java.util.Collections;
import java.util.List;

/**
 * Owners and targets that misbehave: shutdown survives an owner whose toString() throws and still
 * clears everything; an allocation into a target that refuses the segments leaves nothing with
 * the owner. Prints "OK <check>" per check.
 */
public class Hostile {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    public static void main(String[] args) throws Exception {
        int ps = 4096;
        MemoryManager mm = MemoryManager.create(8L * ps, ps);
        for (int n : new int[] {1, 3}) {
            try {
                mm.allocatePages("owner", Collections.emptyList(), n);
                throw new AssertionError("an immutable target accepted segments");
            } catch (UnsupportedOperationException expected) {
                // the target's own exception
            }
            check(mm.verifyEmpty() && mm.availableMemory() == 8L * ps, "nothing stays after a refused target of " + n);
        }
        System.out.println("OK refused target");

        Object hostile = new Object() {
            @Override
            public String toString() {
                throw new IllegalStateException("toString is hostile");
            }
        };
        List<Segment> held = mm.allocatePages(hostile, 2);
        try {
            mm.allocatePages(hostile, 100);
            throw new AssertionError("over budget accepted");
        } catch (IllegalArgumentException expected) {
            check(expected.getMessage().contains("than the max number"), expected.getMessage());
        }
        check(mm.usageReport().contains("toString threw java.lang.IllegalStateException"), mm.usageReport());
        mm.shutdown();
        check(mm.isShutdown() && held.get(0).isFreed() && held.get(1).isFreed(), "shutdown freed the segments");
        java.lang.reflect.Field f = MemoryManager.class.getDeclaredField("ownerIds");
        f.setAccessible(true);
        check(((java.util.Map<?, ?>) f.get(mm)).isEmpty(), "shutdown cleared the owner map");
        System.out.println("OK hostile owner");
        System.out.println("ALL OK");
    }
}
