package graph

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "plain", " padded ", "gnp\u202Eexe.png", "a\u200Bb", "\xff", "x\u3164", strings.Repeat("é", 200), "\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := cleanText(s)
		if !utf8.ValidString(c) || len(c) > MaxTextLen {
			t.Fatalf("cleanText(%q) = %q: invalid or too long (%d bytes)", s, c, len(c))
		}
		for _, r := range c {
			if unicode.IsControl(r) || invisible(r) {
				t.Fatalf("cleanText(%q) = %q keeps %U", s, c, r)
			}
		}
		if again := cleanText(c); again != c {
			t.Fatalf("cleanText is not idempotent: %q, then %q", c, again)
		}
		if utf8.ValidString(s) && len(s) <= MaxTextLen && !strings.ContainsFunc(s, func(r rune) bool {
			return unicode.IsControl(r) || invisible(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029'
		}) && c != s {
			t.Fatalf("cleanText(%q) = %q changed clean text", s, c)
		}
	})
}
