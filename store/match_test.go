package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
)

func TestMatchModels(t *testing.T) {
	st, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.NewRun("walk", false, []string{"Meta-Llama/Base"})
	if err != nil {
		t.Fatal(err)
	}
	ids := []graph.ModelID{"Meta-Llama/Base", "meta-llama/chat", "meta-llama2/x", "Qwen/Qwen2.5-7B", "qwen/qwen2-1b", "gpt2"}
	err = st.UpdateRun(run, func(tx *Tx) error {
		for _, id := range ids {
			if err := tx.PutModel(graph.Model{ID: id}, nil); err != nil {
				return err
			}
		}
		return tx.PutAlias("meta-llama/old-name", "meta-llama/chat") // a rename
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pattern string
		want    []graph.ModelID
	}{
		{"meta-llama/*", []graph.ModelID{"Meta-Llama/Base", "meta-llama/chat"}},
		{"META-LLAMA/*", []graph.ModelID{"Meta-Llama/Base", "meta-llama/chat"}},
		{"meta-llama*/*", []graph.ModelID{"Meta-Llama/Base", "meta-llama/chat", "meta-llama2/x"}},
		{"qwen/qwen2*", []graph.ModelID{"Qwen/Qwen2.5-7B", "qwen/qwen2-1b"}},
		{"Qwen/Qwen2.5-*", []graph.ModelID{"Qwen/Qwen2.5-7B"}},
		{"*/qwen*", []graph.ModelID{"Qwen/Qwen2.5-7B", "qwen/qwen2-1b"}},
		{"gpt?", []graph.ModelID{"gpt2"}},
		{"meta-llama/old*", nil},
		{"nobody/*", nil},
	} {
		p, err := graph.ParsePattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.MatchModels(context.Background(), p)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.pattern, got, err, tc.want)
		}
	}
}

// FamiliesComplete says of a set what FamilyComplete says of each: complete
// when all are, else the latest unfinished run among their last crawls.
func TestFamiliesCompleteAgreesWithFamilyComplete(t *testing.T) {
	ctx := context.Background()
	st, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	walk := func(seed string, complete bool, models ...graph.Model) {
		t.Helper()
		run, err := st.NewRun("walk", false, []string{seed})
		if err != nil {
			t.Fatal(err)
		}
		err = st.UpdateRun(run, func(tx *Tx) error {
			for _, m := range models {
				var parents []graph.Parent
				if m.Author != "" { // the parent, for brevity
					parents = []graph.Parent{{ID: graph.ModelID(m.Author), Relation: graph.Finetune}}
				}
				if err := tx.PutModel(graph.Model{ID: m.ID, CreatedAt: time.Unix(1, 0)}, parents); err != nil {
					return err
				}
			}
			tx.Run().Complete = complete
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk("a/base", true, graph.Model{ID: "a/base"}, graph.Model{ID: "a/kid", Author: "a/base"})
	walk("b/base", false, graph.Model{ID: "b/base"}, graph.Model{ID: "b/kid", Author: "b/base"})
	check := func(when string) {
		t.Helper()
		sets := [][]graph.ModelID{{"a/base"}, {"a/kid"}, {"b/kid"}, {"a/kid", "b/kid"}, {"a/base", "b/base", "a/kid"}, {}}
		for _, ids := range sets {
			want, wantRun := true, uint64(0)
			for _, id := range ids {
				c, r, err := st.FamilyComplete(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !c && (want || r > wantRun) {
					want, wantRun = false, r
				}
			}
			got, run, _, err := st.FamiliesComplete(ctx, ids)
			if err != nil || got != want || (!got && run != wantRun) {
				t.Errorf("%s: FamiliesComplete(%v) = %v, run %d, %v; each says %v, run %d", when, ids, got, run, err, want, wantRun)
			}
		}
	}
	check("after two walks")
	scan, err := st.NewRun("scan", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = st.UpdateRun(scan, func(tx *Tx) error {
		tx.Run().Complete = true
		return tx.PutModel(graph.Model{ID: "c/new"}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after a scan")
	walk("b/base", false, graph.Model{ID: "b/kid2", Author: "b/base"})
	check("after a scan and a walk")
}
