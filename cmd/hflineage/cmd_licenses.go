package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// licenser is what licenses asks of the engine: the database's, or a
// running server's (GET /api/v1/licenses).
type licenser interface {
	Licenses(ctx context.Context, o query.LicenseOptions) (query.LicensePaths, error)
}

func cmdLicenses(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("licenses", `licenses [flags] MODEL
licenses [flags] PATTERN|MODEL...

Follows licences along the lineage of MODEL's family, or of an ecosystem
('meta-llama/*', globs, several models: as count takes them). Every
parent→child edge inside it is classified by what it does to the licence:
kept (the same licence, or another of the same class), relaxed (the child's
licence lets its users do more: a Llama community licence becoming
apache-2.0), tightened (less: apache-2.0 becoming cc-by-nc-4.0) or unknown
(either side states none, "other", or a licence the table does not know).
The classes, most permissive first: permissive, copyleft, responsible-ai,
community, non-commercial, no-derivatives (the table: docs/reference.md).

The report counts the edges per parent licence with each child licence
(the from → to matrix), lists the most downloaded derivatives that relaxed
a parent's licence with their path from a root, and, for one model, its own
ancestry with licences.

Examples:
  hflineage licenses meta-llama/Llama-3.1-8B
  hflineage licenses --json --edges 'meta-llama/*'`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print one JSON object: {"model" or "ecosystem","matched","members","edges","changes":{"kept","relaxed","tightened","unknown"},"by_parent":[…],"relaxed_offenders":[…],"ancestry","changed_edges","complete"}`)
	top := fs.Int("top", 10, "list the `N` most downloaded derivatives that relaxed a licence")
	edges := fs.Bool("edges", false, "list every edge whose licence changes, most downloaded child first")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *top < 1 || *top > query.MaxLicenseTop {
		return usagef("licenses: --top must be from 1 to %d, not %d", query.MaxLicenseTop, *top)
	}
	spec, _, err := ecosystemArgs("licenses", pos)
	if err != nil {
		return err
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	l, ok := q.(licenser)
	if !ok {
		return fmt.Errorf("licenses: this engine cannot answer")
	}
	lp, err := l.Licenses(ctx, query.LicenseOptions{Model: spec, Top: *top, Edges: *edges})
	if err != nil {
		return queryError(err)
	}
	if lp.Incomplete != nil {
		fmt.Fprintln(stderr, lp.Incomplete.Warning("these numbers"))
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(lp)
	}
	return writeLicenses(stdout, lp)
}

// Licenses asks the server (GET /api/v1/licenses).
func (r *remote) Licenses(ctx context.Context, o query.LicenseOptions) (query.LicensePaths, error) {
	var lp query.LicensePaths
	p := url.Values{"model": {o.Model}}
	if o.Top > 0 {
		p.Set("top", strconv.Itoa(o.Top))
	}
	if o.Edges {
		p.Set("edges", "true")
	}
	err := r.get(ctx, "/api/v1/licenses", p, &lp)
	return lp, err
}

// licenseText is a licence id as the report prints it.
func licenseText(l string) string {
	if l == "" {
		return "(none)"
	}
	return l
}

// writeLicenses prints licences' paths: the changes, the from → to
// matrix, the offenders with their paths, the ancestry and the changed
// edges when asked.
func writeLicenses(w io.Writer, lp query.LicensePaths) error {
	what := "the family of " + string(lp.Model)
	if lp.Ecosystem != "" {
		what = fmt.Sprintf("%s (%s matched)", lp.Ecosystem, plural(lp.Matched, "model"))
	}
	fmt.Fprintf(w, "License paths in %s: %s, %s\n\n", what, plural(lp.Members, "derivative"), plural(lp.Edges, "edge"))
	c := lp.Changes
	fmt.Fprintf(w, "  kept %d   relaxed %d   tightened %d   unknown %d\n", c.Kept, c.Relaxed, c.Tightened, c.Unknown)

	if len(lp.ByParent) > 0 {
		fmt.Fprintf(w, "\nBy the parent's license\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  parent license\tclass\tedges\tkept\trelaxed\ttightened\tunknown\n")
		for _, p := range lp.ByParent {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\n", licenseText(p.License), p.Class, p.Edges, p.Kept, p.Relaxed, p.Tightened, p.Unknown)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nFrom → to (the parent's license, the child's)\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range lp.ByParent {
			for _, to := range p.To {
				fmt.Fprintf(tw, "  %6d\t%s\t%s → %s\t(%s → %s)\n", to.Edges, to.Change, licenseText(p.License), licenseText(to.License), p.Class, to.Class)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(lp.Offenders) > 0 {
		fmt.Fprintf(w, "\nMost downloaded derivatives that relaxed a parent's license, with a path from a root\n")
		for _, o := range lp.Offenders {
			var from []string
			for _, p := range o.Parents {
				from = append(from, licenseText(p.License)+" of "+string(p.Model))
			}
			fmt.Fprintf(w, "  %10d  %s: %s, from %s\n", o.Downloads, o.Model, licenseText(o.License), strings.Join(from, "; "))
			fmt.Fprintf(w, "              %s\n", licensedPath(o.Path))
		}
	}

	if a := lp.Ancestry; a != nil && len(a.Ancestors) > 0 {
		fmt.Fprintf(w, "\nAncestry of %s (%s, %s), nearest first\n", a.Model, licenseText(a.License), a.Class)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, anc := range a.Ancestors {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", anc.Distance, anc.Model, licenseText(anc.License), anc.Class)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, e := range a.Edges {
			if e.Change != graph.Kept {
				fmt.Fprintf(w, "  %s: %s → %s (%s → %s)\n", e.Change, e.Parent, e.Child, licenseText(e.From), licenseText(e.To))
			}
		}
	}

	if len(lp.ChangedEdges) > 0 {
		fmt.Fprintf(w, "\nEdges whose license changes, most downloaded child first\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range lp.ChangedEdges {
			fmt.Fprintf(tw, "  %s\t%s → %s\t%s\t%s → %s\n", e.Change, e.Parent, e.Child, e.Relation, licenseText(e.From), licenseText(e.To))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// licensedPath prints a path with each model's licence.
func licensedPath(path []query.LicensedModel) string {
	parts := make([]string, len(path))
	for i, m := range path {
		parts[i] = fmt.Sprintf("%s [%s]", m.Model, licenseText(m.License))
	}
	return strings.Join(parts, " → ")
}
