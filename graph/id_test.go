package graph

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseListedID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"gpt2", true},
		{"meta-llama/Llama-3.1-8B", true},
		{"org/" + strings.Repeat("x", 97), true}, // too long for ParseModelID: an old repo
		{"a--b", true},
		{"org/na..me", true},
		{"org/-name.", true},
		{"org/námé", true},
		{"org/name:x", true},
		{"org/" + strings.Repeat("x", MaxListedIDLen-4), true},
		{"org/" + strings.Repeat("x", MaxListedIDLen-3), false},
		{"", false},
		{"/name", false},
		{"org/", false},
		{"a/b/c", false},
		{"https://huggingface.co/org/name", false},
		{"/root/models/x", false},
		{"org/..", false},
		{"./name", false},
		{"org/na me", false},
		{"org/name\n", false},
		{"org/na\x00me", false},
		{"org/na\x1bme", false},
		{"org/na\u202eme", false}, // right-to-left override
		{"org/na\u200bme", false}, // zero-width space
		{"org/na\xffme", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := ParseListedID(tt.in)
			if tt.ok && (err != nil || string(id) != tt.in) {
				t.Errorf("ParseListedID(%q) = %q, %v; want ok", tt.in, id, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidID) {
				t.Errorf("ParseListedID(%q) = %q, %v; want ErrInvalidID", tt.in, id, err)
			}
		})
	}
}

func FuzzParseListedID(f *testing.F) {
	for _, s := range []string{"a/b", "a--b", "org/" + strings.Repeat("x", 97), "a/b/c", "a\x00b", "ü/\u202e", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseListedID(s)
		if _, strict := ParseModelID(s); strict == nil && err != nil {
			t.Fatalf("%q: valid user id refused: %v", s, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("%q: error %v does not wrap ErrInvalidID", s, err)
			}
			return
		}
		if string(id) != s {
			t.Fatalf("%q became %q", s, id)
		}
		if len(s) == 0 || len(s) > MaxListedIDLen || !utf8.ValidString(s) || strings.Count(s, "/") > 1 {
			t.Fatalf("unsafe id %q accepted", s)
		}
		for _, r := range s {
			if r == 0 || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("id %q with %U accepted", s, r)
			}
		}
		org, name, _ := strings.Cut(s, "/")
		if org == "" || strings.HasSuffix(s, "/") || org == ".." || name == ".." {
			t.Fatalf("id %q with an empty or dot part accepted", s)
		}
		if id.Author() != "" && !strings.Contains(s, "/") {
			t.Fatalf("%q: author %q", s, id.Author())
		}
	})
}

func TestParentsFromTagsKeepsListedIDs(t *testing.T) {
	long := ModelID("org/" + strings.Repeat("x", 97))
	got := ParentsFromTags([]string{"base_model:" + string(long), "base_model:adapter:a--b", "base_model:finetune:org/na\x01me"})
	want := []Parent{{"a--b", Adapter}, {long, Finetune}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
}
