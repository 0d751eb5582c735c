package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestSIGKILLMidBulkScan kills the real binary three times during a first
// `crawl --all` into an empty on-disk database (the bulk path, which writes
// without reading), resumes it, and holds the result to a clean scan's: the
// same graph (the whole DOT export), the same stats, and the same run as
// diff and history tell it (everything added).
func TestSIGKILLMidBulkScan(t *testing.T) {
	bin := buildBinary(t)
	world := hubtest.Generate(hubtest.GenOptions{Models: 4000, Seed: 5})
	hub := hubtest.NewUnstartedServer(world)
	hub.MaxPageSize = 50 // 80 pages: room to die between and within commits
	k := &killer{bin: bin}
	hub.Fault = k.fault
	hub.Start()
	defer hub.Close()

	scan := func(db string, kill int) (killed bool) {
		return k.run(t, kill, "crawl", "--all", "--snapshot-min", "20", "--db", db, "--endpoint", hub.URL)
	}
	output := func(args ...string) []byte {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	// What a reader sees of the database: the graph, its stats, the run's
	// diff and the largest family's history, without times.
	look := func(db string) (dot []byte, rest map[string]any) {
		rest = map[string]any{}
		for name, args := range map[string][]string{
			"stats":   {"stats", "--json"},
			"diff":    {"diff", "--json"},
			"family":  {"diff", "--json", "base-org-0/Base-Model-0"},
			"history": {"history", "--json", "base-org-0/Base-Model-0"},
		} {
			var v any
			if err := json.Unmarshal(output(append(args, "--db", db)...), &v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			rest[name] = withoutTimes(v)
		}
		return output("export", "--format", "dot", "--db", db), rest
	}

	clean := filepath.Join(t.TempDir(), "clean")
	scan(clean, -1)
	cleanRequests := hub.RequestCount()
	wantDot, want := look(clean)

	crashed := filepath.Join(t.TempDir(), "crashed")
	kills := 0
	for _, frac := range []float64{0.2, 0.5, 0.8} {
		if scan(crashed, hub.RequestCount()+int(frac*float64(cleanRequests)/2)) {
			kills++
		}
	}
	if scan(crashed, -1) {
		t.Fatal("the final run was killed")
	}
	resumed := hub.RequestCount() - cleanRequests // the looks ask the Hub nothing
	if kills != 3 {
		t.Errorf("only %d of 3 runs were killed mid-scan", kills)
	}
	gotDot, got := look(crashed)
	if !bytes.Equal(gotDot, wantDot) {
		t.Errorf("graph after 3 kills differs from a clean scan (%d vs %d bytes of DOT)", len(gotDot), len(wantDot))
	}
	for name := range want {
		if !reflect.DeepEqual(got[name], want[name]) {
			t.Errorf("%s after 3 kills:\n%v\nclean scan:\n%v", name, got[name], want[name])
		}
	}
	ratio := float64(resumed) / float64(cleanRequests)
	t.Logf("clean scan: %d requests; killed 3 times and resumed: %d requests (%.3f×)", cleanRequests, resumed, ratio)
	if ratio > 1.25 {
		t.Errorf("the resumed scan cost %.2f× a clean one, want ≤ 1.25×", ratio)
	}
	if d, ok := want["diff"].(map[string]any); !ok || d["all_new"] != true {
		t.Errorf("the first scan's diff is not all new: %v", want["diff"])
	}
}

// withoutTimes drops the "finished" and "started" keys of JSON objects.
func withoutTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "finished" || k == "started" || k == "scan_date" || k == "not_listed_by_scan_date" {
				delete(x, k)
				continue
			}
			x[k] = withoutTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = withoutTimes(e)
		}
	}
	return v
}
