package graph

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Graph is a whole lineage graph held compactly in memory (compressed
// sparse rows over int32 node numbers), for questions about every family at
// once. Build one with a GraphBuilder.
type Graph struct {
	ids   []ModelID
	index map[string]int32 // set by the builder; nil for an unmarshalled graph until lazyIndex builds it
	lazy  struct {
		once  sync.Once
		index map[string]int32
	}
	off []int32 // edges out of node i: dst[off[i]:off[i+1]]
	dst []int32
	rel []Relation
	// sorted: ids are in strictly increasing order (a graph decoded from a
	// cache written by CSRWriter), so Index searches them by bisection.
	sorted bool
	// Nodes holds node attributes when the builder was given them.
	Nodes []NodeInfo
}

// NodeInfo is what whole-graph statistics need of a model, kept small: a
// graph of millions of models must fit a small machine.
type NodeInfo struct {
	Author    string
	License   string
	Downloads int64
	Likes     int64
	// DownloadsAllTime is Model.DownloadsAllTime's count, when
	// HasDownloadsAllTime (two fields: the flag packs beside Stub).
	DownloadsAllTime    int64
	Created             int64 // Unix seconds; 0 when unknown
	Stub                bool
	HasDownloadsAllTime bool
}

// CreatedAt returns the creation time (zero when unknown).
func (n NodeInfo) CreatedAt() time.Time {
	if n.Created == 0 {
		return time.Time{}
	}
	return time.Unix(n.Created, 0).UTC()
}

// AllTime returns the all-time downloads as a Model holds them.
func (n NodeInfo) AllTime() OptionalCount {
	return OptionalCount{N: n.DownloadsAllTime, Known: n.HasDownloadsAllTime}
}

// NodeInfoOf returns the attributes of m a NodeInfo keeps.
func NodeInfoOf(m *Model) NodeInfo {
	n := NodeInfo{Author: m.Author, License: m.License, Downloads: m.Downloads, Likes: m.Likes, Stub: m.Stub,
		DownloadsAllTime: m.DownloadsAllTime.N, HasDownloadsAllTime: m.DownloadsAllTime.Known}
	if !m.CreatedAt.IsZero() {
		n.Created = m.CreatedAt.Unix()
	}
	return n
}

// Model returns node i as a Model (the attributes NodeInfo keeps).
func (g *Graph) Model(i int) Model {
	m := Model{ID: g.ids[i]}
	if g.Nodes != nil {
		n := g.Nodes[i]
		m.Author, m.License, m.Downloads, m.Likes, m.CreatedAt, m.Stub = n.Author, n.License, n.Downloads, n.Likes, n.CreatedAt(), n.Stub
		m.DownloadsAllTime = n.AllTime()
	}
	return m
}

// GraphBuilder assembles a Graph from nodes and edges in any order.
type GraphBuilder struct {
	g      *Graph
	src    []int32
	intern map[string]string // authors and licenses repeat: keep one copy
}

// NewGraphBuilder returns a builder; sizeHint is the expected node count.
func NewGraphBuilder(sizeHint int) *GraphBuilder {
	return &GraphBuilder{g: &Graph{index: make(map[string]int32, sizeHint), ids: make([]ModelID, 0, sizeHint)}, intern: map[string]string{}}
}

// Node adds a node (a repeated id is ignored); m may be nil when attributes
// are not needed.
func (b *GraphBuilder) Node(id ModelID, m *Model) {
	if _, dup := b.g.index[string(id)]; dup {
		return
	}
	b.g.index[string(id)] = int32(len(b.g.ids))
	b.g.ids = append(b.g.ids, id)
	if m != nil {
		if b.g.Nodes == nil {
			b.g.Nodes = make([]NodeInfo, len(b.g.ids)-1, cap(b.g.ids))
		}
		n := NodeInfoOf(m)
		n.Author, n.License = b.str(n.Author), b.str(n.License)
		b.g.Nodes = append(b.g.Nodes, n)
	}
}

func (b *GraphBuilder) str(s string) string {
	if s == "" {
		return ""
	}
	if x, ok := b.intern[s]; ok {
		return x
	}
	b.intern[s] = s
	return s
}

// Edge adds an edge. Endpoints not added as nodes are added as stubs.
func (b *GraphBuilder) Edge(e Edge) error {
	b.src = append(b.src, b.node(e.Parent))
	b.g.dst = append(b.g.dst, b.node(e.Child))
	b.g.rel = append(b.g.rel, e.Relation)
	return nil
}

// EdgeBytes adds an edge given as raw bytes (from a key scan) without
// allocating for endpoints already known.
func (b *GraphBuilder) EdgeBytes(parent, child, rel []byte) {
	b.src = append(b.src, b.nodeBytes(parent))
	b.g.dst = append(b.g.dst, b.nodeBytes(child))
	b.g.rel = append(b.g.rel, internRelation(rel))
}

func (b *GraphBuilder) nodeBytes(id []byte) int32 {
	if i, ok := b.g.index[string(id)]; ok { // no allocation for the lookup
		return i
	}
	return b.node(ModelID(id))
}

func internRelation(rel []byte) Relation {
	for _, r := range Relations {
		if string(rel) == string(r) {
			return r
		}
	}
	return Relation(rel)
}

func (b *GraphBuilder) node(id ModelID) int32 {
	if i, ok := b.g.index[string(id)]; ok {
		return i
	}
	var m *Model
	if b.g.Nodes != nil {
		m = &Model{ID: id, Stub: true}
	}
	b.Node(id, m)
	return int32(len(b.g.ids) - 1)
}

// Graph finishes the build: edges are grouped by parent, keeping their order.
func (b *GraphBuilder) Graph() *Graph {
	g := b.g
	n := len(g.ids)
	g.off = make([]int32, n+1)
	for _, p := range b.src {
		g.off[p+1]++
	}
	for i := 0; i < n; i++ {
		g.off[i+1] += g.off[i]
	}
	dst := make([]int32, len(g.dst))
	rel := make([]Relation, len(g.rel))
	pos := append([]int32(nil), g.off[:n]...)
	for k, p := range b.src {
		dst[pos[p]], rel[pos[p]] = g.dst[k], g.rel[k]
		pos[p]++
	}
	g.dst, g.rel, b.src = dst, rel, nil
	return g
}

// OwnIDs copies the ids into one buffer of their own. A graph decoded by
// UnmarshalCSR holds its ids as substrings of the encoded form, which
// keeps all of it (node records, offsets) in memory: a graph kept for
// long calls OwnIDs so that only the ids stay.
func (g *Graph) OwnIDs() {
	size := 0
	for _, id := range g.ids {
		size += len(id)
	}
	var b strings.Builder
	b.Grow(size)
	for _, id := range g.ids {
		b.WriteString(string(id))
	}
	all, start := b.String(), 0
	for i, id := range g.ids {
		g.ids[i] = ModelID(all[start : start+len(id)])
		start += len(id)
	}
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.ids) }

