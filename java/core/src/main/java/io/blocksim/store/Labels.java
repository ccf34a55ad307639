package io.blocksim.store;

import java.util.ArrayList;
import java.util.List;

/** Labels files: one label per line, UTF-8; a final newline ends the last label, it adds none. */
final class Labels {
    private Labels() {
    }

    /** Splits on \n, \r\n or \r, as Python's text mode and Java's readLine do. */
    static List<String> split(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(text.substring(start, i));
                i += c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n' ? 2 : 1;
                start = i;
            } else {
                i++;
            }
        }
        if (start < text.length()) {
            out.add(text.substring(start));
        }
        return out;
    }
}
