package graph

import (
	"context"
	"slices"
	"strings"
)

// EcosystemWalk is the union of several roots' families: what an ecosystem
// (every model of an organisation, say) has attracted, each model once
// however many roots it descends from.
type EcosystemWalk struct {
	// Roots are the roots walked from, distinct, in the order given.
	Roots []int32
	// Members lists every descendant of a root that is not itself a root,
	// breadth-first from all roots at once; Depth[k] is Members[k]'s
	// distance from the nearest root and Origin[k] the index in Roots of
	// the root the walk reached it from first (the nearest; of equally near
	// ones, the first given).
	Members []int32
	Depth   []int32
	Origin  []int32
	// Children counts the distinct members that a root points to directly,
	// by relation (one model with edges of several relations counts once
	// under each and once in Total); Descendants counts every member by the
	// relations of its edges from a root or another member, as
	// FamilyCount does for one root. Edges into a root are not counted.
	Children, Descendants RelationCounts
	MaxDepth              int
	// Shared counts the members in the families of two roots or more
	// (a family reaching through another root included).
	Shared int
}

// rootMark marks a root in WalkEcosystem's relation bytes: no relation
// bit combination reaches it, so nothing is ever counted into a root.
const rootMark = 0xff

// WalkEcosystem walks the families of roots in a at once (duplicates are
// walked once) and sizes their union, at the cost of a few passes over
// the union. When ctx ends it stops and returns ctx's error.
func WalkEcosystem(ctx context.Context, a Adjacency, roots []int32) (*EcosystemWalk, error) {
	n := a.NodeCount()
	seen := NewBitset(n)
	rels := make([]uint8, n) // relation bits into each node; rootMark for roots
	w := &EcosystemWalk{}
	for _, r := range roots {
		if seen.Add(r) {
			w.Roots = append(w.Roots, r)
			rels[r] = rootMark
		}
	}
	queue := slices.Clone(w.Roots)
	depth := make([]int32, len(queue))
	origin := make([]int32, len(queue))
	for i := range origin {
		origin[i] = int32(i)
	}
	direct := map[int32]uint8{} // members a root points to: relation bits from roots
	for h := 0; h < len(queue); h++ {
		if err := canceled(ctx, h); err != nil {
			return nil, err
		}
		v, d := queue[h], depth[h]
		fromRoot := h < len(w.Roots)
		dst, rs := a.Out(v)
		for k, ch := range dst {
			if rels[ch] == rootMark {
				continue // into a root: roots are not members
			}
			bit := relBit(rs[k])
			if seen.Add(ch) {
				queue, depth, origin = append(queue, ch), append(depth, d+1), append(origin, origin[h])
				w.MaxDepth = max(w.MaxDepth, int(d+1))
			}
			if rels[ch]&bit == 0 {
				rels[ch] |= bit
				w.Descendants.add(rs[k])
			}
			if fromRoot {
				if b, ok := direct[ch]; !ok || b&bit == 0 {
					direct[ch] = b | bit
					w.Children.add(rs[k])
				}
			}
		}
	}
	nr := len(w.Roots)
	w.Members, w.Depth, w.Origin = queue[nr:], depth[nr:], origin[nr:]
	w.Descendants.Total = len(w.Members)
	w.Children.Total = len(direct)

	// Which members more than one root reaches (through other roots too):
	// each node's label is the one root that reaches it, or shared; a
	// label changes at most twice, so this costs a few passes over the
	// union's edges.
	const unset, shared = -2, -1
	label := make([]int32, n)
	for _, m := range w.Members {
		label[m] = unset
	}
	work := make([]int32, 0, len(w.Roots))
	for i, r := range w.Roots {
		label[r] = int32(i)
		work = append(work, r)
	}
	for step := 0; len(work) > 0; step++ {
		if err := canceled(ctx, step); err != nil {
			return nil, err
		}
		v := work[len(work)-1]
		work = work[:len(work)-1]
		lv := label[v]
		kids, _ := a.Out(v)
		for _, c := range kids {
			switch lc := label[c]; {
			case lc == lv || lc == shared:
				continue
			case lc == unset:
				label[c] = lv
			default:
				label[c] = shared
			}
			work = append(work, c)
		}
	}
	for _, m := range w.Members {
		if label[m] == shared {
			w.Shared++
		}
	}
	return w, ctx.Err()
}

