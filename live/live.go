// Package live keeps a lineage graph in memory, current with the database
// page by page, for readers that must not wait for a crawl.
//
// One writer (the store's commit hook) applies each commit's graph.Delta and
// publishes a new immutable Snapshot; readers load the current Snapshot
// once per question and never take the writer's lock. A Snapshot is a
// compact base (a graph.Graph, as graph.bin holds it) and an overlay of node
// versions: each changed node gets a new version tagged with the data
// version of its commit, and a Snapshot of version v sees the newest version
// ≤ v of every node — so a page is visible whole or not at all, as in an
// MVCC store (etcd's revisions). Structures shared between snapshots are
// never changed: an edge list grows by appending beyond the lengths older
// versions hold, and is copied when an edge goes. Now and then (Compact) the
// overlay is folded into a new base, in the background, and the deltas
// committed meanwhile are applied again on top.
package live

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hflineage/hflineage/graph"
)

// Node versions are found by node number through a two-level table:
// dirSize chunks of chunkSize slots, enough for 2^32 nodes.
const (
	chunkBits = 15
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
	dirSize   = 1 << (32 - chunkBits)
)

// node is one version of a node: its attributes and both edge lists as
// they were from data version ver on. Once published, nothing in it, nor
// in its edges within their lengths, is written again.
type node struct {
	ver   uint64
	older *node
	gone  bool // removed (no edges, no attributes)
	info  graph.NodeInfo
	// e holds its edges when they changed: nil means the base's (none for
	// a node the base lacks). Versions share it until one changes them.
	e *edges
}

// edges are a node's edge lists, both ways.
type edges struct {
	kids       []int32
	kidRels    []graph.Relation
	parents    []int32
	parentRels []graph.Relation
}

type chunk [chunkSize]atomic.Pointer[node]

// state is a base with the overlay of the versions applied to it.
type state struct {
	base *graph.Graph
	// Parents of base node i: rsrc[roff[i]:roff[i+1]] by rrel.
	roff, rsrc []int32
	rrel       []graph.Relation
	newIDs     sync.Map        // graph.ModelID → int32: nodes not in base, numbered from base.Len()
	extra      []graph.ModelID // their ids; the writer appends, snapshots hold a prefix
	dir        []atomic.Pointer[chunk]
	// The base nodes' downloads and likes, dense (see Popularity), and
	// their all-time downloads (-1: unknown; see CountPopularity).
	downloads, likes, allTime []int64
	versions                  int    // node versions made since the state began
	since                     uint64 // the base's data version: versions are newer
}

func newState(base *graph.Graph, version uint64) *state {
	st := &state{base: base, dir: make([]atomic.Pointer[chunk], dirSize), since: version}
	n := base.Len()
	if base.Nodes != nil {
		st.downloads, st.likes, st.allTime = make([]int64, n), make([]int64, n), make([]int64, n)
		for i, x := range base.Nodes {
			st.downloads[i], st.likes[i], st.allTime[i] = x.Downloads, x.Likes, -1
			if x.HasDownloadsAllTime {
				st.allTime[i] = x.DownloadsAllTime
			}
		}
	}
	st.roff = make([]int32, n+1)
	for i := range n {
		kids, _ := base.Out(int32(i))
		for _, c := range kids {
			st.roff[c+1]++
		}
	}
	for i := range n {
		st.roff[i+1] += st.roff[i]
	}
	st.rsrc = make([]int32, st.roff[n])
	st.rrel = make([]graph.Relation, st.roff[n])
	pos := slices.Clone(st.roff[:n])
	for i := range n {
		kids, rels := base.Out(int32(i))
		for k, c := range kids {
			st.rsrc[pos[c]], st.rrel[pos[c]] = int32(i), rels[k]
			pos[c]++
		}
	}
	return st
}

// head returns the newest version of node i (nil: never changed).
func (st *state) head(i int32) *node {
	c := st.dir[i>>chunkBits].Load()
	if c == nil {
		return nil
	}
	return c[i&chunkMask].Load()
}

func (st *state) push(i int32, n *node) {
	slot := &st.dir[i>>chunkBits]
	c := slot.Load()
	if c == nil {
		c = new(chunk)
		slot.Store(c)
	}
	c[i&chunkMask].Store(n)
	st.versions++
}

