package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// familyRelations computes spec's members from a world's declared lineage
// alone (as union does), each with the relations of its edges from a root
// or another member.
func familyRelations(l hubtest.Lineage, spec string) map[graph.ModelID][]graph.Relation {
	members, _ := union(l, spec)
	eco, _ := graph.ParseEcosystem(spec)
	isRoot := func(id graph.ModelID) bool {
		return eco.Match(id) && (l.Models[id] || l.Dangling[id])
	}
	rels := map[graph.ModelID][]graph.Relation{}
	for m := range members {
		rels[m] = []graph.Relation{}
	}
	for e := range l.Edges {
		if members[e.Child] && (members[e.Parent] || isRoot(e.Parent)) && !slices.Contains(rels[e.Child], e.Relation) {
			rels[e.Child] = append(rels[e.Child], e.Relation)
		}
	}
	for m := range rels {
		slices.SortFunc(rels[m], func(a, b graph.Relation) int {
			return slices.Index(graph.Relations, a) - slices.Index(graph.Relations, b)
		})
	}
	return rels
}

// wantRun is what a run between two lineages added to spec's family and
// removed from it, sorted by id.
func wantRun(before, after hubtest.Lineage, spec string) (added, removed []query.ChangedMember) {
	fb, fa := familyRelations(before, spec), familyRelations(after, spec)
	for m, rels := range fa {
		if _, was := fb[m]; !was {
			how := query.ChangeLinked
			if !before.Models[m] && after.Models[m] {
				how = query.ChangeNew
			}
			added = append(added, query.ChangedMember{Model: m, Relations: rels, Change: how})
		}
	}
	for m, rels := range fb {
		if _, is := fa[m]; !is {
			how := query.ChangeUnlinked
			if before.Models[m] && !after.Models[m] {
				how = query.ChangeDeleted
			}
			removed = append(removed, query.ChangedMember{Model: m, Relations: rels, Change: how})
		}
	}
	byID := func(a, b query.ChangedMember) int { return compareIDs(a.Model, b.Model) }
	slices.SortFunc(added, byID)
	slices.SortFunc(removed, byID)
	return added, removed
}

