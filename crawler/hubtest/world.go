// Package hubtest provides a fake Hugging Face Hub for tests, in the spirit
// of net/http/httptest: a World of models, and a Server that answers the
// model endpoints as the real Hub does (see shared/hub-api.md and the
// recorded answers): /api/models with tag filters, search, author, sort,
// skip, expand[], full, cardData and config, Link pagination with any page
// size; /api/models/{id} and /api/models/{id}/revision/{rev} (what the
// Hub's JavaScript client calls) with the recorded default body, baseModels
// and childrenModelCount; 307 renames, case-insensitive lookups, 401 for
// missing and private repos; RateLimit headers and quotas, and injected
// faults. The conformance directory runs the Hub's own JavaScript client
// against it (cmd/hubsim's TestConformance).
package hubtest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Model is a model in the fake Hub.
type Model struct {
	ID           string
	Author       string
	Downloads    int64
	Likes        int64
	CreatedAt    time.Time
	LastModified time.Time
	LibraryName  string
	PipelineTag  string
	Gated        any // false, "auto" or "manual"
	Private      bool
	Tags         []string

	// SHA is the head commit; "" serves a stable one made from the id.
	SHA string
	// DownloadsAllTime is served as downloadsAllTime (and sorts by it);
	// 0 serves Downloads; a negative value is not served at all (an
	// answer without downloadsAllTime, and 0 to sort by).
	DownloadsAllTime int64
	// TrendingScore is served as trendingScore (and sorts by it).
	TrendingScore int64
	// Extra holds further fields of the model's info, served as they are
	// and overriding the ones the fake Hub makes up from the fields above
	// (cardData, config, siblings, spaces, safetensors, transformersInfo,
	// model-index, inferenceProviderMapping, widgetData, usedStorage, …).
	Extra map[string]any
}

// Parent declares one parent of a model; Relation "" writes only the legacy
// plain tag "base_model:{ID}".
type Parent struct {
	ID       string
	Relation string
}

// ParentTags returns the tags the Hub derives from a card declaring parents.
func ParentTags(parents ...Parent) []string {
	var tags []string
	for _, p := range parents {
		tags = append(tags, "base_model:"+p.ID)
		if p.Relation != "" {
			tags = append(tags, "base_model:"+p.Relation+":"+p.ID)
		}
	}
	return tags
}

// World is the fake Hub's content. Its methods are safe for concurrent use.
type World struct {
	mu      sync.RWMutex
	seq     int
	models  map[string]*entry // canonical id → model
	lower   map[string]string // lower(id) → canonical id
	renames map[string]string // lower(old id) → canonical id
	byTag   map[string][]*entry
	sorted  bool                // byTag lists sorted and cache valid
	cache   map[string][]*entry // unfiltered listings by sort order
}

type entry struct {
	Model
	seq int
}

// NewWorld returns an empty world.
func NewWorld() *World {
	return &World{models: map[string]*entry{}, lower: map[string]string{}, renames: map[string]string{}, byTag: map[string][]*entry{}}
}

// Add adds or replaces a model. Author defaults to the id's organisation,
// CreatedAt to a fixed date.
func (w *World) Add(m Model) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m.Author == "" {
		if i := strings.IndexByte(m.ID, '/'); i >= 0 {
			m.Author = m.ID[:i]
		}
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w.seq) * time.Minute)
	}
	if m.LastModified.IsZero() {
		m.LastModified = m.CreatedAt
	}
	if m.Gated == nil {
		m.Gated = false
	}
	if old, ok := w.models[m.ID]; ok {
		w.removeLocked(old)
	}
	w.seq++
	e := &entry{Model: m, seq: w.seq}
	w.models[m.ID] = e
	w.lower[strings.ToLower(m.ID)] = m.ID
	for _, t := range uniq(m.Tags) {
		w.byTag[t] = append(w.byTag[t], e)
	}
	w.sorted = false
}

// Remove deletes a model.
func (w *World) Remove(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.models[id]; ok {
		w.removeLocked(e)
	}
}

func (w *World) removeLocked(e *entry) {
	w.sorted = false
	delete(w.models, e.ID)
	delete(w.lower, strings.ToLower(e.ID))
	for _, t := range uniq(e.Tags) {
		l := w.byTag[t]
		for i, x := range l {
			if x == e {
				w.byTag[t] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
	}
}

func uniq(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Update changes the model id in place with fn, keeping its place in
// listings (Add would move it to the end). fn must not change the id. It
// reports whether the model exists.
func (w *World) Update(id string, fn func(*Model)) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.models[id]
	if !ok {
		return false
	}
	w.removeLocked(e)
	m := e.Model
	fn(&m)
	m.ID = id
	if m.Gated == nil {
		m.Gated = false
	}
	ne := &entry{Model: m, seq: e.seq}
	w.models[id] = ne
	w.lower[strings.ToLower(id)] = id
	for _, t := range uniq(m.Tags) {
		w.byTag[t] = append(w.byTag[t], ne)
	}
	return true
}

// Rename makes old answer with a 307 to the model now called id.
func (w *World) Rename(old, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.renames[strings.ToLower(old)] = id
}

// Len returns the number of models.
func (w *World) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.models)
}

