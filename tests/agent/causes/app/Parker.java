/** An application Runnable that parks: a thread of the application, holding no job class. */
public class Parker implements Runnable {
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
