package crawler_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// The real Llama-2 trees recorded by Laufer, Oderinwale & Kleinberg (see
// shared/hub-recordings/SOURCES.md). They carry no license, so they are read
// from ../shared and never copied into the repository; tests skip without them.
const recordings = "../../shared/hub-recordings/model_metadata_analyses"

// recordingPath returns the path of a recorded file, and whether it can be
// used (see hubtest.Recording).
func recordingPath(file string) (string, bool) { return hubtest.Recording(recordings, file) }

func loadRealTree(t *testing.T, file string) *realTree {
	t.Helper()
	path, ok := recordingPath(file)
	if !ok {
		t.Skipf("real Hub recordings not present or hidden by %s (%s)", hubtest.NoSharedEnv, path)
	}
	tr, err := hubtest.ReadTree(path)
	if err != nil {
		t.Fatal(err)
	}
	return &realTree{tr}
}

type realTree struct{ *hubtest.Tree }

// count is the family's size computed straight from the recorded lists,
// independently of package graph's algorithms.
func (tr *realTree) count() graph.FamilyCount {
	children := map[string][]string{}
	for c, ps := range tr.Edges {
		for p := range ps {
			children[p] = append(children[p], c)
		}
	}
	depth := map[string]int{tr.Root: 0}
	queue := []string{tr.Root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range children[n] {
			if _, ok := depth[c]; !ok {
				depth[c] = depth[n] + 1
				queue = append(queue, c)
			}
		}
	}
	c := graph.FamilyCount{Model: graph.ModelID(tr.Root)}
	inc := func(rc *graph.RelationCounts, rel graph.Relation) {
		switch rel {
		case graph.Adapter:
			rc.Adapter++
		case graph.Finetune:
			rc.Finetune++
		case graph.Merge:
			rc.Merge++
		case graph.Quantized:
			rc.Quantized++
		}
	}
	for d, dist := range depth {
		if d == tr.Root {
			continue
		}
		c.Descendants.Total++
		c.MaxDepth = max(c.MaxDepth, dist)
		seen := map[graph.Relation]bool{}
		for p, rels := range tr.Edges[d] {
			if _, inFamily := depth[p]; !inFamily {
				continue
			}
			for rel := range rels {
				if !seen[rel] {
					seen[rel] = true
					inc(&c.Descendants, rel)
				}
			}
		}
		if rels, ok := tr.Edges[d][tr.Root]; ok {
			c.Children.Total++
			for rel := range rels {
				inc(&c.Children, rel)
			}
		}
	}
	return c
}

func TestWalkRealLlama2Trees(t *testing.T) {
	cases := []struct {
		file  string
		pages []int
	}{
		{"Llama-2-7b_finetunes_20250422_180448.json", []int{1, 7, 1000}},
		{"Llama-2-7b-chat-hf_finetunes_20250422_180448.json", []int{7}}, // at 1000 per page: TestPlannerCost
	}
	for _, tc := range cases {
		tr := loadRealTree(t, tc.file)
		want := tr.count()
		for _, page := range tc.pages {
			t.Run(fmt.Sprintf("%s/page%d", strings.Split(tc.file, "_")[0], page), func(t *testing.T) {
				srv := hubtest.NewUnstartedServer(tr.World())
				srv.MaxPageSize = page
				srv.Start()
				defer srv.Close()
				st := memStore(t)
				stats, err := crawl(t, srv, st, []string{tr.Root}, crawler.Options{Depth: -1})
				if err != nil {
					t.Fatal(err)
				}
				if got := count(t, st, tr.Root); got != want {
					t.Errorf("count = %+v\nindependent count from the file = %+v", got, want)
				}
				members := want.Descendants.Total + 1
				t.Logf("%s page size %d: %d family members, %d requests (%.2f per member), %d pages",
					tr.Root, page, members, stats.Requests, float64(stats.Requests)/float64(members), stats.Pages)
			})
		}
	}
}
