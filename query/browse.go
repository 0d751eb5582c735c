package query

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/base64"
	"fmt"
	"iter"
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
	snap, err := e.snapshot(ctx)
	if err != nil {
		return Children{}, err
	}
	out := Children{Model: id, Children: []Child{}}
	kids, rels := children(snap, id, o.Relation, o.Sort)
	// The page is the top offset+limit in order: a heap orders only those.
	h := &ordered[kid]{items: kids, less: func(a, b kid) bool {
		if a.key != b.key {
			return a.key > b.key
		}
		return snap.CompareID(a.n, b.n) < 0
	}}
	out.Total = len(kids)
	k := 0
	for c := range h.all() {
		if k >= offset+o.Limit {
			break
		}
		if k >= offset {
			out.Children = append(out.Children, childOf(snap.NodeID(c.n), rels[c.rel], snap.Info(c.n)))
		}
		k++
	}
	if end := offset + o.Limit; end < out.Total {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return out, nil
}

// kid is a direct child: its node, the relation listed, and the key it is
// ordered by (no pointers: a popular base has tens of thousands).
type kid struct {
	n, rel int32 // rel: the relation's index in the edge list
	key    int64
}

// children lists id's direct children in the snapshot (with relation
// only, if set), each with its key for sort (downloads, likes or created);
// a child named with several relations takes the first in sorted order,
// as the database's key order gives it.
func children(s *live.Snapshot, id graph.ModelID, relation graph.Relation, sort string) ([]kid, []graph.Relation) {
	i, ok := s.Index(id)
	if !ok {
		return nil, nil
	}
	to, rels := s.OutByID(i) // a child's relations side by side, sorted
	kids := make([]kid, 0, len(to))
	for k, c := range to {
		if relation != "" && rels[k] != relation {
			continue
		}
		if n := len(kids); n > 0 && kids[n-1].n == c {
			continue // listed with its first relation
		}
		var key int64
		switch sort {
		case "likes":
			_, key = s.Popularity(c)
		case "created":
			key = s.Info(c).Created
		default:
			key, _ = s.Popularity(c)
		}
		kids = append(kids, kid{n: c, rel: int32(k), key: key})
	}
	return kids, rels
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
	// More: other models match beyond the limit.
	More bool `json:"more,omitempty"`
}

// searchIndex holds every stored model id, lower-cased, most downloaded
// first, for one data version: in one text, each id after a newline, so
// that a search is a few passes of bytes.Index (vectorized) over it rather
// than a comparison per id.
type searchIndex struct {
	version uint64
	text    []byte  // "\n" + lower-cased ids joined by "\n" + "\n"
	start   []int32 // where id k starts in text; start[len(node)] = len(text)+1
	node    []int32 // id k's node in g
	g       *graph.Graph
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
	// One more than asked: the first limit are the same, and one past
	// them says that more match.
	prefix, rest, err := idx.find(ctx, []byte(q), limit+1)
	if err != nil {
		return out, err
	}
	for _, k := range append(prefix, rest...) {
		if len(out.Results) == limit {
			out.More = true
			break
		}
		out.Results = append(out.Results, idx.hit(k))
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
	v, err := e.view(ctx)
	if err != nil {
		return nil, err
	}
	return v.searchIndex(), nil
}

// buildSearchIndex indexes g's models (stubs left out) as of version; the
// index keeps g (a view's graph) for the ids and downloads it returns.
func buildSearchIndex(g *graph.Graph, version uint64) *searchIndex {
	dl := func(i int32) int64 {
		if g.Nodes == nil {
			return 0
		}
		return g.Nodes[i].Downloads
	}
	idx := &searchIndex{version: version, g: g, node: make([]int32, 0, g.Len())}
	for i := range int32(g.Len()) {
		if g.Nodes == nil || !g.Nodes[i].Stub {
			idx.node = append(idx.node, i)
		}
	}
	slices.SortStableFunc(idx.node, func(a, b int32) int { return cmp.Compare(dl(b), dl(a)) })
	idx.start = make([]int32, len(idx.node)+1)
	size := 1
	for _, i := range idx.node {
		size += len(g.ID(int(i))) + 1
	}
	text := make([]byte, 1, size)
	text[0] = '\n'
	for k, i := range idx.node {
		idx.start[k] = int32(len(text))
		text = appendLower(text, string(g.ID(int(i))))
		text = append(text, '\n')
	}
	idx.start[len(idx.node)] = int32(len(text) + 1)
	idx.text = text
	return idx
}

// hit is result k.
func (x *searchIndex) hit(k int) Hit {
	i := x.node[k]
	h := Hit{ID: x.g.ID(int(i))}
	if x.g.Nodes != nil {
		h.Downloads = x.g.Nodes[i].Downloads
	}
	return h
}

// appendLower appends s lower-cased (as strings.ToLower does), without a
// string of its own for the ASCII ids most are.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
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
	snap, err := e.snapshot(ctx)
	if err != nil {
		return GraphView{}, err
	}
	return graphView(ctx, snap, id, maxNodes)
}

