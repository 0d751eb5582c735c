package store

import (
	"context"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// runSpec is a run to record: a walk of seeds, or a scan when seeds is nil.
// Every run adds a model, unless unchanged.
type runSpec struct {
	seeds     []string
	complete  bool
	unchanged bool
}

func walkRun(complete bool, seeds ...string) runSpec {
	return runSpec{seeds: seeds, complete: complete}
}
func scanRun(complete bool) runSpec { return runSpec{complete: complete} }

// idleRun is an unfinished walk that changed nothing.
func idleRun(seeds ...string) runSpec { return runSpec{seeds: seeds, unchanged: true} }

func recordRuns(t *testing.T, s *Store, runs []runSpec) {
	t.Helper()
	for _, spec := range runs {
		mode := "walk"
		if spec.seeds == nil {
			mode = "scan"
		}
		r, err := s.NewRun(mode, false, spec.seeds)
		if err != nil {
			t.Fatal(err)
		}
		err = s.UpdateRun(r, func(tx *Tx) error {
			tx.Run().Complete = spec.complete
			if !spec.unchanged {
				tx.Run().ModelsAdded = 1
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestFamilyComplete(t *testing.T) {
	// base → ft → q, and ft's co-parent side/Base; other/Root stands apart.
	models := []graph.Model{{ID: "org/Base"}, {ID: "a/ft"}, {ID: "b/q"}, {ID: "side/Base"}, {ID: "other/Root"}, {ID: "other/child"}}
	edges := []graph.Edge{
		edge("org/Base", "a/ft", graph.Finetune),
		edge("side/Base", "a/ft", graph.Merge),
		edge("a/ft", "b/q", graph.Quantized),
		edge("other/Root", "other/child", graph.Adapter),
	}
	type want struct {
		complete bool
		run      uint64
	}
	tests := []struct {
		name   string
		runs   []runSpec
		family map[graph.ModelID]want
		db     want
	}{
		{"no runs", nil,
			map[graph.ModelID]want{"org/Base": {true, 0}, "b/q": {true, 0}},
			want{true, 0}},
		{"complete walk of the root", []runSpec{walkRun(true, "org/Base")},
			map[graph.ModelID]want{"org/Base": {true, 1}, "a/ft": {true, 1}, "b/q": {true, 1}, "other/Root": {true, 0}, "side/Base": {true, 0}},
			want{true, 1}},
		{"interrupted walk of the root", []runSpec{walkRun(false, "org/Base")},
			map[graph.ModelID]want{"org/Base": {false, 1}, "a/ft": {false, 1}, "b/q": {false, 1}, "other/Root": {true, 0}, "side/Base": {true, 0}},
			want{false, 1}},
		{"interrupted, then finished", []runSpec{walkRun(false, "org/Base"), walkRun(true, "org/Base")},
			map[graph.ModelID]want{"org/Base": {true, 2}, "b/q": {true, 2}},
			want{true, 2}},
		{"complete, then a re-walk interrupted", []runSpec{walkRun(true, "org/Base"), walkRun(false, "org/Base")},
			map[graph.ModelID]want{"org/Base": {false, 2}, "b/q": {false, 2}},
			want{false, 2}},
		{"interrupted walk of a descendant leaves the root's family alone", []runSpec{walkRun(true, "org/Base"), walkRun(false, "a/ft")},
			map[graph.ModelID]want{"org/Base": {true, 1}, "a/ft": {false, 2}, "b/q": {false, 2}},
			want{false, 2}},
		{"a co-parent's walk covers the merge child", []runSpec{walkRun(true, "org/Base"), walkRun(false, "side/Base")},
			map[graph.ModelID]want{"org/Base": {true, 1}, "a/ft": {false, 2}, "side/Base": {false, 2}},
			want{false, 2}},
		{"another family's interrupted walk", []runSpec{walkRun(true, "org/Base"), walkRun(false, "other/Root")},
			map[graph.ModelID]want{"b/q": {true, 1}, "other/child": {false, 2}},
			want{false, 2}},
		{"seeds named by another letter case", []runSpec{walkRun(false, "ORG/base")},
			map[graph.ModelID]want{"b/q": {false, 1}},
			want{false, 1}},
		{"seed unknown to the database", []runSpec{walkRun(false, "gone/Model")},
			map[graph.ModelID]want{"b/q": {true, 0}},
			want{false, 1}},
		{"several seeds", []runSpec{walkRun(false, "other/Root", "a/ft")},
			map[graph.ModelID]want{"org/Base": {true, 0}, "b/q": {false, 1}, "other/child": {false, 1}},
			want{false, 1}},
		{"an unfinished re-walk that changed nothing is passed over", []runSpec{walkRun(true, "org/Base"), idleRun("org/Base")},
			map[graph.ModelID]want{"org/Base": {true, 1}, "b/q": {true, 1}},
			want{true, 2}},
		{"a crawl abandoned before its first page", []runSpec{walkRun(false, "org/Base"), idleRun("wrong/Endpoint")},
			map[graph.ModelID]want{"b/q": {false, 1}},
			want{false, 1}},
		{"only idle runs", []runSpec{idleRun("org/Base"), {unchanged: true}},
			map[graph.ModelID]want{"b/q": {true, 0}},
			want{true, 2}},
		{"interrupted scan", []runSpec{walkRun(true, "org/Base"), scanRun(false)},
			map[graph.ModelID]want{"org/Base": {false, 2}, "other/Root": {false, 2}},
			want{false, 2}},
		{"interrupted scan, then a complete walk", []runSpec{scanRun(false), walkRun(true, "org/Base")},
			map[graph.ModelID]want{"b/q": {true, 2}, "other/child": {false, 1}},
			want{false, 1}},
		{"complete scan supersedes an interrupted walk", []runSpec{walkRun(false, "org/Base"), scanRun(true)},
			map[graph.ModelID]want{"b/q": {true, 2}, "other/child": {true, 2}},
			want{true, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := memStore(t)
			put(t, s, models, edges)
			recordRuns(t, s, tt.runs)
			for id, w := range tt.family {
				complete, run, err := s.FamilyComplete(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if complete != w.complete || run != w.run {
					t.Errorf("FamilyComplete(%s) = %v, run %d; want %v, run %d", id, complete, run, w.complete, w.run)
				}
			}
			complete, run, err := s.DatabaseComplete(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if complete != tt.db.complete || run != tt.db.run {
				t.Errorf("DatabaseComplete() = %v, run %d; want %v, run %d", complete, run, tt.db.complete, tt.db.run)
			}
		})
	}
}