// EdgeCount returns the number of edges.
func (g *Graph) EdgeCount() int { return len(g.dst) }

// ID returns node i's id.
func (g *Graph) ID(i int) ModelID { return g.ids[i] }

// Index returns the node number of id. A graph decoded from its cached
// form has no index map: its ids are bisected when sorted, else searched
// linearly (cheaper than building the map for a single lookup).
func (g *Graph) Index(id ModelID) (int, bool) {
	index := g.index
	if index == nil && g.sorted {
		return slices.BinarySearch(g.ids, id)
	}
	if index == nil {
		for i, x := range g.ids {
			if x == id {
				return i, true
			}
		}
		return 0, false
	}
	i, ok := index[string(id)]
	return int(i), ok
}

// lookup returns the id → node index map, building it once (safe for
// concurrent use: a shared graph serves many requests).
func (g *Graph) lookup() map[string]int32 {
	if g.index != nil {
		return g.index
	}
	g.lazy.once.Do(func() {
		m := make(map[string]int32, len(g.ids))
		for i, x := range g.ids {
			m[string(x)] = int32(i)
		}
		g.lazy.index = m
	})
	return g.lazy.index
}

// OutDegree returns the number of edges out of node i.
func (g *Graph) OutDegree(i int) int { return int(g.off[i+1] - g.off[i]) }

// Sorted reports whether the node numbers follow the ids' order, so that
// Index bisects rather than needs a map.
func (g *Graph) Sorted() bool { return g.sorted }

