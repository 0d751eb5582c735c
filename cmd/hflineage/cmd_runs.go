package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hflineage/hflineage/query"
)

func cmdRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("runs", `runs [flags]

Lists the crawls recorded in the database (runs), newest first: number,
when it started and finished (UTC), its kind (walk, or scan full or
incremental), its status, the models and edges it added and removed, and
the requests it made (retries included, over every attempt).

Status: finished (every seed crawled); failed (ended without completing,
or its last attempt failed); canceled (its last attempt was interrupted:
the same crawl command resumes it); unfinished (running now, or stopped
without a word, as a killed process leaves it).`, stderr)
	db := dbFlag(fs)
	limit := fs.Int("limit", 20, fmt.Sprintf("list at most `N` runs (1 to %d)", query.MaxRunPage))
	before := fs.Uint64("before", 0, "list the runs numbered below `RUN` (the next page: the last number listed)")
	jsonOut := fs.Bool("json", false, `print GET /api/v1/runs's object: {"runs":[{"run","mode","full","seeds","started","finished","complete","requests","models_added","models_removed","edges_added","edges_removed","stopped",…}],"next_before"}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("runs: unexpected argument %q", pos[0])
	}
	if *limit < 1 || *limit > query.MaxRunPage {
		return usagef("runs: --limit must be 1 to %d, not %d", query.MaxRunPage, *limit)
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	runs, next, err := q.RunPage(ctx, *before, *limit)
	if err != nil {
		return queryError(err)
	}
	if *jsonOut {
		page := map[string]any{"runs": runs}
		if next != 0 {
			page["next_before"] = next
		}
		return json.NewEncoder(stdout).Encode(page)
	}
	return writeRuns(stdout, runs, next)
}

// writeRuns prints runs as a table, and how to ask for the next page
// (next: the --before that asks for it; 0 on the last page).
func writeRuns(w io.Writer, runs []query.Run, next uint64) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "no runs recorded (crawl first: hflineage crawl MODEL)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tstarted\tfinished\tkind\tstatus\tmodels\tedges\trequests")
	for _, r := range runs {
		finished := "-"
		if !r.Finished.IsZero() {
			finished = r.Finished.UTC().Format(runTime)
		}
		kind := r.Mode
		if r.Mode == "scan" {
			kind = "scan, incremental"
			if r.Full || r.Bulk { // a first scan into an empty database lists everything too
				kind = "scan, full"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t+%s -%s\t+%s -%s\t%s\n", r.ID, r.Started.UTC().Format(runTime), finished, kind, r.Status(),
			thousands(r.ModelsAdded), thousands(r.ModelsRemoved), thousands(r.EdgesAdded), thousands(r.EdgesRemoved), thousands(r.Requests))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != 0 {
		_, err := fmt.Fprintf(w, "older runs: hflineage runs --before %d\n", next)
		return err
	}
	return nil
}

// runTime is how runs print their times (UTC).
const runTime = time.DateTime

// thousands spells n with commas between groups of three digits: 3,030.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
