package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

func cmdSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", `search [flags] TEXT

Finds the models in the database whose id contains TEXT (any letter case),
as GET /api/v1/search does: those whose id or name starts with it first,
each group most downloaded first.`, stderr)
	db := dbFlag(fs)
	limit := fs.Int("limit", 10, "list at most `N` models (1 to 100)")
	jsonOut := fs.Bool("json", false, `print GET /api/v1/search's object: {"results":[{"id","downloads"}]}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		return usagef("search: name the TEXT to find in model ids")
	}
	if *limit < 1 || *limit > 100 {
		return usagef("search: --limit must be 1 to 100, not %d", *limit)
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	h, err := q.Search(ctx, text, *limit)
	if err != nil {
		return queryError(err)
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(h)
	}
	if len(h.Results) == 0 {
		_, err := fmt.Fprintf(stdout, "no model in the database matches %q\n", text)
		return err
	}
	rows := [][]string{{"downloads", "model"}}
	for _, r := range h.Results {
		rows = append(rows, []string{thousands(r.Downloads), string(r.ID)})
	}
	if err := writeColumns(stdout, rows, 1); err != nil || !h.More {
		return err
	}
	more := "more models match"
	if *limit < 100 {
		more += ": --limit N lists up to 100"
	}
	_, err = fmt.Fprintf(stdout, "… %s\n", more)
	return err
}