// ChildEdges makes Graph an EdgeSource.
func (g *Graph) ChildEdges(id ModelID, fn func(Edge) error) error {
	var i int32
	if g.index == nil && g.sorted {
		k, ok := slices.BinarySearch(g.ids, id)
		if !ok {
			return nil
		}
		i = int32(k)
	} else if k, ok := g.lookup()[string(id)]; ok {
		i = k
	} else {
		return nil
	}
	for k := g.off[i]; k < g.off[i+1]; k++ {
		if err := fn(Edge{Parent: id, Child: g.ids[g.dst[k]], Relation: g.rel[k]}); err != nil {
			return err
		}
	}
	return nil
}

// Edges calls fn for every edge in node order.
func (g *Graph) Edges(fn func(Edge)) {
	for i := range g.ids {
		for k := g.off[i]; k < g.off[i+1]; k++ {
			fn(Edge{Parent: g.ids[i], Child: g.ids[g.dst[k]], Relation: g.rel[k]})
		}
	}
}

// Walker counts families of one graph, reusing its scratch space; it is not
// safe for concurrent use. Its scratch is a bit per node (seen) and a byte
// per node (relations seen into it): small enough that a walk over a large
// family stays in the processor's caches, where arrays of words per node
// would not.
type Walker struct {
	a      Adjacency
	seen   []uint64
	rels   []uint8 // relations seen into each node (bit per known relation)
	queue  []int32
	qdepth []int32 // depth of queue[k]
}

// NewWalker returns a Walker over g.
func (g *Graph) NewWalker() *Walker { return NewWalkerOf(g) }

// NewWalkerOf returns a Walker over a, sized for a.NodeCount() nodes.
func NewWalkerOf(a Adjacency) *Walker { return NewWalkerSized(a, a.NodeCount()) }

// NewWalkerSized returns a Walker over a with scratch space for n nodes (at
// least a.NodeCount()), so that it can be Reset to larger graphs.
func NewWalkerSized(a Adjacency, n int) *Walker {
	n = max(n, a.NodeCount())
	return &Walker{a: a, seen: make([]uint64, (n+63)/64), rels: make([]uint8, n)}
}

// Reset points w at a, which must have no more nodes than the graph w was
// made for (Fits), so that its scratch space is reused.
func (w *Walker) Reset(a Adjacency) { w.a = a }

// Fits reports whether w's scratch space is large enough for a.
func (w *Walker) Fits(a Adjacency) bool { return a.NodeCount() <= len(w.rels) }

func relBit(r Relation) uint8 {
	switch r {
	case Adapter:
		return 1
	case Finetune:
		return 2
	case Merge:
		return 4
	case Quantized:
		return 8
	}
	return 0
}

// Count sizes the family of node root exactly as Family.Count does; visit,
// if not nil, is called for every descendant with its depth.
func (w *Walker) Count(root int, visit func(node, depth int)) FamilyCount {
	a := w.a
	r := int32(root)
	c := FamilyCount{Model: a.NodeID(r)}
	seen := Bitset(w.seen)
	seen.Set(r)
	w.rels[r] = 0
	w.queue, w.qdepth = append(w.queue[:0], r), append(w.qdepth[:0], 0)
	for h := 0; h < len(w.queue); h++ {
		n, d := w.queue[h], w.qdepth[h]
		dst, rels := a.Out(n)
		for k, ch := range dst {
			if ch == r {
				continue
			}
			bit := relBit(rels[k])
			if seen.Add(ch) {
				w.rels[ch] = 0
				w.queue, w.qdepth = append(w.queue, ch), append(w.qdepth, d+1)
				c.Descendants.Total++
				c.MaxDepth = max(c.MaxDepth, int(d+1))
				if n == r {
					c.Children.Total++ // distinct: each is marked once
				}
				if visit != nil {
					visit(int(ch), int(d+1))
				}
			}
			if w.rels[ch]&bit == 0 {
				w.rels[ch] |= bit
				c.Descendants.add(rels[k])
			}
			if n == r {
				c.Children.add(rels[k]) // one edge per (child, relation) pair from root
			}
		}
	}
	for _, n := range w.queue { // unmark for the next walk: cheaper than clearing every word
		seen[n>>6] = 0
	}
	return c
}

// Families returns the size of every family with at least min descendants,
// sorted by size (largest first), then id. When ctx ends it stops and
// returns ctx's error.
func (g *Graph) Families(ctx context.Context, min int) ([]FamilyCount, error) {
	w := g.NewWalker()
	var out []FamilyCount
	for i := range g.ids {
		if g.OutDegree(i) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c := w.Count(i, nil); c.Descendants.Total >= min {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Descendants.Total != out[j].Descendants.Total {
			return out[i].Descendants.Total > out[j].Descendants.Total
		}
		return out[i].Model < out[j].Model
	})
	return out, nil
}

