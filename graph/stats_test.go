package graph

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// statsGraph is a small ecosystem whose every statistic is worked out by
// hand in TestComputeStats:
//
//	meta/base ─finetune→ alice/ft ─quantized→ alice/ft-GGUF
//	    │                   └─merge→ bob/merge ←merge─ gone/parent (stub) ─finetune→ x/orphan
//	    ├─finetune→ bob/ft ─adapter→ carol/lora
//	    └─quantized→ bob/ft ─merge→ carol/single-merge (a merge with one parent)
//	fam2/root ─finetune→ fam2/kid (no author: "fam2" from the id)
//	other/missing (stub) ─distill→ x/orphan2 (an unknown relation: "other")
//	dave/selfie ─finetune→ dave/selfie (a self-loop, nothing else)
//	eve/lone (no edges)
//	cyc/a ─finetune→ cyc/b ─finetune→ cyc/a (a cycle, reached from no root)
func statsGraph() *Graph {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	models := []Model{
		{ID: "meta/base", Author: "meta", License: "llama2", Downloads: 1000, Likes: 100, CreatedAt: day(2023, 7, 18)},
		{ID: "alice/ft", Author: "alice", License: "apache-2.0", Downloads: 300, DownloadsAllTime: CountOf(4000), Likes: 30, CreatedAt: day(2023, 8, 1)},
		{ID: "bob/ft", Author: "bob", License: "Llama2", Downloads: 200, DownloadsAllTime: CountOf(2500), Likes: 20, CreatedAt: day(2023, 8, 15)},
		{ID: "alice/ft-GGUF", Author: "alice", Downloads: 50, Likes: 5, CreatedAt: PlaceholderCreatedAt},
		{ID: "carol/lora", Author: "carol", License: "mit", Downloads: 10, Likes: 1, CreatedAt: day(2023, 10, 2)},
		{ID: "bob/merge", Author: "bob", License: "apache-2.0", Downloads: 5}, // createdAt unknown
		{ID: "carol/single-merge", Author: "carol", License: "llama2", Downloads: 7, CreatedAt: day(2023, 10, 20)},
		{ID: "dave/selfie", Author: "dave", License: "mit", Downloads: 3, CreatedAt: day(2024, 1, 1)},
		{ID: "eve/lone", Author: "eve", Downloads: 1, CreatedAt: day(2024, 2, 1)},
		{ID: "cyc/a", Author: "cyc", Downloads: 2, CreatedAt: day(2024, 3, 1)},
		{ID: "cyc/b", Author: "cyc", Downloads: 2, CreatedAt: day(2024, 3, 1)},
		{ID: "x/orphan", Author: "x", Downloads: 4, CreatedAt: day(2024, 4, 1)},
		{ID: "x/orphan2", Author: "x", Downloads: 4, CreatedAt: day(2024, 4, 1)},
		{ID: "fam2/root", Author: "fam2", License: "gemma", Downloads: 500, Likes: 50, CreatedAt: day(2024, 1, 10)},
		{ID: "fam2/kid", License: "gemma", Downloads: 60, DownloadsAllTime: CountOf(0), Likes: 6, CreatedAt: day(2024, 2, 10)},
	}
	edges := []Edge{
		{"meta/base", "alice/ft", Finetune},
		{"meta/base", "bob/ft", Finetune},
		{"alice/ft", "alice/ft-GGUF", Quantized},
		{"bob/ft", "carol/lora", Adapter},
		{"alice/ft", "bob/merge", Merge},
		{"gone/parent", "bob/merge", Merge},
		{"bob/ft", "carol/single-merge", Merge},
		{"dave/selfie", "dave/selfie", Finetune},
		{"cyc/a", "cyc/b", Finetune},
		{"cyc/b", "cyc/a", Finetune},
		{"gone/parent", "x/orphan", Finetune},
		{"other/missing", "x/orphan2", "distill"},
		{"fam2/root", "fam2/kid", Finetune},
		{"meta/base", "bob/ft", Quantized},
	}
	b := NewGraphBuilder(len(models) + 2)
	for i := range models {
		b.Node(models[i].ID, &models[i])
	}
	for _, e := range edges {
		b.Edge(e) // gone/parent and other/missing become stubs
	}
	return b.Graph()
}