// Get returns a model by exact id.
func (w *World) Get(id string) (Model, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	e, ok := w.models[id]
	if !ok {
		return Model{}, false
	}
	return e.Model, true
}

// IDs returns every model id, sorted.
func (w *World) IDs() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	ids := make([]string, 0, len(w.models))
	for id := range w.models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// lookup finds a model as /api/models/{id} does: exactly, by letter case, or
// through a rename (renamed reports the new id).
func (w *World) lookup(id string) (m Model, renamed string, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if e, ok := w.models[id]; ok {
		return e.Model, "", true
	}
	if c, ok := w.lower[strings.ToLower(id)]; ok {
		return w.models[c].Model, "", true
	}
	if c, ok := w.renames[strings.ToLower(id)]; ok {
		return Model{}, c, false
	}
	return Model{}, "", false
}

// list returns the public models carrying every tag in filters (all models
// when filters is empty), oldest first, or by sortBy (one of SortKeys)
// largest (newest) first, ties by id. The result must not be modified.
func (w *World) list(filters []string, sortBy string) []*entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.sorted {
		for _, l := range w.byTag {
			sort.Slice(l, func(i, j int) bool { return l[i].seq < l[j].seq })
		}
		w.sorted = true
		w.cache = map[string][]*entry{}
	}
	if len(filters) == 0 {
		if c, ok := w.cache[sortBy]; ok {
			return c
		}
	}
	var cands []*entry
	if len(filters) == 0 {
		cands = make([]*entry, 0, len(w.models))
		for _, e := range w.models {
			cands = append(cands, e)
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].seq < cands[j].seq })
	} else {
		// Start from the rarest tag.
		best := filters[0]
		for _, f := range filters[1:] {
			if len(w.byTag[f]) < len(w.byTag[best]) {
				best = f
			}
		}
		cands = w.byTag[best]
	}
	out := make([]*entry, 0, len(cands))
	for _, e := range cands {
		if e.Private || !hasAll(e.Tags, filters) {
			continue
		}
		out = append(out, e)
	}
	if sortBy != "" {
		sort.SliceStable(out, func(i, j int) bool {
			ki, kj := sortKey(&out[i].Model, sortBy), sortKey(&out[j].Model, sortBy)
			if ki != kj {
				return ki > kj
			}
			return out[i].ID < out[j].ID
		})
	}
	if len(filters) == 0 {
		w.cache[sortBy] = out
	}
	return out
}

// SortKeys are the values of sort= the fake Hub accepts on /api/models: the
// ones hub-api.md lists and the ones @huggingface/hub's listModels may send.
// Every order is descending (the Hub deprecated direction=), but id, which
// is ascending; ties go by id.
var SortKeys = []string{"createdAt", "downloads", "downloadsAllTime", "lastModified", "likes", "likes30d",
	"trendingScore", "num_parameters", "mainSize", "id"}

// sortKey is the number a model sorts by under sortBy. likes30d sorts by
// likes (the fake Hub keeps no history of likes); id sorts by id alone
// (the key is 0 for all, and ties go by id).
func sortKey(m *Model, sortBy string) int64 {
	switch sortBy {
	case "createdAt":
		return m.CreatedAt.UnixNano()
	case "lastModified":
		return m.LastModified.UnixNano()
	case "downloads":
		return m.Downloads
	case "downloadsAllTime":
		n, _ := allTimeDownloads(m)
		return n
	case "likes", "likes30d":
		return m.Likes
	case "trendingScore":
		return m.TrendingScore
	case "num_parameters":
		return parameters(m)
	case "mainSize":
		return parameters(m) * 2
	}
	return 0
}

// allTimeDownloads is the downloadsAllTime served for m, and whether it is
// served at all.
func allTimeDownloads(m *Model) (int64, bool) {
	switch {
	case m.DownloadsAllTime < 0:
		return 0, false
	case m.DownloadsAllTime > 0:
		return m.DownloadsAllTime, true
	}
	return m.Downloads, true
}

// DownloadsAllTimeOf is the downloadsAllTime the fake Hub serves for m, and
// whether it serves one.
func DownloadsAllTimeOf(m Model) (int64, bool) { return allTimeDownloads(&m) }

func hasAll(tags, want []string) bool {
	for _, w := range want {
		found := false
		for _, t := range tags {
			if t == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// String describes the world's size.
func (w *World) String() string {
	return fmt.Sprintf("fake Hub world of %d models", w.Len())
}
