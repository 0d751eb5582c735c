package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// recordedLlama2 is a Hub holding both recorded Llama-2 trees, as
// hubsim --world A.json,B.json serves them; ok is false when the
// recordings are absent or hidden.
func recordedLlama2(t *testing.T) (w *hubtest.World, ok bool) {
	t.Helper()
	w = hubtest.NewWorld()
	for _, f := range []string{"Llama-2-7b_finetunes_20250422_180448.json", "Llama-2-7b-chat-hf_finetunes_20250422_180448.json"} {
		path, ok := recordingPath(f)
		if !ok {
			return nil, false
		}
		tr, err := hubtest.ReadTree(path)
		if err != nil {
			t.Fatal(err)
		}
		one := tr.World()
		for _, id := range one.IDs() {
			if m, ok := one.Get(id); ok {
				if _, dup := w.Get(id); !dup {
					w.Add(m)
				}
			}
		}
	}
	return w, true
}

// dates stand for the moment a test runs: README examples show the
// day they were made.
var dates = regexp.MustCompile(`\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?`)

// TestREADMEEcosystemExamples runs the README's ecosystem examples on both
// recorded Llama-2 trees and compares their output byte for byte (dates
// aside; an example ending in "…" with the lines it shows), and checks
// that the comparison's chart is an SVG with a line per ecosystem.
func TestREADMEEcosystemExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	recorded, _, _ := strings.Cut(string(readme), "\n### Without the recordings\n") // that section's examples run on a generated Hub (TestREADMEGeneratedTwin)
	examples := regexp.MustCompile("(?s)```\n\\$ hflineage ((?:count|compare) [^\n]*\\*[^\n]*|compare [^\n]*)\n(.*?)```").FindAllStringSubmatch(recorded, -1)
	if len(examples) < 2 {
		t.Fatalf("README shows %d ecosystem examples; want count 'meta-llama/*' and a compare", len(examples))
	}
	w, ok := recordedLlama2(t)
	if !ok {
		t.Skip("the recorded Llama-2 trees are absent or hidden")
	}
	srv := hubtest.NewServer(w)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--all"); code != 0 { // the Hub holds the two trees only: a scan is a walk of both
		t.Fatalf("crawl: %s", stderr)
	}
	plot := filepath.Join(t.TempDir(), "compare.svg")
	for _, ex := range examples {
		command, want := ex[1], ex[2]
		t.Run(command, func(t *testing.T) {
			args := strings.Fields(strings.ReplaceAll(command, "'", ""))
			for i, a := range args {
				if a == "--plot" {
					args[i+1] = plot
				}
			}
			code, got, stderr := cli(t, append(args, "--db", db)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, want = dates.ReplaceAllString(got, "DATE"), dates.ReplaceAllString(want, "DATE")
			if shown, cut := strings.CutSuffix(want, "…\n"); cut {
				got = got[:min(len(got), len(shown))]
				want = shown
			}
			if got != want {
				t.Errorf("README shows\n%s\nthe command prints\n%s", want, got)
			}
		})
	}
	// The chart: valid SVG naming each ecosystem in its legend.
	b, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the compare chart is not XML: %v", err)
		}
	}
	for _, name := range []string{"meta-llama/Llama-2-7b", "meta-llama/Llama-2-7b-chat-hf"} {
		if !strings.Contains(string(b), ">"+name+"<") {
			t.Errorf("the compare chart does not name %s", name)
		}
	}
}

// TestEcosystemCLI: count, compare and history of ecosystems on a generated
// world, their JSON equal to the engine's, and bad patterns refused in one
// line.
func TestEcosystemCLI(t *testing.T) {
	w := hubtest.Generate(hubtest.GenOptions{Models: 2000, Seed: 4})
	srv := hubtest.NewServer(w)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--all"); code != 0 {
		t.Fatalf("crawl: %s", stderr)
	}
	code, out, stderr := cli(t, "count", "--db", db, "--json", "base-org-0/*", "base-org-1/Base-Model-1")
	if code != 0 {
		t.Fatalf("count: exit %d: %s", code, stderr)
	}
	var c query.EcosystemCount
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.Ecosystem != "base-org-0/*,base-org-1/Base-Model-1" || c.Matched != 2 || len(c.Roots) != 2 || c.Descendants.Total == 0 || !c.Complete {
		t.Errorf("count: %+v", c)
	}
	// Each root's own family is what count says of it alone.
	for _, r := range c.Roots {
		_, one, _ := cli(t, "count", "--db", db, "--json", string(r.Model))
		var single query.Count
		if err := json.Unmarshal([]byte(one), &single); err != nil || single.FamilyCount != r {
			t.Errorf("root %s: %+v; count says %s", r.Model, r, one)
		}
	}
	code, out, stderr = cli(t, "compare", "--db", db, "--json", "base-org-0/*", "base-org-1/*", "base-org-2/*")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	var cmp query.Comparison
	if err := json.Unmarshal([]byte(out), &cmp); err != nil {
		t.Fatal(err)
	}
	if len(cmp.Ecosystems) != 3 || len(cmp.Overlaps) != 3 || len(cmp.Months) == 0 {
		t.Errorf("compare: %d ecosystems, %d overlaps, %d months", len(cmp.Ecosystems), len(cmp.Overlaps), len(cmp.Months))
	}
	if code, out, stderr = cli(t, "history", "--db", db, "base-org-0/*"); code != 0 || !strings.HasPrefix(out, "base-org-0/*\n") {
		t.Errorf("history: exit %d: %s%s", code, out, stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"count", "nobody/*"}, 1, "hflineage: no model in the database matches nobody/* (crawl it first: hflineage crawl 'nobody/*')\n"},
		{[]string{"compare", "base-org-0/*", "nobody/x*"}, 1, "hflineage: no model in the database matches nobody/x* (crawl it first: hflineage crawl 'nobody/x*')\n"},
		{[]string{"count", "*"}, 2, "hflineage: count: the pattern names every model: \"*\" (count the whole database with hflineage stats; crawl the whole Hub with hflineage crawl --all)\nrun 'hflineage count --help' for usage\n"},
	} {
		code, _, stderr := cli(t, append(tc.args, "--db", db)...)
		if code != tc.code || stderr != tc.want {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestEcosystemsViaServe: while serve holds the database, count, compare
// and history of ecosystems ask it over HTTP and print byte for byte what
// they print reading the database themselves; refusals are the same lines.
func TestEcosystemsViaServe(t *testing.T) {
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 2000, Seed: 9}))
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "--all"); code != 0 {
		t.Fatalf("crawl --all: exit %d: %s", code, stderr)
	}
	commands := [][]string{
		{"count", "base-org-0/*"},
		{"count", "--json", "base-org-*/*", "user1/*"},
		{"compare", "base-org-0/*", "base-org-1/*,base-org-2/*"},
		{"compare", "--json", "--top", "3", "base-org-0/*", "user1*/*"},
		{"history", "--json", "base-org-0/*"},
		{"count", "nobody/*"},
		{"compare", "base-org-0/*", "nobody/*"},
	}
	sameThroughServe(t, db, commands)
}
