public class Lingerer extends Thread {
    public void run() {
        while (true) {
            try {
                Thread.sleep(100_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