// OwnFamilies sizes the own family of every root with descendants, in
// the order of Roots, as Walker.Count does (other roots included when
// they descend from it). Roots without descendants are left out: an
// organisation has thousands. When ctx ends it stops and returns ctx's
// error.
func (w *EcosystemWalk) OwnFamilies(ctx context.Context, a Adjacency) ([]FamilyCount, error) {
	var own []FamilyCount
	walker := NewWalkerOf(a)
	for i, r := range w.Roots {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		if kids, _ := a.Out(r); len(kids) == 0 {
			continue
		}
		if c := walker.Count(int(r), nil); c.Descendants.Total > 0 { // not only a self-loop
			own = append(own, c)
		}
	}
	return own, ctx.Err()
}

// MemberSet returns the members as a set of node numbers below n.
func (w *EcosystemWalk) MemberSet(n int) Bitset {
	b := NewBitset(n)
	for _, m := range w.Members {
		b.Set(m)
	}
	return b
}

// Bitset is a set of node numbers.
type Bitset []uint64

// NewBitset returns an empty set of numbers below n.
func NewBitset(n int) Bitset { return make(Bitset, (n+63)/64) }

// Set adds i.
func (b Bitset) Set(i int32) { b[i>>6] |= 1 << (i & 63) }

// Add adds i and reports whether it was not in the set before.
func (b Bitset) Add(i int32) bool {
	word, bit := i>>6, uint64(1)<<(i&63)
	was := b[word]&bit != 0
	b[word] |= bit
	return !was
}

// Has reports whether i is in the set.
func (b Bitset) Has(i int32) bool { return int(i>>6) < len(b) && b[i>>6]&(1<<(i&63)) != 0 }

// OrgSize is the ecosystem of one organisation: its models, and the
// models of other organisations (or none) that descend from them.
type OrgSize struct {
	Org         string `json:"org"`
	Models      int    `json:"models"`
	Derivatives int    `json:"derivatives"`
}

// Organisations sizes the ecosystem of every organisation ("org/*") of a
// and returns the top largest by derivatives (ties by name); top ≤ 0 returns
// all with derivatives. It costs, in all, the number of (model,
// organisation among its ancestors) pairs. When ctx ends it stops and
// returns ctx's error.
func Organisations(ctx context.Context, a Adjacency, top int) ([]OrgSize, error) {
	n := a.NodeCount()
	byOrg := map[string][]int32{}
	active := map[string]bool{} // organisations with a model with children
	for i := range int32(n) {
		if err := canceled(ctx, int(i)); err != nil {
			return nil, err
		}
		id := string(a.NodeID(i))
		org, _, ok := strings.Cut(id, "/")
		if !ok {
			continue // a legacy id without organisation
		}
		byOrg[org] = append(byOrg[org], i)
		if kids, _ := a.Out(i); len(kids) > 0 {
			active[org] = true
		}
	}
	stamp := make([]uint32, n) // stamp[v] == epoch: v seen in this organisation's walk
	var queue []int32
	var out []OrgSize
	epoch := uint32(0)
	for org := range active {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		epoch++
		roots := byOrg[org]
		queue = append(queue[:0], roots...)
		for _, r := range roots {
			stamp[r] = epoch
		}
		for h := 0; h < len(queue); h++ {
			kids, _ := a.Out(queue[h])
			for _, k := range kids {
				if stamp[k] != epoch {
					stamp[k] = epoch
					queue = append(queue, k)
				}
			}
		}
		if d := len(queue) - len(roots); d > 0 {
			out = append(out, OrgSize{Org: org, Models: len(roots), Derivatives: d})
		}
	}
	slices.SortFunc(out, func(x, y OrgSize) int {
		if x.Derivatives != y.Derivatives {
			return y.Derivatives - x.Derivatives
		}
		return strings.Compare(x.Org, y.Org)
	})
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out, nil
}