// Snapshot is the graph at one data version. It is immutable and safe for
// concurrent use; it implements graph.Adjacency, graph.EdgeSource and
// graph.ParentSource.
type Snapshot struct {
	version uint64
	st      *state
	n       int32
	extra   []graph.ModelID
	models  int // stored models, stubs excepted
	stubs   int
	edges   int
	walkers *sync.Pool // of *graph.Walker, shared by the snapshots of a Graph
}

// Version is the data version the snapshot shows.
func (s *Snapshot) Version() uint64 { return s.version }

// Models, Stubs and Edges count what the snapshot holds: models listed or
// fetched, parents known only by name, and edges.
func (s *Snapshot) Models() int { return s.models }
func (s *Snapshot) Stubs() int  { return s.stubs }
func (s *Snapshot) Edges() int  { return s.edges }

// at returns the version of node i the snapshot sees (nil: the base's).
func (s *Snapshot) at(i int32) *node {
	for v := s.st.head(i); v != nil; v = v.older {
		if v.ver <= s.version {
			return v
		}
	}
	return nil
}

// NodeCount bounds the node numbers (graph.Adjacency).
func (s *Snapshot) NodeCount() int { return int(s.n) }

// NodeID returns node i's id (graph.Adjacency).
func (s *Snapshot) NodeID(i int32) graph.ModelID {
	if b := s.st.base.Len(); int(i) >= b {
		return s.extra[int(i)-b]
	}
	return s.st.base.ID(int(i))
}

// Out returns the edges out of node i (graph.Adjacency).
func (s *Snapshot) Out(i int32) ([]int32, []graph.Relation) {
	if v := s.at(i); v != nil && v.e != nil {
		return v.e.kids, v.e.kidRels
	}
	if int(i) < s.st.base.Len() {
		return s.st.base.Out(i)
	}
	return nil, nil
}

// CompareID compares the ids of nodes a and b (as cmp.Compare does): by
// number alone when both are the base's, whose numbers follow their ids.
func (s *Snapshot) CompareID(a, b int32) int {
	if nb := int32(s.st.base.Len()); a < nb && b < nb {
		return cmp.Compare(a, b)
	}
	return cmp.Compare(s.NodeID(a), s.NodeID(b))
}

// OutByID returns the edges out of node i by child id, then relation, as
// a graph with sorted ids holds them (graph.FamilyOf walks them so).
func (s *Snapshot) OutByID(i int32) ([]int32, []graph.Relation) {
	v := s.at(i)
	if v == nil || v.e == nil {
		return s.Out(i) // the base's, in id order
	}
	e := v.e
	order := make([]int, len(e.kids))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := s.CompareID(e.kids[a], e.kids[b]); c != 0 {
			return c
		}
		return cmp.Compare(e.kidRels[a], e.kidRels[b])
	})
	kids, rels := make([]int32, len(order)), make([]graph.Relation, len(order))
	for k, o := range order {
		kids[k], rels[k] = e.kids[o], e.kidRels[o]
	}
	return kids, rels
}

// In returns the edges into node i.
func (s *Snapshot) In(i int32) ([]int32, []graph.Relation) {
	if v := s.at(i); v != nil && v.e != nil {
		return v.e.parents, v.e.parentRels
	}
	if int(i) < s.st.base.Len() {
		lo, hi := s.st.roff[i], s.st.roff[i+1]
		return s.st.rsrc[lo:hi:hi], s.st.rrel[lo:hi:hi]
	}
	return nil, nil
}

// Info returns node i's attributes.
func (s *Snapshot) Info(i int32) graph.NodeInfo {
	if v := s.at(i); v != nil {
		return v.info
	}
	if int(i) < s.st.base.Len() && s.st.base.Nodes != nil {
		return s.st.base.Nodes[i]
	}
	return graph.NodeInfo{Stub: true}
}

