package graph

import (
	"context"
	"fmt"
	"testing"
)

// adjList is an Adjacency over out-lists, for building large shapes fast.
type adjList struct {
	out  [][]int32
	rels [][]Relation
}

func (g *adjList) NodeCount() int                    { return len(g.out) }
func (g *adjList) NodeID(i int32) ModelID            { return ModelID(fmt.Sprintf("o/m%07d", i)) }
func (g *adjList) Out(i int32) ([]int32, []Relation) { return g.out[i], g.rels[i] }

func (g *adjList) edge(p, c int32) {
	g.out[p] = append(g.out[p], c)
	g.rels[p] = append(g.rels[p], Finetune)
}

func newAdjList(n int) *adjList {
	return &adjList{out: make([][]int32, n), rels: make([][]Relation, n)}
}

// countWalks counts the walks BuildTree makes to size families.
func countWalks(t *testing.T) *int {
	n := new(int)
	sizeWalks = func() { *n++ }
	t.Cleanup(func() { sizeWalks = nil })
	return n
}

// listed counts the models below t, and the More of them all.
func listed(t *TreeNode) (nodes, more int) {
	more = t.More
	for _, c := range t.Children {
		n, m := listed(c)
		nodes, more = nodes+1+n, more+m
	}
	return nodes, more
}

// TestTreeCostBounded: a long chain asked to great depth, and a root with
// very many children asked for all, list at most MaxTreeNodes models and
// size each family once (by adding up a tree's sizes, not by walking).
func TestTreeCostBounded(t *testing.T) {
	const chainLen, fan = 20000, 100000
	chain := newAdjList(chainLen)
	for i := range int32(chainLen - 1) {
		chain.edge(i, i+1)
	}
	star := newAdjList(fan + 1)
	for i := range int32(fan) {
		star.edge(0, i+1)
	}
	// diamondChain: a chain whose every model is also a parent of one
	// shared model, so that no family is a tree and each is walked.
	const dLen = 300
	diamond := newAdjList(dLen + 1)
	for i := range int32(dLen - 1) {
		diamond.edge(i, i+1)
		diamond.edge(i, dLen)
	}
	for _, tc := range []struct {
		name      string
		g         *adjList
		o         TreeOptions
		rootSize  int
		nodes     int
		more      int
		maxWalks  int
		firstSize int
	}{
		{"a 20k chain, depth 1e6", chain, TreeOptions{Depth: 1e6}, chainLen - 1, MaxTreeNodes, 1, 1, chainLen - 2},
		{"a 20k chain, depth 1e6, max 1", chain, TreeOptions{Depth: 1e6, Max: 1}, chainLen - 1, MaxTreeNodes, 1, 1, chainLen - 2},
		{"100k children, max 0", star, TreeOptions{Depth: 1}, fan, MaxTreeNodes, fan - MaxTreeNodes, 1, 0},
		{"a chain sharing one model", diamond, TreeOptions{Depth: 1e6}, dLen, 2 * (dLen - 1), 0, dLen + 1, dLen - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			walks := countWalks(t)
			tree, err := BuildTree(context.Background(), tc.g, 0, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			nodes, more := listed(tree)
			if tree.Descendants != tc.rootSize || nodes > MaxTreeNodes || nodes != tc.nodes || more != tc.more {
				t.Errorf("root's descendants %d, %d listed, %d more; want %d, %d (at most %d), %d more", tree.Descendants, nodes, more, tc.rootSize, tc.nodes, MaxTreeNodes, tc.more)
			}
			if *walks > tc.maxWalks {
				t.Errorf("%d walks to size families, want at most %d", *walks, tc.maxWalks)
			}
			if len(tree.Children) == 0 || tree.Children[0].Descendants != tc.firstSize {
				t.Errorf("first child: %+v, want %d descendants", tree.Children, tc.firstSize)
			}
		})
	}
}
