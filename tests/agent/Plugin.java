public class Plugin {
    public String toString() {
        return "plugin";
    }
}