// Popularity returns node i's downloads and likes: Info's, read from
// arrays of their own for a base node (a walk over a large family reads
// them for every member).
func (s *Snapshot) Popularity(i int32) (downloads, likes int64) {
	if v := s.at(i); v != nil {
		return v.info.Downloads, v.info.Likes
	}
	if int(i) < len(s.st.downloads) {
		return s.st.downloads[i], s.st.likes[i]
	}
	n := s.Info(i)
	return n.Downloads, n.Likes
}

// Index returns the node number of id, if the snapshot holds it.
func (s *Snapshot) Index(id graph.ModelID) (int32, bool) {
	var i int32
	if k, ok := s.st.base.Index(id); ok {
		i = int32(k)
	} else if x, ok := s.st.newIDs.Load(id); ok && x.(int32) < s.n {
		i = x.(int32)
	} else {
		return 0, false
	}
	v := s.at(i)
	if v == nil {
		return i, int(i) < s.st.base.Len()
	}
	return i, !v.gone
}

// ChildEdges yields the edges out of id (graph.EdgeSource).
func (s *Snapshot) ChildEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	i, ok := s.Index(id)
	if !ok {
		return nil
	}
	kids, rels := s.Out(i)
	for k, c := range kids {
		if err := fn(graph.Edge{Parent: id, Child: s.NodeID(c), Relation: rels[k]}); err != nil {
			return err
		}
	}
	return nil
}

// ParentEdges yields the edges into id (graph.ParentSource).
func (s *Snapshot) ParentEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	i, ok := s.Index(id)
	if !ok {
		return nil
	}
	parents, rels := s.In(i)
	for k, p := range parents {
		if err := fn(graph.Edge{Parent: s.NodeID(p), Child: id, Relation: rels[k]}); err != nil {
			return err
		}
	}
	return nil
}

// Count sizes id's family as graph.Family.Count does.
func (s *Snapshot) Count(id graph.ModelID) graph.FamilyCount {
	return s.countFamily(id, nil)
}

// CountPopularity sizes id's family as Count does, and sums the
// popularity of its descendants (their Info; the root's own is not in it).
func (s *Snapshot) CountPopularity(id graph.ModelID) (graph.FamilyCount, graph.Popularity) {
	var p graph.Popularity
	c := s.countFamily(id, func(node, _ int) { s.AddPopularity(&p, int32(node)) })
	return c, p
}

// AddPopularity adds node i's downloads, all-time downloads and likes to
// p: a base node's from the dense arrays, not its whole NodeInfo (a large
// family's walk reads them for every member).
func (s *Snapshot) AddPopularity(p *graph.Popularity, i int32) {
	if v := s.at(i); v != nil || int(i) >= len(s.st.allTime) {
		info := s.Info(i)
		p.Add(&info)
		return
	}
	n := graph.NodeInfo{Downloads: s.st.downloads[i], Likes: s.st.likes[i]}
	if t := s.st.allTime[i]; t >= 0 {
		n.DownloadsAllTime, n.HasDownloadsAllTime = t, true
	}
	p.Add(&n)
}

func (s *Snapshot) countFamily(id graph.ModelID, visit func(node, depth int)) graph.FamilyCount {
	i, ok := s.Index(id)
	if !ok {
		return graph.FamilyCount{Model: id}
	}
	w, _ := s.walkers.Get().(*graph.Walker)
	if w == nil || !w.Fits(s) {
		// Room to grow: the next snapshots hold more nodes.
		w = graph.NewWalkerSized(s, int(s.n)+int(s.n)/4+1024)
	}
	w.Reset(s)
	defer func() { w.Reset(nil); s.walkers.Put(w) }()
	return w.Count(int(i), visit)
}

// Family loads id's family to maxDepth (< 0: no bound), as graph.LoadFamily
// does. A model the snapshot lacks is a family of itself alone.
func (s *Snapshot) Family(ctx context.Context, id graph.ModelID, maxDepth int) (*graph.Family, error) {
	i, ok := s.Index(id)
	if !ok {
		return graph.LoadFamily(ctx, s, id, maxDepth)
	}
	return graph.FamilyOf(ctx, s, i, maxDepth, s.pure())
}

// pure reports whether the snapshot is its base alone (node numbers follow
// the ids' order).
func (s *Snapshot) pure() bool { return s.version <= s.st.since }

