package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func cmdChildren(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("children", `children [flags] MODEL

Lists MODEL's direct children in the database, as GET /api/v1/children does:
most downloaded first (or most liked, or newest), then by id, each with
its relation, author, downloads, likes and creation date. A child that
names MODEL twice (say merge and finetune) is listed once, with the first
relation in sorted order. When more children match than --limit, the last
line says how to ask for the next page.`, stderr)
	db := dbFlag(fs)
	relation := fs.String("relation", "", "list only children of relation `R` (adapter, finetune, merge, quantized)")
	sortBy := fs.String("sort", "downloads", "order by `KEY`: downloads, likes or created (largest or newest first)")
	limit := fs.Int("limit", 50, "list at most `N` children (1 to 1000)")
	cursor := fs.String("cursor", "", "list the page after the one that printed `C` (--json's next_cursor)")
	jsonOut := fs.Bool("json", false, `print GET /api/v1/children's object: {"model","total","children":[{"id","relation","author","downloads","likes","created","license"}],"next_cursor"}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneModel("children", pos)
	if err != nil {
		return err
	}
	o := query.ChildrenOptions{Sort: *sortBy, Limit: *limit, Cursor: *cursor}
	if *relation != "" {
		if o.Relation, err = graph.ParseRelation(*relation); err != nil {
			return usagef("children: --relation must be adapter, finetune, merge or quantized, not %q", *relation)
		}
	}
	if *limit < 1 || *limit > 1000 {
		return usagef("children: --limit must be 1 to 1000, not %d", *limit)
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	c, err := q.Children(ctx, name, o)
	if err != nil {
		return queryError(err)
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeChildren(stdout, c, o)
}

// writeChildren prints a page of children as a table, then what is left.
func writeChildren(w io.Writer, c query.Children, o query.ChildrenOptions) error {
	what := "children"
	if c.Total == 1 {
		what = "child"
	}
	if o.Relation != "" {
		what = string(o.Relation) + " " + what
	}
	if c.Total == 0 {
		_, err := fmt.Fprintf(w, "%s: no %s in the database\n", c.Model, what)
		return err
	}
	fmt.Fprintf(w, "%s: %s %s\n\n", c.Model, thousands(int64(c.Total)), what)
	rows := [][]string{{"downloads", "likes", "created", "relation", "child"}}
	for _, k := range c.Children {
		created := "-"
		if len(k.Created) >= 10 {
			created = k.Created[:10]
		}
		rows = append(rows, []string{thousands(k.Downloads), thousands(k.Likes), created, string(k.Relation), string(k.ID)})
	}
	if err := writeColumns(w, rows, 2); err != nil {
		return err
	}
	if c.NextCursor != "" {
		_, err := fmt.Fprintf(w, "… %s more: add --cursor %s\n", thousands(int64(c.Total-len(c.Children))), c.NextCursor)
		return err
	}
	return nil
}

// writeColumns prints rows as columns two spaces apart, the first
// numeric columns aligned right, the others left, the last unpadded (no
// trailing blanks).
func writeColumns(w io.Writer, rows [][]string, numeric int) error {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, cell := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			switch {
			case i == len(r)-1 && i >= numeric:
				b.WriteString(cell)
			case i < numeric:
				b.WriteString(pad + cell + "  ")
			default:
				b.WriteString(cell + pad + "  ")
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
