package query

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/live"
	"github.com/hflineage/hflineage/store"
)

// Child is one direct child of a model, as the children table lists it.
type Child struct {
	ID        graph.ModelID  `json:"id"`
	Relation  graph.Relation `json:"relation"`
	Author    string         `json:"author"`
	Downloads int64          `json:"downloads"`
	Likes     int64          `json:"likes"`
	Created   string         `json:"created,omitempty"` // RFC 3339 date, "" when unknown
	License   string         `json:"license,omitempty"`
}

// Children is one page of a model's direct children.
type Children struct {
	Model      graph.ModelID `json:"model"`
	Total      int           `json:"total"` // children matching the relation filter
	Children   []Child       `json:"children"`
	NextCursor string        `json:"next_cursor,omitempty"` // absent on the last page
}

// ChildrenOptions choose and order the children listed.
type ChildrenOptions struct {
	Relation graph.Relation // "" : all
	Sort     string         // "downloads" (default), "likes" or "created": largest or newest first, then by id
	Limit    int            // page size (default 50, at most 1000)
	Cursor   string         // from the previous page's NextCursor
}

// Children lists a model's direct children, one page at a time. A merge
// child named twice (two relations) is listed once, with the first
// relation in sorted order.
func (e *Engine) Children(ctx context.Context, name string, o ChildrenOptions) (Children, error) {
	switch o.Sort {
	case "":
		o.Sort = "downloads"
	case "downloads", "likes", "created":
	default:
		return Children{}, invalidf("sort must be downloads, likes or created, not %q", o.Sort)
	}
	switch {
	case o.Limit == 0:
		o.Limit = 50
	case o.Limit < 0 || o.Limit > 1000:
		return Children{}, invalidf("limit must be between 1 and 1000")
	}
	offset := 0
	if o.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(o.Cursor)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 {
			return Children{}, invalidf("invalid cursor %q", o.Cursor)
		}
		offset = n
	}
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return Children{}, err
	}
	out := Children{Model: id, Children: []Child{}}
	var kids []Child
	if s := e.Snapshot(); s != nil {
		kids = liveChildren(s, id, o.Relation)
	} else if err := e.childrenFromStore(ctx, id, o.Relation, &kids); err != nil {
		return out, err
	}
	slices.SortFunc(kids, func(a, b Child) int {
		var c int
		switch o.Sort {
		case "likes":
			c = cmp.Compare(b.Likes, a.Likes)
		case "created":
			c = cmp.Compare(b.Created, a.Created)
		default:
			c = cmp.Compare(b.Downloads, a.Downloads)
		}
		if c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	out.Total = len(kids)
	if offset < len(kids) {
		end := min(offset+o.Limit, len(kids))
		out.Children = append(out.Children, kids[offset:end]...)
		if end < len(kids) {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		}
	}
	return out, nil
}

// childrenFromStore reads id's direct children from the database.
func (e *Engine) childrenFromStore(ctx context.Context, id graph.ModelID, relation graph.Relation, kids *[]Child) error {
	return e.st.View(ctx, func(r *store.Reader) error {
		rel := map[graph.ModelID]graph.Relation{}
		var ids []graph.ModelID
		err := r.ChildEdges(id, func(ed graph.Edge) error {
			if relation != "" && ed.Relation != relation {
				return nil
			}
			if _, ok := rel[ed.Child]; !ok {
				ids = append(ids, ed.Child)
				rel[ed.Child] = ed.Relation
			}
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		return r.ModelsOf(ids, func(m graph.Model) error {
			*kids = append(*kids, childOf(m.ID, rel[m.ID], graph.NodeInfoOf(&m)))
			return ctx.Err()
		})
	})
}

// liveChildren lists id's direct children in the snapshot; a child named
// with several relations takes the first in sorted order, as the database's
// key order gives it.
func liveChildren(s *live.Snapshot, id graph.ModelID, relation graph.Relation) []Child {
	i, ok := s.Index(id)
	if !ok {
		return nil
	}
	to, rels := s.Out(i)
	first := make(map[int32]graph.Relation, len(to))
	var order []int32
	for k, c := range to {
		if relation != "" && rels[k] != relation {
			continue
		}
		r, seen := first[c]
		if !seen {
			order = append(order, c)
		}
		if !seen || rels[k] < r {
			first[c] = rels[k]
		}
	}
	kids := make([]Child, 0, len(order))
	for _, c := range order {
		kids = append(kids, childOf(s.NodeID(c), first[c], s.Info(c)))
	}
	return kids
}

// childOf is a child as the table lists it.
func childOf(id graph.ModelID, rel graph.Relation, n graph.NodeInfo) Child {
	c := Child{ID: id, Relation: rel, Author: n.Author, Downloads: n.Downloads, Likes: n.Likes, License: n.License}
	if n.Created != 0 {
		c.Created = n.CreatedAt().Format(time.RFC3339)
	}
	return c
}

// Hit is one search result.
type Hit struct {
	ID        graph.ModelID `json:"id"`
	Downloads int64         `json:"downloads"`
}

// Hits are search results, most downloaded first.
type Hits struct {
	Results []Hit `json:"results"`
}

// searchIndex holds every stored model id, lower-cased, most downloaded
// first, for one data version: in one text, each id after a newline, so
// that a search is a few passes of bytes.Index (vectorized) over it rather
// than a comparison per id.
type searchIndex struct {
	version uint64
	text    []byte  // "\n" + lower-cased ids joined by "\n" + "\n"
	start   []int32 // where id k starts in text; start[len(ids)] = len(text)+1
	ids     []graph.ModelID
	dl      []int64
}

// at returns the index of the id whose text holds position pos.
func (x *searchIndex) at(pos int) int {
	k, _ := slices.BinarySearch(x.start, int32(pos)+1)
	return k - 1
}

// lower returns id k lower-cased.
func (x *searchIndex) lower(k int) []byte { return x.text[x.start[k] : x.start[k+1]-1] }

// isPrefix reports whether id k or its name (after the slash) starts with q.
func (x *searchIndex) isPrefix(k int, q []byte) bool {
	s := x.lower(k)
	if bytes.HasPrefix(s, q) {
		return true
	}
	_, name, _ := bytes.Cut(s, []byte("/"))
	return bytes.HasPrefix(name, q)
}

type searchCache struct {
	mu  sync.Mutex
	idx *searchIndex
}

// Search finds stored models whose id contains q (any letter case), those
// whose id or name starts with q first, each group most downloaded first:
// for autocomplete. The index is built once per data version.
func (e *Engine) Search(ctx context.Context, q string, limit int) (Hits, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	switch {
	case limit == 0:
		limit = 10
	case limit < 0 || limit > 100:
		return Hits{}, invalidf("limit must be between 1 and 100")
	}
	out := Hits{Results: []Hit{}}
	if q == "" {
		return out, nil
	}
	idx, err := e.searchIndex(ctx)
	if err != nil {
		return out, err
	}
	if strings.Contains(q, "\n") {
		return out, nil // no id holds one
	}
	prefix, rest, err := idx.find(ctx, []byte(q), limit)
	if err != nil {
		return out, err
	}
	for _, k := range append(prefix, rest...) {
		if len(out.Results) == limit {
			break
		}
		out.Results = append(out.Results, Hit{idx.ids[k], idx.dl[k]})
	}
	return out, nil
}

// find returns, in download order, the first limit ids that start with q
// (or whose name does) and the first limit other ids that contain q.
func (x *searchIndex) find(ctx context.Context, q []byte, limit int) (prefix, rest []int, err error) {
	// Every match in turn, until the page of other matches is full...
	pos := 0
	for n := 0; pos < len(x.text); n++ {
		if n%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		j := bytes.Index(x.text[pos:], q)
		if j < 0 {
			return prefix, rest, nil
		}
		k := x.at(pos + j)
		pos = int(x.start[k+1])
		if x.isPrefix(k, q) {
			if prefix = append(prefix, k); len(prefix) == limit {
				return prefix, rest, nil
			}
		} else if rest = append(rest, k); len(rest) == limit {
			break
		}
	}
	// ...then only the prefix matches: a newline or the slash before q.
	atID, atName := append([]byte("\n"), q...), append([]byte("/"), q...)
	nextID, nextName := -1, -1 // the next match of each at or after pos; -2 when none
	next := func(sep []byte, cur int) int {
		if cur == -2 || cur >= pos {
			return cur
		}
		if j := bytes.Index(x.text[pos:], sep); j >= 0 {
			return pos + j
		}
		return -2
	}
	for pos < len(x.text) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		nextID, nextName = next(atID, nextID), next(atName, nextName)
		j := nextID
		if j == -2 || (nextName != -2 && nextName < j) {
			j = nextName
		}
		if j == -2 {
			break
		}
		k := x.at(j + 1) // j is the newline or slash before q
		pos = int(x.start[k+1])
		if x.isPrefix(k, q) {
			if prefix = append(prefix, k); len(prefix) == limit {
				break
			}
		}
	}
	return prefix, rest, nil
}

func (e *Engine) searchIndex(ctx context.Context) (*searchIndex, error) {
	if e.live != nil {
		v := e.live.view.Load()
		if v.search == nil { // the view of the graph as loaded: no index yet
			e.search.mu.Lock()
			defer e.search.mu.Unlock()
			if e.search.idx == nil || e.search.idx.version != v.version {
				e.search.idx = buildSearchIndex(v.g, v.version)
			}
			return e.search.idx, nil
		}
		return v.search, nil
	}
	v, err := e.st.DataVersion()
	if err != nil {
		return nil, err
	}
	e.search.mu.Lock()
	defer e.search.mu.Unlock()
	if e.search.idx != nil && e.search.idx.version == v {
		return e.search.idx, nil
	}
	g, err := e.st.CachedGraph(ctx)
	if err != nil {
		return nil, err
	}
	idx := buildSearchIndex(g, v)
	e.search.idx = idx
	return idx, nil
}

// buildSearchIndex indexes g's models (stubs left out) as of version.
func buildSearchIndex(g *graph.Graph, version uint64) *searchIndex {
	order := make([]int, 0, g.Len())
	for i := range g.Len() {
		if g.Nodes == nil || !g.Nodes[i].Stub {
			order = append(order, i)
		}
	}
	dl := func(i int) int64 {
		if g.Nodes == nil {
			return 0
		}
		return g.Nodes[i].Downloads
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(dl(b), dl(a)) })
	idx := &searchIndex{version: version, start: make([]int32, len(order)+1), ids: make([]graph.ModelID, len(order)), dl: make([]int64, len(order))}
	text := make([]byte, 1, 1+len(order)*24)
	text[0] = '\n'
	for k, i := range order {
		idx.ids[k] = g.ID(i)
		idx.dl[k] = dl(i)
		idx.start[k] = int32(len(text))
		text = append(text, strings.ToLower(string(g.ID(i)))...)
		text = append(text, '\n')
	}
	idx.start[len(order)] = int32(len(text) + 1)
	idx.text = text
	return idx
}

// GraphNode is one member of a family graph view.
type GraphNode struct {
	ID             graph.ModelID `json:"id"`
	Downloads      int64         `json:"downloads"`
	Depth          int           `json:"depth"`
	HiddenChildren int           `json:"hidden_children"` // children in the family left out of the view
}

// GraphView is a family pruned for drawing.
type GraphView struct {
	Root      graph.ModelID `json:"root"`
	Members   int           `json:"members"`   // the whole family, root included
	Truncated bool          `json:"truncated"` // members were left out
	Nodes     []GraphNode   `json:"nodes"`
	Edges     []Edge        `json:"edges"`
}

// Graph returns the family of the model named for drawing: at most
// maxNodes members (default 300, at most 5000), the most downloaded, each
// with a path to the root; each node says how many of its children were
// left out, so a viewer can expand it on demand.
func (e *Engine) Graph(ctx context.Context, name string, maxNodes int) (GraphView, error) {
	switch {
	case maxNodes == 0:
		maxNodes = 300
	case maxNodes < 1 || maxNodes > 5000:
		return GraphView{}, invalidf("max-nodes must be between 1 and 5000")
	}
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return GraphView{}, err
	}
	snap := e.Snapshot()
	full, err := e.family(ctx, id, -1)
	if err != nil {
		return GraphView{}, err
	}
	view := GraphView{Root: id, Members: len(full.Members), Nodes: []GraphNode{}, Edges: []Edge{}}
	downloads := make(map[graph.ModelID]int64, len(full.Members))
	if snap != nil {
		for _, m := range full.Members {
			if i, ok := snap.Index(m); ok {
				downloads[m] = snap.Info(i).Downloads
			}
		}
	} else {
		err = e.st.View(ctx, func(r *store.Reader) error {
			return r.ModelsOf(full.Members, func(m graph.Model) error { downloads[m.ID] = m.Downloads; return ctx.Err() })
		})
		if err != nil {
			return view, err
		}
	}
	f := full
	if maxNodes < len(full.Members) {
		if f, err = full.Prune(ctx, maxNodes, func(id graph.ModelID) int64 { return downloads[id] }); err != nil {
			return view, err
		}
		view.Truncated = true
	}
	kept := make(map[graph.ModelID]bool, len(f.Members))
	for _, m := range f.Members {
		kept[m] = true
	}
	hidden := map[graph.ModelID]map[graph.ModelID]bool{}
	for _, ed := range full.Edges {
		if kept[ed.Parent] && !kept[ed.Child] {
			if hidden[ed.Parent] == nil {
				hidden[ed.Parent] = map[graph.ModelID]bool{}
			}
			hidden[ed.Parent][ed.Child] = true
		}
	}
	for _, m := range f.Members {
		view.Nodes = append(view.Nodes, GraphNode{ID: m, Downloads: downloads[m], Depth: f.Depth[m], HiddenChildren: len(hidden[m])})
	}
	view.Edges = edgesOf(f.Edges)
	return view, ctx.Err()
}

// Runs lists the recorded runs, newest first.
func (e *Engine) Runs(ctx context.Context) ([]store.Run, error) {
	runs, err := e.st.Runs(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(runs)
	if runs == nil {
		runs = []store.Run{}
	}
	return runs, ctx.Err()
}