// Graph returns the snapshot as one compact graph.Graph with node
// attributes and sorted ids: its base when nothing was applied since, else
// a new one (a pass over every node). When ctx ends it stops and returns
// ctx's error.
func (s *Snapshot) Graph(ctx context.Context) (*graph.Graph, error) {
	if s.pure() {
		return s.st.base, nil
	}
	base := s.st.base
	nb := base.Len()
	// The extra nodes the snapshot holds, in id order.
	var extra []int32
	for k := range s.extra {
		i := int32(nb + k)
		if v := s.at(i); v != nil && !v.gone {
			extra = append(extra, i)
		}
	}
	slices.SortFunc(extra, func(a, b int32) int { return cmp.Compare(s.NodeID(a), s.NodeID(b)) })
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Merge them with the base's (already in id order), leaving out the
	// removed.
	order := make([]int32, 0, nb+len(extra))
	renum := make([]int32, s.n)
	for i := range renum {
		renum[i] = -1
	}
	b, x := 0, 0
	for b < nb || x < len(extra) {
		var i int32
		if x == len(extra) || (b < nb && base.ID(b) < s.NodeID(extra[x])) {
			i = int32(b)
			b++
			if v := s.at(i); v != nil && v.gone {
				continue
			}
		} else {
			i = extra[x]
			x++
		}
		renum[i] = int32(len(order))
		order = append(order, i)
		if len(order)%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	ids := make([]graph.ModelID, len(order))
	nodes := make([]graph.NodeInfo, len(order))
	off := make([]int32, len(order)+1)
	var dst []int32
	var rel []graph.Relation
	type edge struct {
		c   int32
		rel graph.Relation
	}
	var buf []edge
	for k, i := range order {
		if k%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ids[k], nodes[k] = s.NodeID(i), s.Info(i)
		kids, rels := s.Out(i)
		buf = buf[:0]
		for j, c := range kids {
			if renum[c] >= 0 {
				buf = append(buf, edge{renum[c], rels[j]})
			}
		}
		slices.SortFunc(buf, func(a, b edge) int {
			if c := cmp.Compare(a.c, b.c); c != 0 {
				return c
			}
			return cmp.Compare(a.rel, b.rel)
		})
		for _, e := range buf {
			dst, rel = append(dst, e.c), append(rel, e.rel)
		}
		off[k+1] = int32(len(dst))
	}
	return graph.NewSortedGraph(ids, nodes, off, dst, rel), nil
}

// Graph is a lineage graph kept in memory: one writer applies deltas,
// any number of readers take snapshots.
type Graph struct {
	cur     atomic.Pointer[Snapshot]
	walkers sync.Pool

	mu         sync.Mutex // the writer's (Apply, Compact); readers never take it
	st         *state
	compacting bool
	pending    []graph.Delta // applied since the compaction in progress took its snapshot
	gap        bool          // a delta did not follow the version before it
}

// ErrGap: a delta did not follow the graph's version (commits were made
// that the graph was not told of); the graph must be loaded again.
var ErrGap = errors.New("live: a commit was missed; the graph must be loaded again")

// New returns the graph that base (with node attributes and sorted ids,
// as the store's graph cache holds it) shows at data version version.
func New(base *graph.Graph, version uint64) *Graph {
	g := &Graph{}
	g.st = newState(base, version)
	s := &Snapshot{version: version, st: g.st, n: int32(base.Len()), edges: base.EdgeCount(), walkers: &g.walkers}
	for i := range base.Len() {
		if base.Nodes == nil || base.Nodes[i].Stub {
			s.stubs++
		} else {
			s.models++
		}
	}
	g.cur.Store(s)
	return g
}

// Current returns the newest snapshot.
func (g *Graph) Current() *Snapshot { return g.cur.Load() }

// Versions is how many node versions the overlay holds: what Compact
// would fold into the base.
func (g *Graph) Versions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st.versions
}

// Apply applies d, which must follow the current version, and publishes
// the snapshot of d.Version. A delta that does not follow is applied all
// the same and makes Apply, and every later one, return ErrGap.
func (g *Graph) Apply(d graph.Delta) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.cur.Load()
	if d.Version != cur.version+1 {
		g.gap = true
	}
	if g.compacting {
		g.pending = append(g.pending, d)
	}
	g.cur.Store(g.st.apply(cur, d))
	if g.gap {
		return ErrGap
	}
	return nil
}