// fanOut builds the fan-out buckets from the counts of the first ones.
func fanOut(counts ...int) []Bucket {
	out := []Bucket{{"1", 0}, {"2-4", 0}, {"5-9", 0}, {"10-99", 0}, {"100-999", 0}, {"1000-9999", 0}, {"10000+", 0}}
	for i, c := range counts {
		out[i].Count = c
	}
	return out
}

// baseFamily is meta/base's family as the ranking shows it: six
// descendants (alice/ft and bob/ft finetunes; bob/ft and alice/ft-GGUF
// quantized; carol/lora adapter; bob/merge and carol/single-merge merges),
// two levels deep, their downloads 300+200+50+10+5+7, likes 30+20+5+1,
// all-time downloads 4000+2500 known of alice/ft and bob/ft only.
var baseFamily = FamilyStat{Model: "meta/base", Author: "meta", License: "llama2",
	Descendants: RelationCounts{Adapter: 1, Finetune: 2, Merge: 2, Quantized: 2, Total: 6}, MaxDepth: 2,
	Downloads: 572, DownloadsAllTime: CountOf(6500), MembersWithoutAllTime: 4, Likes: 56}

// baseGrowth: alice/ft and bob/ft in 2023-08, carol/lora and
// carol/single-merge in 2023-10; alice/ft-GGUF (the placeholder date) and
// bob/merge (no date) unknown.
var baseGrowth = FamilyGrowth{Model: "meta/base", Months: []MonthCount{{"2023-08", 2}, {"2023-10", 2}}, UnknownDates: 2}

