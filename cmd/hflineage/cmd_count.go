package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func cmdCount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("count", `count [flags] MODEL
count [flags] PATTERN|MODEL...

Counts MODEL's derivatives in the database: direct children and all
descendants (each counted once, however many paths lead to it), by relation,
and the family's depth (the longest shortest path from MODEL); and what the
derivatives add up to on the Hub: downloads of the last 30 days (the Hub's
"downloads"), all-time downloads where the Hub gave them (and how many
derivatives lack them), and likes. When the last crawl of the family did
not complete, a warning on stderr says so (and "complete" is false in
--json).

Counts an ecosystem: a pattern names many models — 'meta-llama/*' (every model
of the organisation), a glob ('Qwen/Qwen2.5-*'; * is any run of characters
but /, ? one character), or several models and patterns (as arguments, or
separated by commas). Quote patterns, or the shell expands them. Its roots
are the models matched; its members, every descendant of a root that is not
itself a root, each counted once however many roots it descends from. The
report adds the members shared by two roots or more, what the members add
up to on the Hub (as a family's derivatives), each root's own family
(largest first), and when the data was crawled.

Examples:
  hflineage count meta-llama/Llama-3.1-8B
  hflineage count 'meta-llama/*'
  hflineage count 'meta-llama/Llama-3*' mistralai/Mistral-7B-v0.1`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print one JSON object: {"model","children","descendants","max_depth","complete","downloads","downloads_all_time","members_without_all_time","likes"}; of an ecosystem {"ecosystem","matched","children","descendants","max_depth","shared","roots":[…],"roots_without_derivatives","crawled","complete","downloads","downloads_all_time","members_without_all_time","likes"}`)
	roots := fs.Int("roots", 20, "list at most `N` of an ecosystem's roots in the text report (0: all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *roots < 0 {
		return usagef("count: --roots must be 0 (all) or more, not %d", *roots)
	}
	spec, eco, err := ecosystemArgs("count", pos)
	if err != nil {
		return err
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	if eco {
		c, err := q.CountEcosystem(ctx, spec)
		if err != nil {
			return queryError(err)
		}
		if c.Incomplete != nil {
			fmt.Fprintln(stderr, c.Incomplete.Warning("these numbers"))
		}
		if *jsonOut {
			return json.NewEncoder(stdout).Encode(c)
		}
		return writeEcosystemCount(stdout, c, *roots)
	}
	c, err := q.Count(ctx, spec)
	if err != nil {
		return queryError(err)
	}
	if c.Incomplete != nil {
		fmt.Fprintln(stderr, c.Incomplete.Warning("these numbers"))
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeCountTable(stdout, c.FamilyCount, c.Popularity)
}

// ecosystemArgs reads the models and patterns of a command line: one
// model (eco false), or an ecosystem (patterns, or several names), which
// it returns as one comma-separated spec. What is malformed is a usage
// error, before any database is opened.
func ecosystemArgs(cmd string, pos []string) (spec string, eco bool, err error) {
	if len(pos) == 0 {
		return "", false, usagef("%s: name a MODEL or a PATTERN such as 'meta-llama/*'", cmd)
	}
	spec = strings.Join(pos, ",")
	if !query.IsEcosystem(spec) {
		return spec, false, checkModel(spec)
	}
	if _, err := graph.ParseEcosystem(spec); err != nil {
		return "", false, usagef("%s: %v", cmd, err)
	}
	return spec, true, nil
}

// writeEcosystemCount prints an ecosystem's count: members by relation,
// shared members, depth, the crawl's date, and up to maxRoots roots with
// their own families (0: all).
func writeEcosystemCount(w io.Writer, c query.EcosystemCount, maxRoots int) error {
	fmt.Fprintf(w, "%s: %s matched, %d with derivatives\n\n", c.Ecosystem, plural(c.Matched, "model"), len(c.Roots))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "relation\tchildren\tdescendants\t\n")
	for _, r := range graph.Relations {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", r, c.Children.Get(r), c.Descendants.Get(r))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\n", c.Children.Total, c.Descendants.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ndescend from two roots or more: %d (counted once)\nmax depth: %d\n", c.Shared, c.MaxDepth)
	if c.Crawled != "" {
		fmt.Fprintf(w, "crawled: %s\n", c.Crawled)
	}
	if err := writePopularity(w, plural(c.Descendants.Total, "member"), "the roots' own not included", c.Descendants.Total, c.Popularity); err != nil {
		return err
	}
	if len(c.Roots) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nroots by family size (each root's own family; they overlap):\n")
	width := len(fmt.Sprint(c.Roots[0].Descendants.Total)) // the largest first
	for i, r := range c.Roots {
		if maxRoots > 0 && i == maxRoots {
			_, err := fmt.Fprintf(w, "  … %d more (--roots 0 lists all)\n", len(c.Roots)-maxRoots)
			return err
		}
		if _, err := fmt.Fprintf(w, "  %*d  %s\n", width, r.Descendants.Total, r.Model); err != nil {
			return err
		}
	}
	return nil
}

// plural returns "1 model", "2 models".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func writeCountTable(w io.Writer, c graph.FamilyCount, p graph.Popularity) error {
	fmt.Fprintf(w, "%s\n\n", c.Model)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "relation\tchildren\tdescendants\t\n")
	for _, r := range graph.Relations {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", r, c.Children.Get(r), c.Descendants.Get(r))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\n", c.Children.Total, c.Descendants.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\nmax depth: %d\n", c.MaxDepth); err != nil {
		return err
	}
	return writePopularity(w, plural(c.Descendants.Total, "derivative"), "the model's own not included", c.Descendants.Total, p)
}

// writePopularity prints what n models (what: "173 derivatives") add up
// to: the Hub's downloads of the last 30 days, the all-time downloads
// where known (and how many lack them), and likes. Nothing for none.
func writePopularity(w io.Writer, what, excluded string, n int, p graph.Popularity) error {
	if n == 0 {
		return nil
	}
	allTime := fmt.Sprint(p.DownloadsAllTime.N)
	switch {
	case !p.DownloadsAllTime.Known:
		allTime = "unknown (none of them has one: crawled before hflineage asked the Hub for it, or the Hub gave none)"
	case p.MembersWithoutAllTime > 0:
		allTime += fmt.Sprintf(" (%d of the %d without one: not counted)", p.MembersWithoutAllTime, n)
	}
	_, err := fmt.Fprintf(w, "\nthe %s, summed (%s):\n"+
		"  downloads (30 days):   %d\n  downloads (all time):  %s\n  likes:                 %d\n",
		what, excluded, p.Downloads, allTime, p.Likes)
	return err
}
