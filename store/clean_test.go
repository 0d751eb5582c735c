package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// TestStoredTextIsClean stores models whose Hub-supplied text holds bidi
// controls, zero-width and other invisible characters, control characters
// and 100 KB of author, through both write paths (a plain transaction and a
// run's), and reads back text that shows what it says, bounded in length.
func TestStoredTextIsClean(t *testing.T) {
	long := strings.Repeat("a", 100_000)
	cases := []struct {
		name     string
		in, want string
	}{
		{"right-to-left override", "gnp\u202Eexe.png", "gnpexe.png"},
		{"isolates and marks", "\u2067abc\u2069\u200E\u200F\u061C", "abc"},
		{"zero width", "me\u200Bta\u200C\u200D\u2060\uFEFF", "meta"},
		{"hangul filler and soft hyphen", "x\u3164y\u00ADz\u115F", "xyz"},
		{"tag characters", "ok\U000E0041\U000E007F", "ok"},
		{"controls", "a\x00b\x1bc\x7fd\u0085e", "abcd e"},
		{"line breaks and tabs", "line\none\ttab\u2028x", "line one tab x"},
		{"invalid UTF-8", "bad\xffbyte", "bad\uFFFDbyte"},
		{"plain", "meta-llama", "meta-llama"},
		{"unicode kept", "Mistral AI 🇫🇷 ünï", "Mistral AI 🇫🇷 ünï"},
		{"100 KB", long, long[:graph.MaxTextLen-len("…")] + "…"},
	}
	s := memStore(t)
	run, err := s.NewRun("scan", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := graph.Model{ID: graph.ModelID(fmt.Sprintf("org/put-%d", i)), Author: tc.in, License: tc.in, LibraryName: tc.in, PipelineTag: tc.in, Gated: tc.in, Downloads: 3}
			put(t, s, []graph.Model{m}, nil)
			m.ID = graph.ModelID(fmt.Sprintf("org/run-%d", i))
			if err := s.UpdateRun(run, func(tx *Tx) error { return tx.PutModel(m, nil) }); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{fmt.Sprintf("org/put-%d", i), string(m.ID)} {
				got, err := s.Lookup(id)
				if err != nil {
					t.Fatal(err)
				}
				for field, v := range map[string]string{"author": got.Author, "license": got.License, "library": got.LibraryName,
					"pipeline": got.PipelineTag, "gated": got.Gated} {
					if v != tc.want {
						t.Errorf("%s %s = %q (%d bytes), want %q", id, field, short(v), len(v), short(tc.want))
					}
				}
				if got.Downloads != 3 {
					t.Errorf("%s downloads = %d", id, got.Downloads)
				}
			}
		})
	}
}

func short(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-20:]
	}
	return s
}

// TestStoredCountsNotNegative: a negative count of downloads or likes,
// which the Hub never reports, is stored as 0; others as they are.
func TestStoredCountsNotNegative(t *testing.T) {
	s := memStore(t)
	put(t, s, []graph.Model{
		{ID: "org/neg", Downloads: -5, Likes: -1 << 63},
		{ID: "org/pos", Downloads: 1<<63 - 1, Likes: 7},
	}, nil)
	for id, want := range map[string][2]int64{"org/neg": {0, 0}, "org/pos": {1<<63 - 1, 7}} {
		m, err := s.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Downloads != want[0] || m.Likes != want[1] {
			t.Errorf("%s: downloads %d, likes %d, want %d, %d", id, m.Downloads, m.Likes, want[0], want[1])
		}
	}
}
