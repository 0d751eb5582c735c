package graph

import "context"

// Adjacency is a lineage graph over node numbers 0…NodeCount()-1: what the
// walks over node numbers (Walker, FamilyOf) need of a graph. Graph is one;
// a snapshot of a graph kept current in memory is another. Implementations
// are read concurrently and must not change what they answer.
type Adjacency interface {
	// Nodes bounds the node numbers: every number is below NodeCount. A number
	// may name no model (one removed); such a node has no edges in or out.
	NodeCount() int
	// NodeID returns node i's id.
	NodeID(i int32) ModelID
	// Out returns the edges out of node i: to children[k] by rels[k]. The
	// slices are read, never written, by the caller.
	Out(i int32) (children []int32, rels []Relation)
}

// NodeCount returns the number of nodes (Adjacency).
func (g *Graph) NodeCount() int { return len(g.ids) }

// NodeID returns node i's id (Adjacency).
func (g *Graph) NodeID(i int32) ModelID { return g.ids[i] }

// Out returns the edges out of node i (Adjacency).
func (g *Graph) Out(i int32) ([]int32, []Relation) {
	lo, hi := g.off[i], g.off[i+1]
	return g.dst[lo:hi:hi], g.rel[lo:hi:hi]
}

// NewSortedGraph returns the Graph over ids, which must be strictly
// increasing, with node attributes nodes (nil, or one per id) and, out of
// node i, the edges to dst[off[i]:off[i+1]] by the relations at the same
// places of rel (len(off) == len(ids)+1, off[0] == 0). The graph keeps the
// slices: the caller must not change them afterwards.
func NewSortedGraph(ids []ModelID, nodes []NodeInfo, off, dst []int32, rel []Relation) *Graph {
	return &Graph{ids: ids, Nodes: nodes, off: off, dst: dst, rel: rel, sorted: true}
}

// ChangeOp says what a Change does.
type ChangeOp uint8

// The changes a commit makes to a stored graph.
const (
	PutNode    ChangeOp = iota + 1 // the model ID now has attributes Info (Stub for a parent never listed)
	RemoveNode                     // the model ID is gone (its edges went first)
	AddEdge                        // Edge was added
	RemoveEdge                     // Edge was removed
)

// Change is one change to a stored graph.
type Change struct {
	Op   ChangeOp
	ID   ModelID  // PutNode, RemoveNode
	Info NodeInfo // PutNode
	Edge Edge     // AddEdge, RemoveEdge
}

// Delta is what one committed transaction changed, in the order it made the
// changes, and the data version the commit produced: applied in order to
// the graph of version Version-1, it gives the graph of Version.
type Delta struct {
	Version uint64
	Changes []Change
}

// FamilyOf loads the family of node root of a (maxDepth < 0: no bound), as
// LoadFamily does from an EdgeSource. sorted says that a's node numbers
// follow its ids' order, so that edges come out sorted without comparing
// ids. When ctx ends it stops and returns ctx's error.
func FamilyOf(ctx context.Context, a Adjacency, root int32, maxDepth int, sorted bool) (*Family, error) {
	return familyOf(ctx, a, root, maxDepth, sorted)
}