func TestComputeStats(t *testing.T) {
	gone := func(_ context.Context, ids []ModelID) (map[ModelID]DanglingReason, error) {
		if !slices.Equal(ids, []ModelID{"gone/parent", "other/missing"}) {
			t.Errorf("DanglingReasons asked about %v, want the two stubs sorted", ids)
		}
		return map[ModelID]DanglingReason{"gone/parent": LookupFailed, "nobody/else": NotListedByScan}, nil
	}
	tests := []struct {
		name string
		opts StatsOptions
		want Stats
	}{{
		name: "whole graph",
		opts: StatsOptions{Top: 10, DanglingReasons: gone},
		want: Stats{
			Models:           15, // the stubs gone/parent and other/missing are not models
			ModelsWithParent: 11, // all but meta/base, fam2/root, dave/selfie (a self-loop is no parent), eve/lone
			Edges:            14,
			EdgesByRelation:  EdgeCounts{Adapter: 1, Finetune: 7, Merge: 3, Quantized: 2, Other: 1},
			DanglingParents:  2,
			Dangling: DanglingCounts{NotOnHub: 1, LookupFailed: 1, NotLookedUp: 1, Top: []DanglingParent{
				{Model: "gone/parent", Children: 2, Reason: LookupFailed},
				{Model: "other/missing", Children: 1, Reason: NotLookedUp},
			}},
			Roots:                2, // meta/base, fam2/root
			ModelsWithoutLineage: 2, // dave/selfie, eve/lone
			LargestFamilies: []FamilyStat{baseFamily, {Model: "fam2/root", Author: "fam2", License: "gemma",
				Descendants: RelationCounts{Finetune: 1, Total: 1}, MaxDepth: 1, Downloads: 60, DownloadsAllTime: CountOf(0), Likes: 6}},
			// 0: the two roots; 1: alice/ft, bob/ft, fam2/kid, and x/orphan,
			// x/orphan2 which only the stubs reach; 2: alice/ft-GGUF,
			// carol/lora, carol/single-merge, bob/merge (a root reaches it:
			// not depth 1 below the stub gone/parent); the cycle
			// unreachable. 2+5+4+2 = 15 models - 2 without lineage.
			Depth: []Bucket{{"0", 2}, {"1", 5}, {"2", 4}, {"unreachable", 2}},
			// 1 child: other/missing, cyc/a, cyc/b, fam2/root; 2: meta/base
			// (bob/ft once though by two edges), alice/ft, bob/ft, gone/parent.
			FanOut: fanOut(4, 4),
			// alice 300+50, bob 200+5, carol 10+7, cyc 2+2, x 4+4: two each,
			// by name; fam2/kid's author taken from its id.
			TopAuthors: []AuthorStat{{"alice", 2, 350}, {"bob", 2, 205}, {"carol", 2, 17}, {"cyc", 2, 4}, {"x", 2, 8}, {"fam2", 1, 60}},
			Growth:     []FamilyGrowth{baseGrowth, {Model: "fam2/root", Months: []MonthCount{{"2024-02", 1}}}},
			// Compared (both licenses stated, no self-loop): base→alice/ft
			// (drift), base→bob/ft twice (Llama2 = llama2), bob/ft→carol/lora
			// (drift), alice/ft→bob/merge, bob/ft→carol/single-merge,
			// fam2/root→fam2/kid.
			LicenseDrift: LicenseDrift{EdgesCompared: 7, Drifted: 2,
				Top: []LicensePair{{"Llama2", "mit", 1}, {"llama2", "apache-2.0", 1}}},
			Quality: Quality{SelfLoops: 1, Cycles: 1, ModelsInCycles: 2, DanglingParents: 2, SingleParentMerges: 1},
		},
	}, {
		name: "whole graph, top 1, reasons unknown",
		opts: StatsOptions{Top: 1},
		want: Stats{
			Models: 15, ModelsWithParent: 11, Edges: 14,
			EdgesByRelation: EdgeCounts{Adapter: 1, Finetune: 7, Merge: 3, Quantized: 2, Other: 1},
			DanglingParents: 2,
			Dangling: DanglingCounts{NotLookedUp: 2, Top: []DanglingParent{
				{Model: "gone/parent", Children: 2, Reason: NotLookedUp},
			}},
			Roots: 2, ModelsWithoutLineage: 2,
			LargestFamilies: []FamilyStat{baseFamily},
			Depth:           []Bucket{{"0", 2}, {"1", 5}, {"2", 4}, {"unreachable", 2}},
			FanOut:          fanOut(4, 4),
			TopAuthors:      []AuthorStat{{"alice", 2, 350}},
			Growth:          []FamilyGrowth{baseGrowth},
			LicenseDrift:    LicenseDrift{EdgesCompared: 7, Drifted: 2, Top: []LicensePair{{"Llama2", "mit", 1}}},
			Quality:         Quality{SelfLoops: 1, Cycles: 1, ModelsInCycles: 2, DanglingParents: 2, SingleParentMerges: 1},
		},
	}, {
		name: "family of meta/base",
		opts: StatsOptions{Root: "meta/base", DanglingReasons: gone},
		want: Stats{
			Root:             "meta/base",
			Models:           7,
			ModelsWithParent: 6, // the chosen root counts as without one
			Edges:            7, // gone/parent→bob/merge is outside
			EdgesByRelation:  EdgeCounts{Adapter: 1, Finetune: 2, Merge: 2, Quantized: 2},
			Dangling:         DanglingCounts{Top: []DanglingParent{}},
			Roots:            1,
			LargestFamilies:  []FamilyStat{baseFamily},
			Depth:            []Bucket{{"0", 1}, {"1", 2}, {"2", 4}},
			FanOut:           fanOut(0, 3),
			TopAuthors:       []AuthorStat{{"alice", 2, 350}, {"bob", 2, 205}, {"carol", 2, 17}},
			Growth:           []FamilyGrowth{baseGrowth},
			LicenseDrift: LicenseDrift{EdgesCompared: 6, Drifted: 2,
				Top: []LicensePair{{"Llama2", "mit", 1}, {"llama2", "apache-2.0", 1}}},
			// bob/merge has a merge parent outside the family: still two.
			Quality: Quality{SingleParentMerges: 1},
		},
	}, {
		name: "family of a dangling parent",
		opts: StatsOptions{Root: "gone/parent"},
		want: Stats{
			Root: "gone/parent", Models: 2, ModelsWithParent: 2, Edges: 2, EdgesByRelation: EdgeCounts{Finetune: 1, Merge: 1},
			DanglingParents: 1,
			Dangling:        DanglingCounts{NotLookedUp: 1, Top: []DanglingParent{{Model: "gone/parent", Children: 2, Reason: NotLookedUp}}},
			// The stub is depth 0 but no model, so no root.
			LargestFamilies: []FamilyStat{{Model: "gone/parent", Descendants: RelationCounts{Finetune: 1, Merge: 1, Total: 2}, MaxDepth: 1, Downloads: 9, MembersWithoutAllTime: 2}},
			Depth:           []Bucket{{"0", 0}, {"1", 2}},
			FanOut:          fanOut(0, 1),
			TopAuthors:      []AuthorStat{{"bob", 1, 5}, {"x", 1, 4}},
			Growth:          []FamilyGrowth{{Model: "gone/parent", Months: []MonthCount{{"2024-04", 1}}, UnknownDates: 1}},
			LicenseDrift:    LicenseDrift{Top: []LicensePair{}},
			// bob/merge's other merge parent, alice/ft, is outside: not a single-parent merge.
			Quality: Quality{DanglingParents: 1},
		},
	}, {
		name: "family of a leaf",
		opts: StatsOptions{Root: "carol/lora"},
		want: Stats{
			Root: "carol/lora", Models: 1, Roots: 1,
			Dangling:        DanglingCounts{Top: []DanglingParent{}},
			LargestFamilies: []FamilyStat{{Model: "carol/lora", Author: "carol", License: "mit"}},
			Depth:           []Bucket{{"0", 1}},
			FanOut:          fanOut(),
			TopAuthors:      []AuthorStat{},
			Growth:          []FamilyGrowth{{Model: "carol/lora", Months: []MonthCount{}}},
			LicenseDrift:    LicenseDrift{Top: []LicensePair{}},
		},
	}, {
		name: "family of the cycle",
		opts: StatsOptions{Root: "cyc/a"},
		want: Stats{
			Root: "cyc/a", Models: 2, ModelsWithParent: 1, Edges: 2, EdgesByRelation: EdgeCounts{Finetune: 2}, Roots: 1,
			Dangling:        DanglingCounts{Top: []DanglingParent{}},
			LargestFamilies: []FamilyStat{{Model: "cyc/a", Author: "cyc", Descendants: RelationCounts{Finetune: 1, Total: 1}, MaxDepth: 1, Downloads: 2, MembersWithoutAllTime: 1}},
			Depth:           []Bucket{{"0", 1}, {"1", 1}},
			FanOut:          fanOut(2),
			TopAuthors:      []AuthorStat{{"cyc", 1, 2}},
			Growth:          []FamilyGrowth{{Model: "cyc/a", Months: []MonthCount{{"2024-03", 1}}}},
			LicenseDrift:    LicenseDrift{Top: []LicensePair{}},
			Quality:         Quality{Cycles: 1, ModelsInCycles: 2},
		},
	}}
	g := statsGraph()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ComputeStats(context.Background(), g, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			// Field by field, so that a failure names the figure (and a
			// figure added to Stats is compared too).
			gv, wv := reflect.ValueOf(got), reflect.ValueOf(tt.want)
			for i := 0; i < gv.NumField(); i++ {
				f := gv.Type().Field(i)
				if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
					gj, _ := json.Marshal(gv.Field(i).Interface())
					wj, _ := json.Marshal(wv.Field(i).Interface())
					t.Errorf("%s:\n got %s\nwant %s", f.Tag.Get("json"), gj, wj)
				}
			}
			// The figures the report states agree with each other.
			sum := 0
			for _, b := range got.Depth {
				sum += b.Count
			}
			if sum != got.Models-got.ModelsWithoutLineage || got.Depth[0].Count != got.Roots {
				t.Errorf("depth buckets add up to %d (want %d - %d), depth 0 holds %d (roots %d)",
					sum, got.Models, got.ModelsWithoutLineage, got.Depth[0].Count, got.Roots)
			}
			d := got.Dangling
			if d.NotOnHub != d.NotListedByScan+d.LookupFailed || d.NotOnHub+d.NotLookedUp != got.DanglingParents {
				t.Errorf("dangling parents %d do not add up: %+v", got.DanglingParents, d)
			}
		})
	}
}

