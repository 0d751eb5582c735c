package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func TestScanStatsHistoryDiff(t *testing.T) {
	n := 50000
	if testing.Short() {
		n = 6000
	}
	world := hubtest.Generate(hubtest.GenOptions{Models: n, Seed: 9})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	base := "base-org-0/Base-Model-0"

	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all", "--snapshot-min", "50")
	code, stdout, stderr := cli(t, "stats", "--db", db, "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var s graph.Stats
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	// Independent counts from the fake Hub's world.
	models, edges := 0, map[graph.Edge]bool{}
	names := map[graph.ModelID]bool{}
	for _, id := range world.IDs() {
		m, _ := world.Get(id)
		models++
		names[graph.ModelID(id)] = true
		for _, p := range graph.ParentsFromTags(m.Tags) {
			edges[graph.Edge{Parent: p.ID, Child: graph.ModelID(id), Relation: p.Relation}] = true
		}
	}
	dangling := map[graph.ModelID]bool{}
	byRel := map[graph.Relation]int{}
	for e := range edges {
		byRel[e.Relation]++
		if !names[e.Parent] {
			dangling[e.Parent] = true
		}
	}
	if s.Models != models || s.Edges != len(edges) || s.DanglingParents != len(dangling) ||
		s.EdgesByRelation.Finetune != byRel[graph.Finetune] || s.EdgesByRelation.Merge != byRel[graph.Merge] {
		t.Errorf("stats %d models, %d edges, %d dangling, %+v; Hub %d, %d, %d, %v", s.Models, s.Edges, s.DanglingParents, s.EdgesByRelation,
			models, len(edges), len(dangling), byRel)
	}
	if len(s.LargestFamilies) == 0 || s.LargestFamilies[0].Model != graph.ModelID(base) {
		t.Errorf("largest family: %+v", s.LargestFamilies)
	}

	// The Hub changes; an incremental scan sees the new model, diff shows it.
	now := hubtest.GeneratedUntil.Add(48 * time.Hour)
	world.Add(hubtest.Model{ID: "newcomer/Base-Model-0-GGUF", CreatedAt: now, LastModified: now,
		Tags: hubtest.ParentTags(hubtest.Parent{ID: base, Relation: "quantized"})})
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--all", "--snapshot-min", "50"); code != 0 {
		t.Fatalf("incremental crawl --all: %s", stderr)
	}
	code, stdout, _ = cli(t, "diff", "--db", db, "--json", base)
	var d query.Diff
	if err := json.Unmarshal([]byte(stdout), &d); code != 0 || err != nil {
		t.Fatalf("diff: %d %v %s", code, err, stdout)
	}
	if d.Run != 2 || len(d.ModelsAdded) != 1 || d.ModelsAdded[0] != "newcomer/Base-Model-0-GGUF" || len(d.EdgesAdded) != 1 ||
		d.EdgesAdded[0].Relation != graph.Quantized || len(d.ModelsRemoved)+len(d.EdgesRemoved) != 0 {
		t.Errorf("diff: %+v", d)
	}

	code, stdout, _ = cli(t, "history", "--db", db, "--json", base)
	var h query.History
	if err := json.Unmarshal([]byte(stdout), &h); code != 0 || err != nil {
		t.Fatalf("history: %d %v %s", code, err, stdout)
	}
	if len(h.Runs) != 2 || h.Runs[0].Run != 1 || h.Runs[1].Descendants.Total != h.Runs[0].Descendants.Total+1 ||
		h.Runs[1].Descendants.Quantized != h.Runs[0].Descendants.Quantized+1 {
		t.Errorf("history: %+v", h)
	}
	if _, err := time.Parse(time.RFC3339, h.Runs[0].Finished); err != nil {
		t.Errorf("finished %q: %v", h.Runs[0].Finished, err)
	}
	// Human forms work too.
	for _, args := range [][]string{{"stats"}, {"stats", "--root", base}, {"history", base}, {"diff"}} {
		code, stdout, stderr := cli(t, append(args, "--db", db)...)
		if code != 0 || len(stdout) < 20 {
			t.Errorf("%v: exit %d, %q %q", args, code, stdout, stderr)
		}
	}
}

// TestScheduleEvery2s runs the real binary's scheduler and stops it with
// SIGTERM (exit 130).
func TestScheduleEvery2s(t *testing.T) {
	bin := buildBinary(t)
	world := hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 5})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(bin, "schedule", "--every", "2s", "--all", "--db", db, "--endpoint", srv.URL)
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	deadline := time.After(30 * time.Second)
	for runs := 0; runs < 3; {
		select {
		case l := <-lines:
			got = append(got, l)
			if strings.Contains(l, "crawl: ") {
				runs++
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("fewer than 3 runs in 30 s:\n%s\n%s", strings.Join(got, "\n"), stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	for l := range lines {
		got = append(got, l)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitCanceled {
		t.Errorf("schedule after SIGTERM: exit %d, want %d\n%s", code, exitCanceled, stderr.String())
	}
	if !strings.Contains(got[len(got)-1], "scheduler stopped") {
		t.Errorf("last line %q", got[len(got)-1])
	}
	t.Logf("schedule log:\n%s", strings.Join(got, "\n"))
}