func compareIDs(a, b graph.ModelID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameMembers(a, b []query.ChangedMember) bool {
	return slices.EqualFunc(a, b, func(x, y query.ChangedMember) bool {
		return x.Model == y.Model && x.Change == y.Change && slices.Equal(x.Relations, y.Relations)
	})
}

// churnedHub crawls a generated Hub three times, changing it between the
// crawls (a day of churn, a model linked into base-org-0's family, a
// member unlinked from it), and returns the engine and the declared
// lineage after each crawl (runs 1, 2 and 3).
func churnedHub(t *testing.T) (*query.Engine, []hubtest.Lineage) {
	t.Helper()
	w := hubtest.Generate(hubtest.GenOptions{Models: 1500, Seed: 7})
	_, q, srv := crawlWorld(t, w)
	states := []hubtest.Lineage{w.Lineage()}

	w.Churn(200, 60, hubtest.GeneratedUntil.Add(24*time.Hour))
	// An outsider declares a member of base-org-0/Base-Model-0 its parent:
	// it and its descendants join the family.
	l := w.Lineage()
	inside, _ := union(l, "base-org-0/Base-Model-0")
	var members, outsiders []string
	for _, id := range w.IDs() {
		if inside[graph.ModelID(id)] {
			members = append(members, id)
		} else if graph.ModelID(id) != "base-org-0/Base-Model-0" {
			outsiders = append(outsiders, id)
		}
	}
	if len(members) < 3 || len(outsiders) == 0 {
		t.Fatalf("family of %d, %d outsiders", len(members), len(outsiders))
	}
	later := hubtest.GeneratedUntil.Add(48 * time.Hour)
	w.Update(outsiders[len(outsiders)/2], func(m *hubtest.Model) {
		m.Tags = append(m.Tags, hubtest.ParentTags(hubtest.Parent{ID: members[0], Relation: "merge"})...)
		m.LastModified = later
	})
	scan(t, q, srv)
	states = append(states, w.Lineage())

	// A member declares no parent any more: it leaves with what only it
	// brought in; another day of churn.
	w.Update(members[1], func(m *hubtest.Model) { m.Tags = nil; m.LastModified = later.Add(time.Hour) })
	w.Churn(100, 80, hubtest.GeneratedUntil.Add(72*time.Hour))
	scan(t, q, srv)
	states = append(states, w.Lineage())
	return q, states
}

func TestChangesEqualBruteForce(t *testing.T) {
	ctx := context.Background()
	q, states := churnedHub(t)
	empty := hubtest.Lineage{Models: map[graph.ModelID]bool{}, Edges: map[graph.Edge]bool{}}
	sawLinked, sawUnlinked, sawDeleted := false, false, false
	for _, spec := range []string{"base-org-0/Base-Model-0", "base-org-1/*", "base-org-0/*,base-org-2/Base-Model-2", "user1*/*", "base-org-*/*"} {
		t.Run(spec, func(t *testing.T) {
			c, err := q.Changes(ctx, query.ChangesOptions{Model: spec, IDs: query.MaxChangeIDs})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Runs) != 3 || c.More {
				t.Fatalf("%d runs (more %v); want 3", len(c.Runs), c.More)
			}
			if c.Ecosystem != query.IsEcosystem(spec) {
				t.Errorf("ecosystem %v", c.Ecosystem)
			}
			now, err := q.CountEcosystem(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if c.Members != now.Descendants.Total {
				t.Errorf("members now %d; count says %d", c.Members, now.Descendants.Total)
			}
			for k, r := range c.Runs { // newest first
				n := len(states) - 1 - k
				before := empty
				if n > 0 {
					before = states[n-1]
				}
				added, removed := wantRun(before, states[n], spec)
				if r.Run != uint64(n+1) || r.AllNew != (n == 0) || !r.Complete || r.Finished == "" || r.Truncated {
					t.Errorf("run %d: %+v", n+1, r)
				}
				if r.AddedCount != len(added) || !sameMembers(r.Added, added) {
					t.Errorf("run %d added %d: %v\nwant %d: %v", r.Run, r.AddedCount, r.Added, len(added), added)
				}
				if r.RemovedCount != len(removed) || !sameMembers(r.Removed, removed) {
					t.Errorf("run %d removed %d: %v\nwant %d: %v", r.Run, r.RemovedCount, r.Removed, len(removed), removed)
				}
				if want := len(familyRelations(states[n], spec)); r.Members != want {
					t.Errorf("run %d: %d members after; want %d", r.Run, r.Members, want)
				}
				for _, m := range r.Added {
					sawLinked = sawLinked || m.Change == query.ChangeLinked
				}
				for _, m := range r.Removed {
					sawUnlinked = sawUnlinked || m.Change == query.ChangeUnlinked
					sawDeleted = sawDeleted || m.Change == query.ChangeDeleted
				}
			}
		})
	}
	if !sawLinked || !sawUnlinked || !sawDeleted {
		t.Errorf("the churn showed linked %v, unlinked %v, deleted %v: every kind should be seen", sawLinked, sawUnlinked, sawDeleted)
	}
}

func TestChangesBounds(t *testing.T) {
	ctx := context.Background()
	q, _ := churnedHub(t)
	const spec = "base-org-*/*"
	all, err := q.Changes(ctx, query.ChangesOptions{Model: spec, IDs: query.MaxChangeIDs})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := q.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(c query.Changes) []uint64 {
		var out []uint64
		for _, r := range c.Runs {
			out = append(out, r.Run)
		}
		return out
	}
	finished := func(id uint64) time.Time {
		for _, r := range runs {
			if r.ID == id {
				return r.Finished
			}
		}
		t.Fatalf("no run %d", id)
		return time.Time{}
	}
	for _, tc := range []struct {
		name string
		o    query.ChangesOptions
		want []uint64
		more bool
	}{
		{"since run 1", query.ChangesOptions{Since: "1"}, []uint64{3, 2}, false},
		{"since run 0", query.ChangesOptions{Since: "0"}, []uint64{3, 2, 1}, false},
		{"since the last run", query.ChangesOptions{Since: "3"}, nil, false},
		{"since a later run", query.ChangesOptions{Since: "99"}, nil, false},
		{"one run", query.ChangesOptions{Runs: 1}, []uint64{3}, true},
		{"two runs since run 0", query.ChangesOptions{Runs: 2, Since: "0"}, []uint64{3, 2}, true},
		{"since a day long ago", query.ChangesOptions{Since: "2000-01-01"}, []uint64{3, 2, 1}, false},
		{"since run 2's end", query.ChangesOptions{Since: finished(2).Format(time.RFC3339Nano)}, []uint64{3, 2}, false},
		{"since after the last run", query.ChangesOptions{Since: finished(3).Add(time.Hour).Format(time.RFC3339)}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Model = spec
			tc.o.IDs = query.MaxChangeIDs
			c, err := q.Changes(ctx, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(c), tc.want) || c.More != tc.more {
				t.Errorf("runs %v more %v; want %v more %v", ids(c), c.More, tc.want, tc.more)
			}
			for _, r := range c.Runs { // the same run, however it is reached
				whole := all.Runs[3-r.Run]
				if r.AddedCount != whole.AddedCount || !sameMembers(r.Added, whole.Added) || !sameMembers(r.Removed, whole.Removed) {
					t.Errorf("run %d differs from the whole answer's", r.Run)
				}
			}
		})
	}

	// A short list says so; the counts stay whole.
	c, err := q.Changes(ctx, query.ChangesOptions{Model: spec, IDs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range c.Runs {
		whole := all.Runs[k]
		if r.AddedCount != whole.AddedCount || r.RemovedCount != whole.RemovedCount || len(r.Added) > 1 || len(r.Removed) > 1 ||
			r.Truncated != (whole.AddedCount > 1 || whole.RemovedCount > 1) {
			t.Errorf("run %d with one id: %+v", r.Run, r)
		}
		if len(r.Added) == 1 && r.Added[0].Model != whole.Added[0].Model {
			t.Errorf("run %d: %s listed; want the first by id, %s", r.Run, r.Added[0].Model, whole.Added[0].Model)
		}
	}

	for _, tc := range []struct {
		o    query.ChangesOptions
		want error
	}{
		{query.ChangesOptions{Model: spec, Since: "yesterday"}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, Since: "-1"}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, Since: "1.5"}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, Since: "2026-13-01"}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, Since: "2026-12-01T10:00"}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, Runs: -1}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, Runs: query.MaxChangeRuns + 1}, query.ErrInvalid},
		{query.ChangesOptions{Model: spec, IDs: query.MaxChangeIDs + 1}, query.ErrInvalid},
		{query.ChangesOptions{}, query.ErrInvalid},
		{query.ChangesOptions{Model: "no/such-model"}, query.ErrUnknownModel},
		{query.ChangesOptions{Model: "a b"}, query.ErrInvalid},
		{query.ChangesOptions{Model: "nobody/*"}, query.ErrNoMatch},
	} {
		if _, err := q.Changes(ctx, tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v; want %v", tc.o, err, tc.want)
		}
	}
}

