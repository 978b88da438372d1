/** Waits for one line on standard input, then exits: keeps a JVM (and its agent) alive. */
public class Hold {
    public static void main(String[] args) throws Exception {
        new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
    }
}
