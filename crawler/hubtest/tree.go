package hubtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// Tree is a model family as recorded by the model_metadata_analyses
// project (Laufer, Oderinwale & Kleinberg): per node its Hub metadata and
// the lists of its finetunes, adapters, quantizations and merges.
type Tree struct {
	Root string
	// Edges maps child → parent → relations, from the recorded child lists.
	Edges map[string]map[string]map[graph.Relation]bool
	// Meta holds the recorded metadata of the nodes that have it.
	Meta map[string]TreeMeta
	// Invalid counts listed children whose ids are not valid model ids.
	Invalid int
}

// TreeMeta is the part of a node's recorded metadata that the fake Hub serves.
type TreeMeta struct {
	Downloads   int64    `json:"downloads"`
	Likes       int64    `json:"likes"`
	LibraryName string   `json:"library_name"`
	PipelineTag string   `json:"pipeline_tag"`
	Tags        []string `json:"tags"`
	CreatedAt   string   `json:"created_at"`
	// LastModified and Gated ("manual", "auto" or false) as recorded;
	// SHA the recorded head commit.
	LastModified string `json:"last_modified"`
	Gated        any    `json:"gated"`
	SHA          string `json:"sha"`
}

// ReadTree reads a recorded tree file ({"models":[…]}, the JSON form).
func ReadTree(path string) (*Tree, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Models) == 0 {
		return nil, fmt.Errorf("%s: no models", path)
	}
	tr := &Tree{Root: doc.Models[0].ModelID, Edges: map[string]map[string]map[graph.Relation]bool{}, Meta: map[string]TreeMeta{}}
	for _, n := range doc.Models {
		var m TreeMeta
		if json.Unmarshal([]byte(n.Metadata), &m) == nil {
			tr.Meta[n.ModelID] = m
		}
		for rel, urls := range map[graph.Relation][]string{
			graph.Finetune: n.Children, graph.Adapter: n.Adapters, graph.Quantized: n.Quantized, graph.Merge: n.Merges,
		} {
			for _, u := range urls {
				child := strings.TrimPrefix(u, "https://huggingface.co/")
				if _, err := graph.ParseModelID(child); err != nil {
					tr.Invalid++
					continue
				}
				if tr.Edges[child] == nil {
					tr.Edges[child] = map[string]map[graph.Relation]bool{}
				}
				if tr.Edges[child][n.ModelID] == nil {
					tr.Edges[child][n.ModelID] = map[graph.Relation]bool{}
				}
				tr.Edges[child][n.ModelID][rel] = true
			}
		}
	}
	return tr, nil
}

// recordedTime is how the recorded metadata writes dates.
const recordedTime = "2006-01-02 15:04:05-07:00"

// World builds a fake Hub holding the tree: each model's lineage tags come
// from the recorded child lists, its other fields and tags from its recorded
// metadata (parents named there but outside the tree are kept, as co-parents).
func (tr *Tree) World() *World {
	w := NewWorld()
	ids := map[string]bool{tr.Root: true}
	for c, ps := range tr.Edges {
		ids[c] = true
		for p := range ps {
			ids[p] = true
		}
	}
	for id := range ids {
		// Without recorded metadata the creation date is unknown: the
		// Hub's placeholder says so.
		m := Model{ID: id, CreatedAt: PlaceholderCreatedAt}
		if meta, ok := tr.Meta[id]; ok {
			m.Downloads, m.Likes, m.LibraryName, m.PipelineTag = meta.Downloads, meta.Likes, meta.LibraryName, meta.PipelineTag
			if t, err := time.Parse(recordedTime, meta.CreatedAt); err == nil {
				m.CreatedAt = t
			}
			if t, err := time.Parse(recordedTime, meta.LastModified); err == nil {
				m.LastModified = t
			}
			switch g := meta.Gated.(type) {
			case string:
				m.Gated = g
			case bool:
				m.Gated = g
			}
			m.SHA = meta.SHA
			for _, tag := range meta.Tags {
				if _, p, isParent := graph.ParseBaseModelTag(tag); isParent && ids[string(p)] {
					continue // lineage inside the tree comes from the child lists
				}
				m.Tags = append(m.Tags, tag)
			}
		}
		for p, rels := range tr.Edges[id] {
			for rel := range rels {
				m.Tags = append(m.Tags, ParentTags(Parent{ID: p, Relation: string(rel)})...)
			}
		}
		w.Add(m)
	}
	return w
}

// NoSharedEnv names the environment variable that, set to anything but 0,
// hides the recorded trees from tests, as in a clone without ../shared
// (.ci/run runs the suite once more that way).
const NoSharedEnv = "HFLINEAGE_NO_SHARED"

// Recording returns the path of a recorded tree file in dir, and whether a
// test can use it: false when the recordings are absent (a user's clone has
// no ../shared) or hidden by NoSharedEnv.
func Recording(dir, file string) (string, bool) {
	path := filepath.Join(dir, file)
	if v := os.Getenv(NoSharedEnv); v != "" && v != "0" {
		return path, false
	}
	_, err := os.Stat(path)
	return path, err == nil
}
