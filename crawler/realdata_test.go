package crawler_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// The real Llama-2 trees recorded by Laufer, Oderinwale & Kleinberg (see
// shared/hub-recordings/SOURCES.md). They carry no license, so they are read
// from ../shared and never copied into the repository; tests skip without them.
const recordings = "../../shared/hub-recordings/model_metadata_analyses"

// realTree is one recorded family: each node's metadata and its child lists.
type realTree struct {
	root    string
	edges   map[string]map[string]map[graph.Relation]bool // child → parent → relations
	meta    map[string]realMeta
	invalid int
}

type realMeta struct {
	Downloads   int64    `json:"downloads"`
	Likes       int64    `json:"likes"`
	LibraryName string   `json:"library_name"`
	PipelineTag string   `json:"pipeline_tag"`
	Tags        []string `json:"tags"`
	CreatedAt   string   `json:"created_at"`
}

func loadRealTree(t *testing.T, file string) *realTree {
	t.Helper()
	path := filepath.Join(recordings, file)
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("real Hub recordings not present (%s)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Models []struct {
			ModelID   string   `json:"model_id"`
			Metadata  string   `json:"metadata"`
			Children  []string `json:"children"`
			Adapters  []string `json:"adapters"`
			Quantized []string `json:"quantized"`
			Merges    []string `json:"merges"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := &realTree{root: doc.Models[0].ModelID, edges: map[string]map[string]map[graph.Relation]bool{}, meta: map[string]realMeta{}}
	for _, n := range doc.Models {
		var m realMeta
		if json.Unmarshal([]byte(n.Metadata), &m) == nil {
			tr.meta[n.ModelID] = m
		}
		for rel, urls := range map[graph.Relation][]string{
			graph.Finetune: n.Children, graph.Adapter: n.Adapters, graph.Quantized: n.Quantized, graph.Merge: n.Merges,
		} {
			for _, u := range urls {
				child := strings.TrimPrefix(u, "https://huggingface.co/")
				if _, err := graph.ParseModelID(child); err != nil {
					tr.invalid++
					continue
				}
				if tr.edges[child] == nil {
					tr.edges[child] = map[string]map[graph.Relation]bool{}
				}
				if tr.edges[child][n.ModelID] == nil {
					tr.edges[child][n.ModelID] = map[graph.Relation]bool{}
				}
				tr.edges[child][n.ModelID][rel] = true
			}
		}
	}
	return tr
}

// world builds a fake Hub holding the tree: each model's lineage tags come
// from the recorded child lists, its other fields and tags from its recorded
// metadata (parents named there but outside the tree are kept, as co-parents).
func (tr *realTree) world() *hubtest.World {
	w := hubtest.NewWorld()
	ids := map[string]bool{tr.root: true}
	for c, ps := range tr.edges {
		ids[c] = true
		for p := range ps {
			ids[p] = true
		}
	}
	for id := range ids {
		m := hubtest.Model{ID: id}
		meta, ok := tr.meta[id]
		if ok {
			m.Downloads, m.Likes, m.LibraryName, m.PipelineTag = meta.Downloads, meta.Likes, meta.LibraryName, meta.PipelineTag
			if t, err := time.Parse("2006-01-02 15:04:05-07:00", meta.CreatedAt); err == nil {
				m.CreatedAt = t
			}
			for _, tag := range meta.Tags {
				if _, p, isParent := graph.ParseBaseModelTag(tag); isParent && ids[string(p)] {
					continue // lineage inside the tree comes from the child lists
				}
				m.Tags = append(m.Tags, tag)
			}
		}
		for p, rels := range tr.edges[id] {
			for rel := range rels {
				m.Tags = append(m.Tags, hubtest.ParentTags(hubtest.Parent{ID: p, Relation: string(rel)})...)
			}
		}
		w.Add(m)
	}
	return w
}

// count is the family's size computed straight from the recorded lists,
// independently of package graph's algorithms.
func (tr *realTree) count() graph.FamilyCount {
	children := map[string][]string{}
	for c, ps := range tr.edges {
		for p := range ps {
			children[p] = append(children[p], c)
		}
	}
	depth := map[string]int{tr.root: 0}
	queue := []string{tr.root}
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
	c := graph.FamilyCount{Model: graph.ModelID(tr.root)}
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
		if d == tr.root {
			continue
		}
		c.Descendants.Total++
		c.MaxDepth = max(c.MaxDepth, dist)
		seen := map[graph.Relation]bool{}
		for p, rels := range tr.edges[d] {
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
		if rels, ok := tr.edges[d][tr.root]; ok {
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
		{"Llama-2-7b-chat-hf_finetunes_20250422_180448.json", []int{7, 1000}},
	}
	for _, tc := range cases {
		tr := loadRealTree(t, tc.file)
		want := tr.count()
		for _, page := range tc.pages {
			t.Run(fmt.Sprintf("%s/page%d", strings.Split(tc.file, "_")[0], page), func(t *testing.T) {
				srv := hubtest.NewUnstartedServer(tr.world())
				srv.MaxPageSize = page
				srv.Start()
				defer srv.Close()
				st := memStore(t)
				stats, err := crawl(t, srv, st, []string{tr.root}, crawler.Options{Depth: -1})
				if err != nil {
					t.Fatal(err)
				}
				if got := count(t, st, tr.root); got != want {
					t.Errorf("count = %+v\nindependent count from the file = %+v", got, want)
				}
				members := want.Descendants.Total + 1
				t.Logf("%s page size %d: %d family members, %d requests (%.2f per member), %d pages",
					tr.root, page, members, stats.Requests, float64(stats.Requests)/float64(members), stats.Pages)
			})
		}
	}
}
