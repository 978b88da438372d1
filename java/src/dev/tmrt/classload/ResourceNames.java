package dev.tmrt.classload;

/** How {@code URLClassPath} turns an entry name into the path of a resource URL. */
final class ResourceNames {
    private ResourceNames() {}

    /**
     * Whether resolving {@code path} against a jar base URL just appends it: no leading '/', no
     * query ('?'; '#' is already escaped) and no "." or ".." segment for the parser to fold.
     */
    static boolean isPlainRelativePath(String path) {
        int n = path.length();
        if (n == 0 || path.charAt(0) == '/') {
            return false;
        }
        int segmentStart = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? path.charAt(i) : '/';
            if (c == '?') {
                return false;
            }
            if (c == '/') {
                int len = i - segmentStart;
                if ((len == 1 && path.charAt(segmentStart) == '.')
                        || (len == 2 && path.charAt(segmentStart) == '.' && path.charAt(segmentStart + 1) == '.')) {
                    return false;
                }
                segmentStart = i + 1;
            }
        }
        return true;
    }

    /** {@code sun.net.www.ParseUtil.encodePath(path, false)}, which {@code URLClassPath} applies to entry names. */
    static String encodePath(String path) {
        int n = path.length();
        int first = -1;
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c >= 'a' && c <= 'z' || c >= '&' && c <= ':' || c >= 'A' && c <= 'Z') {
                continue;
            }
            if (c > 0x7F || mustEncode(c)) {
                first = i;
                break;
            }
        }
        if (first < 0) {
            return path;
        }
        StringBuilder sb = new StringBuilder(n + 16);
        sb.append(path, 0, first);
        for (int i = first; i < n; i++) {
            char c = path.charAt(i);
            if (c == '/') {
                sb.append('/');
            } else if (c <= 0x7F) {
                if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || !mustEncode(c)) {
                    sb.append(c);
                } else {
                    escape(sb, c);
                }
            } else if (c > 0x7FF) {
                escape(sb, (char) (0xE0 | ((c >> 12) & 0x0F)));
                escape(sb, (char) (0x80 | ((c >> 6) & 0x3F)));
                escape(sb, (char) (0x80 | (c & 0x3F)));
            } else {
                escape(sb, (char) (0xC0 | ((c >> 6) & 0x1F)));
                escape(sb, (char) (0x80 | (c & 0x3F)));
            }
        }
        return sb.toString();
    }

    /** ASCII characters ParseUtil escapes besides controls and DEL (its L_ENCODED/H_ENCODED masks). */
    private static final String ENCODED_ASCII = " \"#%;<=>?[\\]^`{|}";

    private static boolean mustEncode(char c) {
        return c < 0x20 || c == 0x7F || ENCODED_ASCII.indexOf(c) >= 0;
    }

    private static void escape(StringBuilder sb, char c) {
        sb.append('%').append(Character.forDigit((c >> 4) & 0xF, 16)).append(Character.forDigit(c & 0xF, 16));
    }

}
