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

        // PageTable's constants are checked against the native definition when it loads (it has
        // loaded by now); a drifted value is an error naming both values.
        Class<?> table = Class.forName("dev.tmrt.memory.PageTable");
        java.lang.reflect.Method layout = table.getDeclaredMethod("nativeLayout");
        layout.setAccessible(true);
        String[] pairs = (String[]) layout.invoke(null);
        check(pairs.length >= 40, "layout has " + pairs.length + " entries");
        java.lang.reflect.Method checkLayout = table.getDeclaredMethod("checkLayout", String[].class);
        checkLayout.setAccessible(true);
        checkLayout.invoke(null, (Object) pairs);
        String[] drifted = pairs.clone();
        for (int i = 0; i < drifted.length; i += 2) {
            if (drifted[i].equals("HOT")) {
                drifted[i + 1] = "72";
            }
        }
        try {
            checkLayout.invoke(null, (Object) drifted);
            throw new AssertionError("a drifted layout was accepted");
        } catch (java.lang.reflect.InvocationTargetException e) {
            String m = e.getCause().getMessage();
            check(m.contains("HOT is 72 in the native library (protocol.rs) but 64 in dev.tmrt.memory.PageTable"), m);
        }
        System.out.println("OK layout");
        System.out.println("ALL OK");
    }
}
