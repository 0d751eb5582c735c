package main

import (
	"strings"
	"testing"
)

// TestDidYouMean: a misspelt command or flag is a usage error (exit 2)
// that suggests the nearest command, or the nearest flag of that command;
// a word near nothing gets no suggestion.
func TestDidYouMean(t *testing.T) {
	tests := []struct {
		args []string
		msg  string // the first line of stderr, whole
	}{
		{[]string{"cuont", "a/b"}, `hflineage: unknown command "cuont" — did you mean "count"?`},
		{[]string{"exprot"}, `hflineage: unknown command "exprot" — did you mean "export"?`},
		{[]string{"ancestor", "a/b"}, `hflineage: unknown command "ancestor" — did you mean "ancestors"?`},
		{[]string{"licences"}, `hflineage: unknown command "licences" — did you mean "licenses"?`},
		{[]string{"shedule"}, `hflineage: unknown command "shedule" — did you mean "schedule"?`},
		{[]string{"verison"}, `hflineage: unknown command "verison" — did you mean "version"?`},
		{[]string{"Count"}, `hflineage: unknown command "Count" — did you mean "count"?`},
		{[]string{"anc"}, `hflineage: unknown command "anc" — did you mean "ancestors"?`},
		{[]string{"frobnicate"}, `hflineage: unknown command "frobnicate"`},
		{[]string{"xy"}, `hflineage: unknown command "xy"`},
		{[]string{"count", "--jsn", "a/b"}, "hflineage: count: unknown flag --jsn — did you mean --json?"},
		{[]string{"count", "--josn", "a/b"}, "hflineage: count: unknown flag --josn — did you mean --json?"},
		{[]string{"export", "--fromat", "dot"}, "hflineage: export: unknown flag --fromat — did you mean --format?"},
		{[]string{"export", "--rot", "a/b"}, "hflineage: export: unknown flag --rot — did you mean --root?"},
		{[]string{"export", "--max-node=3"}, "hflineage: export: unknown flag --max-node — did you mean --max-nodes?"},
		{[]string{"crawl", "--paralel", "4", "a/b"}, "hflineage: crawl: unknown flag --paralel — did you mean --parallel?"},
		{[]string{"stats", "--rel"}, "hflineage: stats: unknown flag --rel"},
		{[]string{"count", "--nope", "a/b"}, "hflineage: count: unknown flag --nope"},
		{[]string{"export", "-f", "dot"}, "hflineage: export: unknown flag -f"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, tt.args...)
			first, _, _ := strings.Cut(stderr, "\n")
			if code != exitUsage || stdout != "" || first != tt.msg {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and first line:\n%s", code, stdout, stderr, tt.msg)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"count", "count", 0},
		{"cuont", "count", 1}, // a swap is one edit
		{"cont", "count", 1},
		{"countt", "count", 1},
		{"cpunt", "count", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"étoile", "etoile", 1}, // by character, not byte
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}