// Family loads the family of root from the in-memory graph, as LoadFamily
// does from an EdgeSource (maxDepth < 0: no bound). The walk runs over node
// numbers; on a graph with sorted ids (a decoded cache) the edges come out
// sorted without comparing ids. When ctx ends it stops and returns ctx's
// error.
func (g *Graph) Family(ctx context.Context, root ModelID, maxDepth int) (*Family, error) {
	r, ok := g.Index(root)
	if !ok {
		return &Family{Root: root, Members: []ModelID{root}, Depth: map[ModelID]int{root: 0}, via: map[ModelID]ModelID{}}, ctx.Err()
	}
	return familyOf(ctx, g, int32(r), maxDepth, g.sorted)
}

// outInIDOrder returns node n's edges by child id, then relation, as a
// graph with sorted ids holds them: so that a walk visits children, and
// picks each member's path, alike whatever the numbering. sorted says
// that a's numbers follow its ids.
func outInIDOrder(a Adjacency, n int32, sorted bool) ([]int32, []Relation) {
	if o, ok := a.(interface {
		OutByID(int32) ([]int32, []Relation)
	}); ok {
		return o.OutByID(n)
	}
	dst, rels := a.Out(n)
	if sorted || len(dst) < 2 {
		return dst, rels
	}
	less := func(i, j int) int {
		if c := cmp.Compare(a.NodeID(dst[i]), a.NodeID(dst[j])); c != 0 {
			return c
		}
		return cmp.Compare(rels[i], rels[j])
	}
	inOrder := true
	for k := 1; k < len(dst) && inOrder; k++ {
		inOrder = less(k-1, k) <= 0
	}
	if inOrder {
		return dst, rels
	}
	order := make([]int, len(dst))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, less)
	d, r := make([]int32, len(dst)), make([]Relation, len(dst))
	for k, o := range order {
		d[k], r[k] = dst[o], rels[o]
	}
	return d, r
}

func familyOf(ctx context.Context, a Adjacency, r int32, maxDepth int, sorted bool) (*Family, error) {
	root := a.NodeID(r)
	// depth[i] is node i's depth + 1 (0: not reached); via[i] its parent
	// on one shortest path.
	n := a.NodeCount()
	depth := make([]int32, n)
	via := make([]int32, n)
	depth[r] = 1
	queue := []int32{r}
	for h := 0; h < len(queue); h++ {
		if err := canceled(ctx, h); err != nil {
			return nil, err
		}
		n := queue[h]
		if maxDepth >= 0 && int(depth[n]) > maxDepth {
			continue // its children lie beyond maxDepth
		}
		dst, _ := outInIDOrder(a, n, sorted)
		for _, c := range dst {
			if depth[c] == 0 {
				depth[c], via[c] = depth[n]+1, n
				queue = append(queue, c)
			}
		}
	}
	f := &Family{Root: root, Members: make([]ModelID, len(queue)), Depth: make(map[ModelID]int, len(queue)),
		via: make(map[ModelID]ModelID, len(queue)-1)}
	for i, n := range queue {
		id := a.NodeID(n)
		f.Members[i] = id
		f.Depth[id] = int(depth[n] - 1)
		if i > 0 {
			f.via[id] = a.NodeID(via[n])
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Every edge between two members, parents in node order.
	byNode := slices.Clone(queue)
	slices.Sort(byNode)
	for i, n := range byNode {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		last, lastRel := int32(-1), Relation("")
		dst, rels := a.Out(n)
		pid := a.NodeID(n)
		for k, c := range dst {
			if depth[c] == 0 {
				continue
			}
			if c < last || (c == last && rels[k] < lastRel) {
				sorted = false // children out of order within a parent
			}
			last, lastRel = c, rels[k]
			f.Edges = append(f.Edges, Edge{Parent: pid, Child: a.NodeID(c), Relation: rels[k]})
		}
	}
	if sorted {
		f.sorted = make([]ModelID, len(byNode))
		for i, n := range byNode {
			f.sorted[i] = a.NodeID(n)
		}
	} else {
		sortEdges(f.Edges)
	}
	return f, ctx.Err()
}
