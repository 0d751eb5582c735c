package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// diff --since on a Hub that changed between two full scans: its --json is
// the engine's answer, its text lists the same run by run; without
// --since, diff answers as before (of a pattern too).
func TestDiffSince(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 600, Seed: 4})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	const base, pattern = "base-org-0/Base-Model-0", "base-org-*/*"
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all", "--full")
	world.Churn(60, 30, hubtest.GeneratedUntil.Add(24*time.Hour))
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all", "--full")

	q, err := query.OpenDB(context.Background(), db, query.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	answer := func(v any, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b) + "\n"
	}
	o := query.ChangesOptions{Model: base, Since: "0", Runs: query.DefaultChangeRuns, IDs: 3}
	wantJSON := answer(q.Changes(ctx, o))
	changes, _ := q.Changes(ctx, o)
	wantPattern := answer(q.Changes(ctx, query.ChangesOptions{Model: pattern, Since: "2000-01-01", Runs: 1}))
	wantDiff := answer(q.Diff(ctx, query.DiffOptions{Model: base}))
	wantEcoDiff := answer(q.DiffEcosystem(ctx, query.DiffOptions{Model: pattern, Run: 2}))
	q.Close()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--db", db, "--json", "--since", "0", "--ids", "3", base}, wantJSON},
		{[]string{"diff", "--db", db, "--json", "--since", "2000-01-01", "--runs", "1", pattern}, wantPattern},
		{[]string{"diff", "--db", db, "--json", base}, wantDiff},
		{[]string{"diff", "--db", db, "--json", "--run", "2", pattern}, wantEcoDiff},
	} {
		if code, stdout, stderr := cli(t, tc.args...); code != 0 || stdout != tc.want {
			t.Errorf("%v: exit %d %s\n%s\nwant %s", tc.args, code, stderr, stdout, tc.want)
		}
	}

	// The text: a header, each run with its members, a footer.
	var want strings.Builder
	fmt.Fprintf(&want, "members of the family of %s added and removed since 0, newest first (%d members now)\n", base, changes.Members)
	for _, r := range changes.Runs {
		fmt.Fprintf(&want, "run %d (scan, finished %s): %d added, %d removed; %d members after it\n", r.Run, r.Finished, r.AddedCount, r.RemovedCount, r.Members)
		if r.AllNew {
			want.WriteString("  started from an empty database: every member is new\n")
		}
		for _, m := range r.Added {
			fmt.Fprintf(&want, "  + %s (%s, %s)\n", m.Model, relations(m), m.Change)
		}
		if n := r.AddedCount - len(r.Added); n > 0 {
			fmt.Fprintf(&want, "  + … %d more (--ids 3 lists at most 3)\n", n)
		}
		for _, m := range r.Removed {
			fmt.Fprintf(&want, "  - %s (%s, %s)\n", m.Model, relations(m), m.Change)
		}
		if n := r.RemovedCount - len(r.Removed); n > 0 {
			fmt.Fprintf(&want, "  - … %d more (--ids 3 lists at most 3)\n", n)
		}
	}
	fmt.Fprintf(&want, "2 runs examined, 2 changed the family of %s\n", base)
	if len(changes.Runs) != 2 || !changes.Runs[0].Changed() || !changes.Runs[1].AllNew {
		t.Fatalf("the churn should change the family in run 2: %+v", changes.Runs)
	}
	if code, stdout, stderr := cli(t, "diff", "--db", db, "--since", "0", "--ids", "3", base); code != 0 || stdout != want.String() {
		t.Errorf("exit %d %s\n%s\nwant\n%s", code, stderr, stdout, want.String())
	}
	code, stdout, _ := cli(t, "diff", "--db", db, "--since", "2000-01-01", "--runs", "1", pattern)
	if code != 0 || !strings.Contains(stdout, "members of the ecosystem base-org-*/* added and removed since 2000-01-01") ||
		!strings.HasSuffix(stdout, "1 run examined, 1 changed the ecosystem base-org-*/*\nolder runs since 2000-01-01 were not examined (--runs 1; at most 200)\n") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = cli(t, "diff", "--db", db, "--since", "2", base)
	if code != 0 || stdout != fmt.Sprintf("members of the family of %s added and removed since 2, newest first (%d members now)\n0 runs examined, 0 changed the family of %s\n", base, changes.Members, base) {
		t.Errorf("since the last run: exit %d:\n%s", code, stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--db", db, "--since", "1"}, "hflineage: diff: --since needs a MODEL or a PATTERN such as 'meta-llama/*'"},
		{[]string{"diff", "--db", db, "--since", "", base}, "hflineage: diff: --since needs a run number or a date (RFC 3339 or YYYY-MM-DD)"},
		{[]string{"diff", "--db", db, "--since", "yesterday", base}, `hflineage: diff: --since "yesterday": give a run number (the runs after it) or a date (RFC 3339, or YYYY-MM-DD)`},
		{[]string{"diff", "--db", db, "--since", "2026-02-30", base}, `hflineage: diff: --since "2026-02-30": give a run number`},
		{[]string{"diff", "--db", db, "--since", "1", "--run", "2", base}, "hflineage: diff: --run and --since exclude each other (one run, or the runs since one)"},
		{[]string{"diff", "--db", db, "--runs", "5", base}, "hflineage: diff: --runs and --ids go with --since"},
		{[]string{"diff", "--db", db, "--since", "1", "--runs", "0", base}, "hflineage: diff: --runs 0: from 1 to 200"},
		{[]string{"diff", "--db", db, "--since", "1", "--ids", "1001", base}, "hflineage: diff: --ids 1001: from 1 to 1000"},
		{[]string{"diff", "--db", db, "--since", "1", "a b/*"}, `hflineage: diff: invalid model id "a b/*"`},
	} {
		code, stdout, stderr := cli(t, tc.args...)
		if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q %q; want exit 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if code, _, stderr := cli(t, "diff", "--db", db, "--since", "1", "nobody/*"); code != exitFailure || !strings.Contains(stderr, "no model in the database matches nobody/*") {
		t.Errorf("nobody/*: exit %d %q", code, stderr)
	}
}

func relations(m query.ChangedMember) string {
	var rels []string
	for _, r := range m.Relations {
		rels = append(rels, string(r))
	}
	return strings.Join(rels, ", ")
}

// TestDiffSinceViaServe: while serve holds the database, diff --since and
// diff of a pattern ask it over HTTP and print byte for byte what they
// print reading the database themselves; refusals are the same lines.
func TestDiffSinceViaServe(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 600, Seed: 4})
	hub := hubtest.NewServer(world)
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawlSetup(t, "--db", db, "--endpoint", hub.URL, "--all", "--full")
	world.Churn(60, 30, hubtest.GeneratedUntil.Add(24*time.Hour))
	crawlSetup(t, "--db", db, "--endpoint", hub.URL, "--all", "--full")
	commands := [][]string{
		{"diff", "--since", "0", "--ids", "3", "base-org-0/Base-Model-0"},
		{"diff", "--json", "--since", "2000-01-01", "--runs", "1", "base-org-*/*"},
		{"diff", "--json", "base-org-1/*,base-org-2/*"},
		{"diff", "--run", "1", "base-org-1/*"},
		{"diff", "base-org-0/Base-Model-0"},
		{"diff", "--since", "1", "nobody/*"},
		{"diff", "--since", "yesterday", "base-org-0/*"},
	}
	sameThroughServe(t, db, commands)
}
