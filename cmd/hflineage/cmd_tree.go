package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func cmdTree(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tree", `tree [flags] MODEL

Prints MODEL's descendants as a tree, as npm ls prints dependencies: each
line a model, how it descends from the line above (its relation) and how
many descendants it has (every relation, each counted once, as count
says). Children are listed most descendants first, then by id, at most
--max under each model ("… and N more" counts the rest). A model reached
again by another path is printed once in full and then "(see above)".
At most 10,000 models are listed below MODEL (depth first); the
children left then are counted in "… and N more", whatever --depth and
--max say. When the last crawl of the family did not complete, a warning on stderr
says so (and "complete" is false in --json).`, stderr)
	db := dbFlag(fs)
	depth := fs.Int("depth", query.DefaultTreeDepth, "print `N` levels below MODEL (1 or more)")
	relation := fs.String("relation", "", "follow only edges of relation `R` (adapter, finetune, merge, quantized)")
	maxKids := fs.Int("max", query.DefaultTreeMax, "list at most `N` children under each model (0: all)")
	jsonOut := fs.Bool("json", false, `print the nested tree: {"tree":{"id","descendants","children":[{"id","relation","descendants","seen","children":[…],"more"}],"more"},"complete"}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneModel("tree", pos)
	if err != nil {
		return err
	}
	o := graph.TreeOptions{Depth: *depth, Max: *maxKids}
	if *relation != "" {
		if o.Relation, err = graph.ParseRelation(*relation); err != nil {
			return usagef("tree: --relation must be adapter, finetune, merge or quantized, not %q", *relation)
		}
	}
	if o.Depth < 1 {
		return usagef("tree: --depth must be 1 or more, not %d", o.Depth)
	}
	if o.Max < 0 {
		return usagef("tree: --max must be 0 (all) or more, not %d", o.Max)
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	t, err := q.Tree(ctx, name, o)
	if err != nil {
		return queryError(err)
	}
	if t.Incomplete != nil {
		fmt.Fprintln(stderr, t.Incomplete.Warning("this tree"))
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(t)
	}
	return writeTree(stdout, t.Tree)
}

// writeTree prints a lineage tree with box-drawing branches: the root,
// then each child under "├── " (the last under "└── "), its own children
// indented under "│   " (or spaces below the last).
func writeTree(w io.Writer, root *graph.TreeNode) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", root.ID, plural(root.Descendants, "descendant"))
	var walk func(n *graph.TreeNode, indent string)
	walk = func(n *graph.TreeNode, indent string) {
		for i, c := range n.Children {
			last := i == len(n.Children)-1 && n.More == 0
			branch, below := "├── ", "│   "
			if last {
				branch, below = "└── ", "    "
			}
			fmt.Fprintf(&b, "%s%s%s (%s, %s)", indent, branch, c.ID, c.Relation, plural(c.Descendants, "descendant"))
			if c.Seen {
				b.WriteString(" (see above)")
			}
			b.WriteByte('\n')
			walk(c, indent+below)
		}
		if n.More > 0 {
			fmt.Fprintf(&b, "%s└── … and %d more\n", indent, n.More)
		}
	}
	walk(root, "")
	_, err := io.WriteString(w, b.String())
	return err
}
