package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// TestStatsSaysWhatItKnows: after a walk, a parent outside the family
// (base-org-0/Base-Model-0, a co-parent of merges in base-org-1's family)
// is "not looked up", not "not on the Hub"; a seed the Hub answered 401 is
// recorded; after a complete scan of the same Hub every dangling parent is
// one the Hub does not have. Roots are exactly the depth-0 bucket, and the
// text report says so, with the top authors' column headers.
func TestStatsSaysWhatItKnows(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 4000, Seed: 3})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	stats := func() graph.Stats {
		t.Helper()
		code, stdout, stderr := cli(t, "stats", "--db", db, "--json", "--top", "1000")
		var s graph.Stats
		if err := json.Unmarshal([]byte(stdout), &s); code != 0 || err != nil {
			t.Fatalf("stats --json: exit %d, %v: %s", code, err, stderr)
		}
		sum := 0
		for _, b := range s.Depth {
			sum += b.Count
		}
		if len(s.Depth) == 0 || s.Depth[0].Count != s.Roots || sum != s.Models-s.ModelsWithoutLineage {
			t.Errorf("roots %d, depth %v, models %d, without lineage %d", s.Roots, s.Depth, s.Models, s.ModelsWithoutLineage)
		}
		d := s.Dangling
		if d.NotOnHub != d.NotListedByScan+d.LookupFailed || d.NotOnHub+d.NotLookedUp != s.DanglingParents ||
			s.Quality.DanglingParents != s.DanglingParents || len(d.Top) != s.DanglingParents {
			t.Errorf("dangling parents %d do not add up: %+v", s.DanglingParents, d)
		}
		return s
	}
	reason := func(s graph.Stats, id graph.ModelID) graph.DanglingReason {
		for _, p := range s.Dangling.Top {
			if p.Model == id {
				return p.Reason
			}
		}
		return ""
	}

	code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--mode", "walk", "base-org-1/Base-Model-1", "nobody/none")
	if code == 0 || !strings.Contains(stderr, "nobody/none") {
		t.Fatalf("walk with an unknown seed: exit %d, %s", code, stderr)
	}
	s := stats()
	if r := reason(s, "base-org-0/Base-Model-0"); r != graph.NotLookedUp {
		t.Errorf("after the walk, base-org-0/Base-Model-0 is %q, want %q", r, graph.NotLookedUp)
	}
	if s.Dangling.NotOnHub != 0 || s.Dangling.NotLookedUp == 0 {
		t.Errorf("after the walk: %+v", s.Dangling)
	}
	if s.Roots != 1 || s.ModelsWithoutLineage != 0 {
		t.Errorf("after the walk: roots %d, without lineage %d", s.Roots, s.ModelsWithoutLineage)
	}
	code, text, _ := cli(t, "stats", "--db", db)
	for _, want := range []string{
		"\nroots                   1 (models with children and no parent: depth 0)\n",
		"\n  not looked up         ",
		"\n  derivatives  downloads author\n",
		"  not looked up  base-org-0/Base-Model-0\n",
	} {
		if code != 0 || !strings.Contains(text, want) {
			t.Errorf("the text report lacks %q:\n%s", want, text)
		}
	}

	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--all"); code != 0 {
		t.Fatalf("crawl --all: %s", stderr)
	}
	s = stats()
	// Independently: parents named in the Hub's tags that it does not list.
	names := map[graph.ModelID]bool{}
	for _, id := range world.IDs() {
		names[graph.ModelID(id)] = true
	}
	missing := map[graph.ModelID]bool{}
	for _, id := range world.IDs() {
		m, _ := world.Get(id)
		for _, p := range graph.ParentsFromTags(m.Tags) {
			if !names[p.ID] {
				missing[p.ID] = true
			}
		}
	}
	if len(missing) == 0 || s.DanglingParents != len(missing) || s.Dangling.NotListedByScan != len(missing) {
		t.Errorf("after the scan: %d dangling, %+v; the Hub lacks %d", s.DanglingParents, s.Dangling, len(missing))
	}
	for _, p := range s.Dangling.Top {
		if !missing[p.Model] || p.Reason != graph.NotListedByScan {
			t.Errorf("after the scan: %+v", p)
		}
	}
}

// TestREADMEStatsExamples runs the examples of the stats section of
// docs/reference.md and compares their output byte for byte (an example
// ending in "…" with the lines it shows).
func TestREADMEStatsExamples(t *testing.T) {
	section := referenceSection(t, "stats")
	examples := regexp.MustCompile("(?s)```\n\\$ hflineage (stats[^\n]*)\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(examples) == 0 {
		t.Fatal("no stats example in docs/reference.md")
	}
	// walked crawls root on hub into a new database.
	walked := func(t *testing.T, world *hubtest.World, args ...string) string {
		srv := hubtest.NewServer(world)
		defer srv.Close()
		db := filepath.Join(t.TempDir(), "db")
		if code, _, stderr := cli(t, append([]string{"crawl", "--db", db, "--endpoint", srv.URL}, args...)...); code != 0 {
			t.Fatalf("crawl: %s", stderr)
		}
		return db
	}
	for _, ex := range examples {
		command, want := ex[1], ex[2]
		t.Run(command, func(t *testing.T) {
			var db string
			switch command {
			case "stats --top 3": // hubsim --models 5000, its default seed
				db = walked(t, hubtest.Generate(hubtest.GenOptions{Models: 5000, Seed: 1}), "--mode", "walk", "base-org-1/Base-Model-1")
			case "stats --root meta-llama/Llama-2-7b":
				path, ok := recordingPath("Llama-2-7b_finetunes_20250422_180448.json")
				if !ok {
					t.Skip("the recorded Llama-2-7b tree is absent or hidden")
				}
				tr, err := hubtest.ReadTree(path)
				if err != nil {
					t.Fatal(err)
				}
				db = walked(t, tr.World(), tr.Root)
			default:
				t.Fatalf("docs/reference.md shows %q: add how to reproduce it here", command)
			}
			code, got, stderr := cli(t, append(strings.Fields(command), "--db", db)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if shown, cut := strings.CutSuffix(want, "…\n"); cut {
				got = got[:min(len(got), len(shown))]
				want = shown
			}
			if got != want {
				t.Errorf("docs/reference.md shows\n%s\nthe command prints\n%s", want, got)
			}
		})
	}
}

// TestStatsLagNote: statistics a server took from a view behind the
// database say so in the text report (the JSON has the keys).
func TestStatsLagNote(t *testing.T) {
	if n := lagNote(graph.Stats{DataVersion: 7}); n != "" {
		t.Errorf("current figures: %q", n)
	}
	n := lagNote(graph.Stats{DataVersion: 7, VersionsBehind: 3})
	if !strings.Contains(n, "data version 7, 3 commit(s) behind the database") {
		t.Errorf("lagging figures: %q", n)
	}
}
