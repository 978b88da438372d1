import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** Fetches the agent's metrics endpoint over loopback, and sends it a request that is too big. */
public class MetricsClient {
    static String request(int port, String text) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(text.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) body.write(buf, 0, n);
            return body.toString("UTF-8");
        }
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String response = "";
        for (int i = 0; i < 50; i++) { // the first exposition is rendered right after VM init
            response = request(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
            if (response.contains("jvm_classes_loaded_total")) break;
            Thread.sleep(100);
        }
        System.out.println("=== metrics");
        System.out.print(response);
        StringBuilder big = new StringBuilder("GET /metrics HTTP/1.1\r\nX-Pad: ");
        while (big.length() < 20000) big.append('x');
        String tooBig;
        try {
            tooBig = request(port, big.toString());
        } catch (java.io.IOException e) {
            tooBig = "closed: " + e;
        }
        System.out.println("=== too big");
        System.out.println(tooBig.split("\r\n")[0]);
        System.out.println("=== post");
        System.out.println(request(port, "POST /metrics HTTP/1.1\r\n\r\n").split("\r\n")[0]);
    }
}