// graphView is Graph over a snapshot, on node numbers: the family
// breadth-first (children in id order, so that each member's path up is
// the one a family loaded from the database has), then the most downloaded
// members taken with their paths (as graph.Family.Prune does) from a heap,
// which orders only as many as it takes.
func graphView(ctx context.Context, s *live.Snapshot, id graph.ModelID, maxNodes int) (GraphView, error) {
	view := GraphView{Root: id, Members: 1, Nodes: []GraphNode{}, Edges: []Edge{}}
	root, ok := s.Index(id)
	if !ok {
		view.Nodes = append(view.Nodes, GraphNode{ID: id})
		return view, ctx.Err()
	}
	// Members in breadth-first order, each with its depth and the index
	// of its parent on a shortest path; a bit per node says who is one
	// (small enough to stay in the processor's cache, where arrays as long
	// as the graph would not).
	sc, _ := scratchPool.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer scratchPool.Put(sc)
	seen := sc.bits((s.NodeCount() + 63) / 64)
	mark := func(n int32) bool {
		w, bit := n/64, uint64(1)<<(n%64)
		was := seen[w]&bit != 0
		seen[w] |= bit
		return was
	}
	mark(root)
	members, depth, via := append(sc.members[:0], root), append(sc.depth[:0], 0), append(sc.via[:0], -1)
	defer func() { sc.members, sc.depth, sc.via = members, depth, via }()
	for h := 0; h < len(members); h++ {
		if h%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return view, err
			}
		}
		kids, _ := s.OutByID(members[h])
		for _, c := range kids {
			if !mark(c) {
				members, depth, via = append(members, c), append(depth, depth[h]+1), append(via, int32(h))
			}
		}
	}
	view.Members = len(members)
	downloads := slices.Grow(sc.downloads[:0], len(members))[:len(members)]
	sc.downloads = downloads
	for k, m := range members {
		downloads[k], _ = s.Popularity(m)
	}
	kept := make([]bool, len(members)) // by member index
	keptNode := make(map[int32]bool, min(maxNodes, len(members)))
	take := func(k int32) { kept[k], keptNode[members[k]] = true, true }
	if maxNodes >= len(members) {
		for k := range members {
			take(int32(k))
		}
	} else {
		view.Truncated = true
		take(0)
		// Members but the root, most downloaded first, then by id.
		h := &ordered[int32]{items: sc.order[:0], less: func(a, b int32) bool {
			if da, db := downloads[a], downloads[b]; da != db {
				return da > db
			}
			return s.CompareID(members[a], members[b]) < 0
		}}
		for k := 1; k < len(members); k++ {
			h.items = append(h.items, int32(k))
		}
		defer func() { sc.order = h.items[:0] }()
		up := func(k int32) (int32, bool) { return via[k], via[k] >= 0 }
		err := graph.TakeWithPaths(ctx, h.all(), up, func(k int32) bool { return kept[k] }, take, 1, maxNodes)
		if err != nil {
			return view, err
		}
	}
	for k, m := range members {
		if !kept[k] {
			continue
		}
		kids, rels := s.OutByID(m)
		hidden := 0
		for j, c := range kids {
			switch {
			case keptNode[c]:
				view.Edges = append(view.Edges, Edge{s.NodeID(m), s.NodeID(c), rels[j]})
			case j == 0 || kids[j-1] != c:
				hidden++ // a child left out (counted once, however many relations)
			}
		}
		view.Nodes = append(view.Nodes, GraphNode{ID: s.NodeID(m), Downloads: downloads[k], Depth: int(depth[k]), HiddenChildren: hidden})
	}
	slices.SortFunc(view.Edges, func(a, b Edge) int {
		if c := cmp.Compare(a.Parent, b.Parent); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Child, b.Child); c != 0 {
			return c
		}
		return cmp.Compare(a.Relation, b.Relation)
	})
	return view, ctx.Err()
}

// scratch is a graph view's working space, kept between requests: the
// arrays of a large family are megabytes, which fresh from the system
// cost more to touch than to fill.
type scratch struct {
	seen                []uint64
	members, depth, via []int32
	order               []int32
	downloads           []int64
}

var scratchPool sync.Pool // of *scratch

// bits returns a cleared bitset of n words.
func (sc *scratch) bits(n int) []uint64 {
	if cap(sc.seen) < n {
		sc.seen = make([]uint64, n, n+n/4)
	}
	sc.seen = sc.seen[:n]
	clear(sc.seen)
	return sc.seen
}

// ordered is a heap of items, the least (by less) on top.
type ordered[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *ordered[T]) Len() int           { return len(h.items) }
func (h *ordered[T]) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *ordered[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *ordered[T]) Push(x any)         { h.items = append(h.items, x.(T)) }
func (h *ordered[T]) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// all orders the items as they are taken: a heap built at once, then one
// pop per item asked for.
func (h *ordered[T]) all() iter.Seq[T] {
	return func(yield func(T) bool) {
		heap.Init(h)
		for h.Len() > 0 {
			if !yield(heap.Pop(h).(T)) {
				return
			}
		}
	}
}

// Run pages: GET /api/v1/runs answers DefaultRunPage runs unless asked for
// more, and never more than MaxRunPage.
const (
	DefaultRunPage = 100
	MaxRunPage     = 1000
)

// RunPage lists up to limit recorded runs numbered below before (0: from
// the latest), newest first; next is the before that asks for the page
// after it, 0 on the last page. A limit outside 1 to MaxRunPage is
// ErrInvalid.
func (e *Engine) RunPage(ctx context.Context, before uint64, limit int) (runs []store.Run, next uint64, err error) {
	if limit < 1 || limit > MaxRunPage {
		return nil, 0, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalid, MaxRunPage)
	}
	runs, more, err := e.st.RunsBefore(ctx, before, limit)
	if err != nil {
		return nil, 0, err
	}
	if runs == nil {
		runs = []store.Run{}
	}
	if more {
		next = runs[len(runs)-1].ID
	}
	return runs, next, nil
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