// Diff of an ecosystem is the union of its roots' diffs.
func TestDiffEcosystemIsTheUnionOfItsRoots(t *testing.T) {
	ctx := context.Background()
	q, _ := churnedHub(t)
	roots := []string{"base-org-0/Base-Model-0", "base-org-1/Base-Model-1"}
	for _, run := range []uint64{0, 2} {
		d, err := q.DiffEcosystem(ctx, query.DiffOptions{Run: run, Model: roots[0] + "," + roots[1]})
		if err != nil {
			t.Fatal(err)
		}
		var want query.Diff
		for _, r := range roots {
			one, err := q.Diff(ctx, query.DiffOptions{Run: run, Model: r})
			if err != nil {
				t.Fatal(err)
			}
			want.ModelsAdded = append(want.ModelsAdded, one.ModelsAdded...)
			want.ModelsRemoved = append(want.ModelsRemoved, one.ModelsRemoved...)
			want.EdgesAdded = append(want.EdgesAdded, one.EdgesAdded...)
			want.EdgesRemoved = append(want.EdgesRemoved, one.EdgesRemoved...)
		}
		set := func(v any) []string {
			b, _ := json.Marshal(v)
			var items []json.RawMessage
			json.Unmarshal(b, &items)
			var out []string
			for _, it := range items {
				out = append(out, string(it))
			}
			slices.Sort(out)
			return slices.Compact(out)
		}
		if d.Model != graph.ModelID(roots[0]+","+roots[1]) || (run != 0 && d.Run != run) ||
			!slices.Equal(set(d.ModelsAdded), set(want.ModelsAdded)) || !slices.Equal(set(d.ModelsRemoved), set(want.ModelsRemoved)) ||
			!slices.Equal(set(d.EdgesAdded), set(want.EdgesAdded)) || !slices.Equal(set(d.EdgesRemoved), set(want.EdgesRemoved)) {
			t.Errorf("run %d: %+v\nwant the union %+v", run, d, want)
		}
		if len(d.ModelsAdded)+len(d.ModelsRemoved)+len(d.EdgesAdded)+len(d.EdgesRemoved) == 0 {
			t.Errorf("run %d changed nothing of the two families", run)
		}
	}
	if _, err := q.DiffEcosystem(ctx, query.DiffOptions{Model: "nobody/*"}); !errors.Is(err, query.ErrNoMatch) {
		t.Errorf("nobody/*: %v", err)
	}
}
