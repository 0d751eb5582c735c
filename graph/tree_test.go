package graph

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// treeLines spells a tree one line per node, indented two spaces a level:
// "id rel size" and " seen" or " +N more" where they apply.
func treeLines(t *TreeNode) string {
	var b strings.Builder
	var walk func(n *TreeNode, indent string)
	walk = func(n *TreeNode, indent string) {
		fmt.Fprintf(&b, "%s%s %s %d", indent, n.ID, n.Relation, n.Descendants)
		if n.Seen {
			b.WriteString(" seen")
		}
		if n.More > 0 {
			fmt.Fprintf(&b, " +%d more", n.More)
		}
		b.WriteByte('\n')
		for _, c := range n.Children {
			walk(c, indent+"  ")
		}
	}
	walk(t, "")
	return b.String()
}

func TestBuildTree(t *testing.T) {
	build := func(edges ...string) *Graph {
		b := NewGraphBuilder(0)
		for _, e := range edges {
			f := strings.Fields(e) // parent relation child
			b.Edge(Edge{Parent: ModelID("o/" + f[0]), Child: ModelID("o/" + f[2]), Relation: Relation(f[1])})
		}
		return b.Graph()
	}
	family := build(
		"root finetune a", "root quantized b", "root adapter c", "root merge d",
		"a quantized a1", "a finetune a2", "a merge m",
		"b merge m", "b finetune m", // named twice: listed once, finetune (the first in order)
		"m finetune m1",
		"d finetune d1", "d merge d2",
	)
	cycle := build("x finetune y", "y finetune x")
	tests := []struct {
		name string
		g    *Graph
		root string
		o    TreeOptions
		want string
	}{
		{"depth 2, all", family, "root", TreeOptions{Depth: 2}, `
o/root  10
  o/a finetune 4
    o/m merge 1
    o/a1 quantized 0
    o/a2 finetune 0
  o/b quantized 2
    o/m finetune 1 seen
  o/d merge 2
    o/d1 finetune 0
    o/d2 merge 0
  o/c adapter 0
`},
		{"depth 1", family, "root", TreeOptions{Depth: 1}, `
o/root  10
  o/a finetune 4
  o/b quantized 2
  o/d merge 2
  o/c adapter 0
`},
		{"max 2", family, "root", TreeOptions{Depth: 3, Max: 2}, `
o/root  10 +2 more
  o/a finetune 4 +1 more
    o/m merge 1
      o/m1 finetune 0
    o/a1 quantized 0
  o/b quantized 2
    o/m finetune 1 seen
`},
		{"merge edges only", family, "root", TreeOptions{Depth: 5, Relation: Merge}, `
o/root  10
  o/d merge 2
    o/d2 merge 0
`},
		{"a leaf", family, "c", TreeOptions{Depth: 2}, `
o/c  0
`},
		{"a cycle ends at the root seen", cycle, "x", TreeOptions{Depth: 9}, `
o/x  1
  o/y finetune 1
    o/x finetune 1 seen
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, ok := tt.g.Index(ModelID("o/" + tt.root))
			if !ok {
				t.Fatal("no root")
			}
			tree, err := BuildTree(context.Background(), tt.g, int32(i), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := treeLines(tree); got != strings.TrimPrefix(tt.want, "\n") {
				t.Errorf("got\n%swant%s", got, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BuildTree(ctx, family, 0, TreeOptions{Depth: 2}); err == nil {
		t.Error("BuildTree on an ended context: no error")
	}
}