// Compact folds the overlay into a new base: the current snapshot is made
// one compact graph (without the writer's lock), then the deltas applied
// meanwhile are applied again on top of it. Readers go on meanwhile. It
// returns the compact graph and the version it shows. When ctx ends it
// stops and returns ctx's error, the graph unchanged.
func (g *Graph) Compact(ctx context.Context) (*graph.Graph, uint64, error) {
	g.mu.Lock()
	snap := g.cur.Load()
	if g.compacting || snap.pure() {
		g.mu.Unlock()
		base, err := snap.Graph(ctx) // the base, or (rarely) a copy
		return base, snap.version, err
	}
	g.compacting, g.pending = true, nil
	g.mu.Unlock()
	base, err := snap.Graph(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	pending := g.pending
	g.compacting, g.pending = false, nil
	if err != nil {
		return nil, 0, err
	}
	st := newState(base, snap.version)
	next := &Snapshot{version: snap.version, st: st, n: int32(base.Len()), models: snap.models, stubs: snap.stubs, edges: snap.edges, walkers: &g.walkers}
	for _, d := range pending {
		next = st.apply(next, d)
	}
	g.st = st
	g.cur.Store(next)
	return base, snap.version, nil
}

// Reset replaces the graph with base at version, as New makes it (after
// ErrGap: the graph loaded again). No Apply may run meanwhile.
func (g *Graph) Reset(base *graph.Graph, version uint64) {
	fresh := New(base, version)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st, g.gap, g.compacting, g.pending = fresh.st, false, false, nil
	s := fresh.cur.Load()
	s.walkers = &g.walkers
	g.cur.Store(s)
}

// apply makes the versions of the nodes d changes and returns the snapshot
// of d.Version after cur.
func (st *state) apply(cur *Snapshot, d graph.Delta) *Snapshot {
	w := applier{st: st, ver: d.Version, fresh: map[int32]*node{}, owned: map[int32]bool{}}
	next := *cur
	next.version = d.Version
	for _, c := range d.Changes {
		switch c.Op {
		case graph.PutNode:
			i := w.number(c.ID, &next)
			v := w.node(i)
			if was := w.present(i); was != nil {
				next.count(*was, -1)
			}
			v.gone, v.info = false, c.Info
			next.count(c.Info, +1)
		case graph.RemoveNode:
			i, ok := w.lookup(c.ID)
			if !ok {
				continue
			}
			if was := w.present(i); was != nil {
				next.count(*was, -1)
			}
			v := w.node(i)
			v.gone, v.info, v.e = true, graph.NodeInfo{}, &edges{}
			w.owned[i] = true
		case graph.AddEdge:
			p, ch := w.number(c.Edge.Parent, &next), w.number(c.Edge.Child, &next)
			pe := w.edges(p)
			pe.kids, pe.kidRels = append(pe.kids, ch), append(pe.kidRels, c.Edge.Relation)
			ce := w.edges(ch)
			ce.parents, ce.parentRels = append(ce.parents, p), append(ce.parentRels, c.Edge.Relation)
			next.edges++
		case graph.RemoveEdge:
			p, ok1 := w.lookup(c.Edge.Parent)
			ch, ok2 := w.lookup(c.Edge.Child)
			if !ok1 || !ok2 {
				continue
			}
			pe, ce := w.edges(p), w.edges(ch)
			var removed bool
			pe.kids, pe.kidRels, removed = without(pe.kids, pe.kidRels, ch, c.Edge.Relation)
			ce.parents, ce.parentRels, _ = without(ce.parents, ce.parentRels, p, c.Edge.Relation)
			if removed {
				next.edges--
			}
		}
	}
	for i, v := range w.fresh {
		st.push(i, v)
	}
	next.n = int32(st.base.Len() + len(st.extra))
	next.extra = st.extra
	return &next
}

func (s *Snapshot) count(n graph.NodeInfo, by int) {
	if n.Stub {
		s.stubs += by
	} else {
		s.models += by
	}
}

// without returns the edge list less its first edge to c by rel, in new
// slices (the old ones are shared with older versions).
func without(to []int32, rels []graph.Relation, c int32, rel graph.Relation) ([]int32, []graph.Relation, bool) {
	for k := range to {
		if to[k] == c && rels[k] == rel {
			t := make([]int32, 0, len(to)-1+4)
			r := make([]graph.Relation, 0, len(to)-1+4)
			t, r = append(append(t, to[:k]...), to[k+1:]...), append(append(r, rels[:k]...), rels[k+1:]...)
			return t, r, true
		}
	}
	return to, rels, false
}

// applier makes the new versions of one delta: one per node it changes.
type applier struct {
	st    *state
	ver   uint64
	fresh map[int32]*node
	owned map[int32]bool // the fresh versions whose edges are their own
}

// lookup finds id's node number, removed or not.
func (w *applier) lookup(id graph.ModelID) (int32, bool) {
	if k, ok := w.st.base.Index(id); ok {
		return int32(k), true
	}
	if x, ok := w.st.newIDs.Load(id); ok {
		return x.(int32), true
	}
	return 0, false
}

// number returns id's node number, making a stub node when there is none
// (an edge's endpoint always exists: a parent not stored is a stub).
func (w *applier) number(id graph.ModelID, next *Snapshot) int32 {
	if i, ok := w.lookup(id); ok {
		if w.present(i) == nil {
			v := w.node(i)
			v.gone, v.info = false, graph.NodeInfo{Stub: true}
			next.count(v.info, +1)
		}
		return i
	}
	i := int32(w.st.base.Len() + len(w.st.extra))
	w.st.extra = append(w.st.extra, id)
	w.st.newIDs.Store(id, i)
	v := w.node(i)
	v.info = graph.NodeInfo{Stub: true}
	next.count(v.info, +1)
	return i
}

// present returns the attributes of node i as the writer sees it now, nil
// when removed or new.
func (w *applier) present(i int32) *graph.NodeInfo {
	v := w.fresh[i]
	if v == nil {
		v = w.st.head(i)
	}
	if v != nil {
		if v.gone {
			return nil
		}
		return &v.info
	}
	if fresh := int(i) >= w.st.base.Len(); fresh {
		return nil // made in this delta by number
	}
	n := graph.NodeInfo{Stub: true}
	if w.st.base.Nodes != nil {
		n = w.st.base.Nodes[i]
	}
	return &n
}

// node returns the version of node i this delta makes, starting it from
// the newest one.
func (w *applier) node(i int32) *node {
	if v := w.fresh[i]; v != nil {
		return v
	}
	v := &node{ver: w.ver}
	if h := w.st.head(i); h != nil {
		*v = *h // its edges shared until they change
		v.ver, v.older = w.ver, h
	} else if int(i) < w.st.base.Len() {
		if b := w.st.base; b.Nodes != nil {
			v.info = b.Nodes[i]
		} else {
			v.info = graph.NodeInfo{Stub: true}
		}
	}
	w.fresh[i] = v
	return v
}

// edges returns the edge lists of node i's version in this delta, its own
// to change: a new header over the newest lists (appending goes past the
// lengths older versions hold), or a copy of the base's.
func (w *applier) edges(i int32) *edges {
	v := w.node(i)
	if w.owned[i] {
		return v.e
	}
	e := &edges{}
	switch {
	case v.e != nil:
		*e = *v.e
	case int(i) < w.st.base.Len():
		// Copied out of the base's arrays, with room: appending to a
		// slice of them would write over the next node's edges.
		kids, rels := w.st.base.Out(i)
		e.kids, e.kidRels = slices.Grow(slices.Clone(kids), 4), slices.Grow(slices.Clone(rels), 4)
		lo, hi := w.st.roff[i], w.st.roff[i+1]
		e.parents, e.parentRels = slices.Grow(slices.Clone(w.st.rsrc[lo:hi]), 4), slices.Grow(slices.Clone(w.st.rrel[lo:hi]), 4)
	}
	v.e, w.owned[i] = e, true
	return e
}
