package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

const gexfCheck = `
import json, sys
import networkx as nx
g = nx.read_gexf(sys.argv[1])
nodes = {n: {k: str(d.get(k, "")) for k in ("start", "end", "first_seen", "removed", "stub", "downloads_all_time")} for n, d in g.nodes(data=True)}
edges = [[u, v, d.get("relation", ""), d.get("start", ""), d.get("end", "")] for u, v, d in g.edges(data=True)]
print(json.dumps({"directed": g.is_directed(), "nodes": nodes, "edges": edges}))
`

// TestGEXFTimeline: after a Hub changed between two full scans, the GEXF
// export loads in networkx with each model's span — from its creation to
// the run that found it gone — and the removed models and edges still in
// it, ended.
func TestGEXFTimeline(t *testing.T) {
	if out, err := exec.Command(networkxPython, "-c", "import networkx").CombinedOutput(); err != nil {
		t.Skipf("python3-networkx not installed (%s)", strings.TrimSpace(string(out)))
	}
	world := hubtest.Generate(hubtest.GenOptions{Models: 1500, Seed: 8})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all")
	before := world.Lineage()
	created := hubtest.GeneratedUntil.Add(30 * 24 * time.Hour)
	world.Churn(40, 20, created)
	after := world.Lineage()
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all", "--full")

	st, err := store.Open(db, store.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs(t.Context())
	st.Close()
	if err != nil || len(runs) != 2 {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	second := day(runs[1].Finished)

	file := filepath.Join(dir, "all.gexf")
	if code, _, stderr := cli(t, "export", "--db", db, "--format", "gexf", "-o", file); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	out, err := exec.Command(networkxPython, "-c", gexfCheck, file).Output()
	if err != nil {
		t.Fatalf("networkx: %v", err)
	}
	var got struct {
		Directed bool
		Nodes    map[string]map[string]string
		Edges    [][5]string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	added, removed := 0, 0
	for id := range after.Models {
		if before.Models[id] {
			continue
		}
		added++
		n, ok := got.Nodes[string(id)]
		if !ok || n["start"] != day(created) || n["end"] != "" || !strings.HasPrefix(n["first_seen"], second) {
			t.Errorf("added %s: %v; want start %s, first seen %s", id, n, day(created), second)
		}
	}
	for id := range before.Models {
		if after.Models[id] {
			continue
		}
		removed++
		n, ok := got.Nodes[string(id)]
		if !ok || n["end"] != second {
			t.Errorf("removed %s: %v (in the export: %v); want it ended %s", id, n, ok, second)
		}
	}
	// Each model the Hub serves carries its all-time downloads.
	for id := range after.Models {
		m, ok := world.Get(string(id))
		if !ok {
			continue
		}
		if n, want := got.Nodes[string(id)]["downloads_all_time"], hubtestAllTime(m); n != want {
			t.Errorf("%s: downloads_all_time %q, want %q", id, n, want)
		}
	}
	if added == 0 || removed == 0 {
		t.Fatalf("the churn added %d and removed %d models", added, removed)
	}
	edges := map[graph.Edge][2]string{}
	for _, e := range got.Edges {
		edges[graph.Edge{Parent: graph.ModelID(e[0]), Child: graph.ModelID(e[1]), Relation: graph.Relation(e[2])}] = [2]string{e[3], e[4]}
	}
	for e := range after.Edges {
		sp, ok := edges[e]
		if !ok {
			t.Errorf("edge %v missing", e)
			continue
		}
		// An edge into a new model starts with it, or with its parent if
		// the parent's span starts later (a parent the churn removed is a
		// stub since, known from the first crawl on).
		if want := max(day(created), got.Nodes[string(e.Parent)]["start"]); !before.Edges[e] && sp[0] != want {
			t.Errorf("edge %v into a model created %s: span %v; want it to start %s", e, day(created), sp, want)
		}
	}
	for e := range before.Edges {
		if !after.Edges[e] && after.Models[e.Parent] && !before.Dangling[e.Parent] {
			if sp, ok := edges[e]; !ok || sp[1] != second {
				t.Errorf("removed edge %v: %v %v; want it ended %s", e, sp, ok, second)
			}
		}
	}
	if !got.Directed {
		t.Error("not directed")
	}
	if !strings.Contains(strings.Join(query.ExportFormats, ","), "gexf") {
		t.Error("gexf is not an export format")
	}
}

// hubtestAllTime is the downloads_all_time a GEXF export holds of m, as
// networkx reads it ("" when the Hub serves none).
func hubtestAllTime(m hubtest.Model) string {
	if n, ok := hubtest.DownloadsAllTimeOf(m); ok {
		return strconv.FormatInt(n, 10)
	}
	return ""
}
