package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHelp: every command's --help, -h and 'help CMD' print its usage once,
// on stdout, with nothing on stderr, and exit 0.
func TestHelp(t *testing.T) {
	names := []string{"version"}
	for _, c := range commands() {
		names = append(names, c.name)
	}
	for _, name := range names {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}, {name, "--db", "x", "--help"}} {
			if name == "version" && len(args) == 4 {
				continue // version takes no flags
			}
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, stdout, stderr := cli(t, args...)
				want := "Usage: hflineage " + name
				if code != 0 || stderr != "" || !strings.HasPrefix(stdout, want) || strings.Count(stdout, "Usage:") != 1 {
					t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 0, no stderr, %q once at the start of stdout", code, stderr, stdout, want)
				}
				if name != "version" && !strings.Contains(stdout, "\nFlags:\n") {
					t.Errorf("no flags listed:\n%s", stdout)
				}
			})
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, args...)
			if code != 0 || stderr != "" || strings.Count(stdout, "Commands:") != 1 {
				t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
			}
		})
	}
}

// TestUsageErrors: a mistake on the command line is one line naming it,
// then one line pointing to the command's --help; exit 2, nothing on stdout.
func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none")
	tests := []struct {
		args []string
		msg  string // the first line, whole
		help string // the command named in the second line ("" for the main help)
	}{
		{[]string{"count", "--nope", "a/b"}, "hflineage: count: unknown flag --nope", "count"},
		{[]string{"crawl", "a/b", "--bogus=1"}, "hflineage: crawl: unknown flag --bogus", "crawl"},
		{[]string{"crawl", "--depth", "x", "a/b"}, `hflineage: crawl: invalid value "x" for --depth: want a whole number`, "crawl"},
		{[]string{"crawl", "--json=maybe", "a/b"}, `hflineage: crawl: invalid value "maybe" for --json: want true or false`, "crawl"},
		{[]string{"schedule", "--every", "5", "a/b"}, `hflineage: schedule: invalid value "5" for --every: want a duration such as 90s, 30m or 6h`, "schedule"},
		{[]string{"count", "--db"}, "hflineage: count: flag --db needs a value", "count"},
		{[]string{"count", "a/b", "c/d"}, "hflineage: count: name exactly one MODEL", "count"},
		{[]string{"count", "--db", db, "méta/Llama"}, `hflineage: invalid model id "méta/Llama": character 'é' not allowed`, "count"},
		{[]string{"ancestors", "--db", db, "org/日本"}, `hflineage: invalid model id "org/日本": character '日' not allowed`, "ancestors"},
		{[]string{"crawl", "--db", db, "a/b\xff"}, `hflineage: invalid model id "a/b\xff": byte 0xff not allowed (not UTF-8)`, "crawl"},
		{[]string{"history", "--db", db, "a/b c"}, `hflineage: invalid model id "a/b c": character ' ' not allowed`, "history"},
		{[]string{"diff", "--db", db, "--run", "0"}, "hflineage: diff: --run 0: runs are numbered from 1 (leave --run out for the last run)", "diff"},
		{[]string{"diff", "--db", db, "--run", "-3"}, "hflineage: diff: --run -3: runs are numbered from 1 (leave --run out for the last run)", "diff"},
		{[]string{"diff", "--db", db, "--run", "one"}, `hflineage: diff: invalid value "one" for --run: want a whole number`, "diff"},
		{[]string{"frobnicate"}, `hflineage: unknown command "frobnicate"`, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, tt.args...)
			help := "run 'hflineage help' for usage"
			if tt.help != "" {
				help = "run 'hflineage " + tt.help + " --help' for usage"
			}
			if want := tt.msg + "\n" + help + "\n"; code != exitUsage || stdout != "" || stderr != want {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and stderr:\n%s", code, stdout, stderr, want)
			}
		})
	}
}