func TestComputeStatsDanglingReasonsError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ComputeStats(context.Background(), statsGraph(), StatsOptions{
		DanglingReasons: func(context.Context, []ModelID) (map[ModelID]DanglingReason, error) { return nil, boom },
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

func TestComputeStatsEmptyGraph(t *testing.T) {
	b := NewGraphBuilder(0)
	s, err := ComputeStats(context.Background(), b.Graph(), StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(s)
	// Empty lists, never null: consumers of --json index them freely.
	want := `{"models":0,"models_with_parent":0,"edges":0,"edges_by_relation":{"adapter":0,"finetune":0,"merge":0,"quantized":0,"other":0},` +
		`"dangling_parents":0,"dangling":{"not_on_hub":0,"not_listed_by_scan":0,"lookup_failed":0,"not_looked_up":0,"top":[]},` +
		`"roots":0,"models_without_lineage":0,"largest_families":[],"depth_distribution":[],` +
		`"fanout_distribution":[{"label":"1","count":0},{"label":"2-4","count":0},{"label":"5-9","count":0},{"label":"10-99","count":0},` +
		`{"label":"100-999","count":0},{"label":"1000-9999","count":0},{"label":"10000+","count":0}],"top_authors":[],"growth_by_month":[],` +
		`"license_drift":{"edges_compared":0,"drifted":0,"top":[]},"metadata_quality":{"self_loops":0,"cycles":0,"models_in_cycles":0,` +
		`"dangling_parents":0,"single_parent_merges":0}}`
	if string(j) != want {
		t.Errorf("got  %s\nwant %s", j, want)
	}
}

// TestStatsSumsSaturate: summed downloads and likes stop at the largest
// int64 instead of wrapping to a negative number (two models claiming 9e18
// made the overview show -446,744,073,709,541,440), and a negative count,
// which the Hub never reports, adds nothing.
func TestStatsSumsSaturate(t *testing.T) {
	const huge = 9_000_000_000_000_000_000
	const maxInt64 = 1<<63 - 1
	for _, tc := range []struct {
		name                  string
		kids                  []Model
		downloads, likes, dl2 int64 // the family's sums; the author's downloads
	}{
		{"two at 9e18", []Model{{ID: "a/x", Downloads: huge, Likes: huge}, {ID: "a/y", Downloads: huge, Likes: huge}}, maxInt64, maxInt64, maxInt64},
		{"at the limit", []Model{{ID: "a/x", Downloads: maxInt64, Likes: 1}, {ID: "a/y", Downloads: maxInt64, Likes: maxInt64}}, maxInt64, maxInt64, maxInt64},
		{"negative", []Model{{ID: "a/x", Downloads: -5, Likes: -3}, {ID: "a/y", Downloads: 10, Likes: 2}}, 10, 2, 10},
		{"most negative", []Model{{ID: "a/x", Downloads: -maxInt64 - 1, Likes: -maxInt64 - 1}, {ID: "a/y", Downloads: huge, Likes: 1}}, huge, 1, huge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewGraphBuilder(3)
			root := Model{ID: "r/root", Author: "r", Downloads: 1}
			b.Node(root.ID, &root)
			for i := range tc.kids {
				tc.kids[i].Author = "a"
				b.Node(tc.kids[i].ID, &tc.kids[i])
				b.Edge(Edge{Parent: root.ID, Child: tc.kids[i].ID, Relation: Finetune})
			}
			s, err := ComputeStats(context.Background(), b.Graph(), StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.LargestFamilies) != 1 || s.LargestFamilies[0].Downloads != tc.downloads || s.LargestFamilies[0].Likes != tc.likes {
				t.Errorf("families %+v, want downloads %d, likes %d", s.LargestFamilies, tc.downloads, tc.likes)
			}
			if len(s.TopAuthors) != 1 || s.TopAuthors[0].Downloads != tc.dl2 {
				t.Errorf("top authors %+v, want downloads %d", s.TopAuthors, tc.dl2)
			}
		})
	}
}
