package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
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
		{[]string{"crawl", "--reads", "maybe", "a/b"}, `hflineage: crawl: --reads must be auto, live, store or none, not "maybe"`, "crawl"},
		{[]string{"schedule", "--every", "5", "a/b"}, `hflineage: schedule: invalid value "5" for --every: want a duration such as 90s, 30m or 6h`, "schedule"},
		{[]string{"count", "--db"}, "hflineage: count: flag --db needs a value", "count"},
		{[]string{"export", "--format", "dot", "-o"}, "hflineage: export: flag -o needs a value", "export"},
		{[]string{"export", "-f", "dot"}, "hflineage: export: unknown flag -f", "export"},
		{[]string{"count"}, "hflineage: count: name a MODEL or a PATTERN such as 'meta-llama/*'", "count"},
		{[]string{"count", "a/b", "*/*"}, `hflineage: count: the pattern names every model: "*/*" (count the whole database with hflineage stats; crawl the whole Hub with hflineage crawl --all)`, "count"},
		{[]string{"count", "meta llama/*"}, `hflineage: count: invalid model id "meta llama/*": character ' ' not allowed`, "count"},
		{[]string{"compare", "a/*"}, "hflineage: compare: name two ecosystems or more, such as 'meta-llama/*' 'Qwen/*'", "compare"},
		{[]string{"compare", "a/*", "*"}, `hflineage: compare: the pattern names every model: "*" (count the whole database with hflineage stats; crawl the whole Hub with hflineage crawl --all)`, "compare"},
		{[]string{"compare", "--plot", "x.txt", "a/*", "b/*"}, "hflineage: compare: --plot x.txt: name a .svg or .png file", "compare"},
		{[]string{"count", "--db", db, "méta/Llama"}, `hflineage: count: invalid model id "méta/Llama": character 'é' not allowed`, "count"},
		{[]string{"ancestors", "--db", db, "org/日本"}, `hflineage: ancestors: invalid model id "org/日本": character '日' not allowed`, "ancestors"},
		{[]string{"crawl", "--db", db, "a/b\xff"}, `hflineage: crawl: invalid model id "a/b\xff": byte 0xff not allowed (not UTF-8)`, "crawl"},
		{[]string{"history", "--db", db, "a/b c"}, `hflineage: history: invalid model id "a/b c": character ' ' not allowed`, "history"},
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

// TestUnknownSeeds: a crawl whose every seed is unknown to the Hub says
// that nothing was crawled, exits 1, and records no run (it did record
// one, not complete, before issue 20); one known seed beside an unknown one is crawled (exit 1 still,
// the unknown one named) and its run is complete.
func TestUnknownSeeds(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	tests := []struct {
		name     string
		seeds    []string
		stderr   string
		complete bool
		diff     string // diff's first line, after "run 1 (walk, "; "": no run
	}{
		{"only unknown", []string{"nobody/nothing"}, "hflineage: nothing crawled: seed nobody/nothing skipped: model not found on the Hub", false, ""},
		{"two unknown", []string{"nobody/nothing", "nobody/else"}, "hflineage: nothing crawled: seed nobody/else skipped: model not found on the Hub", false, ""},
		{"unknown beside known", []string{"nobody/nothing", "b/lora"}, "hflineage: seed nobody/nothing skipped: model not found on the Hub", true, ")\nstarted from an empty database: all 1 models and 1 edges it stored are new\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "db")
			code, stdout, stderr := cli(t, append([]string{"crawl", "--json", "--db", db, "--endpoint", srv.URL}, tt.seeds...)...)
			if code != exitFailure || !strings.Contains(stderr, "\n"+tt.stderr) || strings.Count(stderr, "hflineage:") != 1 {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and a line starting %q", code, stderr, tt.stderr)
			}
			var out struct {
				Complete bool   `json:"complete"`
				Run      uint64 `json:"run"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("%v: %q", err, stdout)
			}
			// A crawl that fetched nothing records no run.
			if wantRun := map[bool]uint64{true: 1}[tt.complete]; out.Complete != tt.complete || out.Run != wantRun || out.Error == "" {
				t.Errorf("--json: %+v, want complete %v in run %d with an error", out, tt.complete, wantRun)
			}
			code, stdout, stderr = cli(t, "diff", "--db", db)
			if tt.diff == "" {
				if code == 0 || strings.Contains(stdout, "run 1") {
					t.Errorf("diff (exit %d) found a run of a crawl that fetched nothing:\n%s%s", code, stdout, stderr)
				}
			} else if code != 0 || !strings.HasPrefix(stdout, "run 1 (walk, ") || !strings.HasSuffix(stdout, tt.diff) {
				t.Errorf("diff (exit %d):\n%s\nwant its end %q", code, stdout, tt.diff)
			}
			// The next crawl starts afresh: nothing is left to resume.
			if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "a/ft"); code != 0 {
				t.Errorf("next crawl: exit %d: %s", code, stderr)
			}
		})
	}
}

// TestUnknownSeedViaServe: the same through hflineage serve, which holds
// the database and runs the crawl.
func TestUnknownSeedViaServe(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	ctx, cancel := context.WithCancel(context.Background())
	_, serveErr, result := background(ctx, "serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", srv.URL)
	defer func() {
		cancel()
		if code := <-result; code != 0 {
			t.Errorf("serve: exit %d: %s", code, serveErr)
		}
	}()
	waitUntil(t, "the server", func() bool { return strings.Contains(serveErr.String(), "serve: listening on") })
	code, stdout, stderr := cli(t, "crawl", "--json", "--db", db, "nobody/nothing")
	if code != exitFailure || !strings.Contains(stderr, "\nhflineage: nothing crawled: seed nobody/nothing skipped: model not found on the Hub") ||
		!strings.Contains(stderr, "(nothing crawled)\n") || !strings.Contains(stdout, `"complete":false`) {
		t.Errorf("exit %d, stdout %s, stderr:\n%s", code, stdout, stderr)
	}
}
