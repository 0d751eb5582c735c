// Package query answers hflineage's questions of a stored lineage graph:
// how big a model's family is (Count), where a model comes from
// (Ancestors), who is in a family (Family), what the ecosystem looks like
// (Stats), how a family grew (History), what a run changed (Diff) and the
// graph itself in every export format (Export).
//
// It is the one engine behind every face: the CLI parses flags, calls an
// Engine and formats its typed answers; the server does the same over
// HTTP. Answers carry the JSON keys of the CLI's --json output, so that one
// parser reads both. Every method takes a context and stops when it ends.
package query

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/live"
	"github.com/hflineage/hflineage/store"
)

// Sentinel errors.
var (
	// ErrInvalid marks a question asked wrongly: a malformed model id, an
	// unknown format or relation, contradictory options. Its message says
	// what to ask instead.
	ErrInvalid = errors.New("invalid question")
	// ErrUnknownModel: the model is not in the database.
	ErrUnknownModel = errors.New("model not in the database")
	// ErrNoRuns: the database has recorded no crawl yet.
	ErrNoRuns = errors.New("no runs in the database yet (run hflineage crawl first)")
)

// invalidf returns an ErrInvalid with a message of its own.
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// Engine answers questions of one store. It is safe for concurrent use.
type Engine struct {
	st     *store.Store
	static staticGraph               // New's: the graph as stored, loaded when first asked
	live   atomic.Pointer[liveState] // set by Open (or at a first read, deferred): the graph kept in memory and its views
	owns   bool                      // made by OpenDB: Close closes the store
	// deferred: the live graph is made at the first read that needs it
	// (OpenOptions.LiveOnRead); nil otherwise.
	deferred *deferredLive
}

// New returns an Engine reading st. The caller keeps st open while the
// Engine is used, and closes it.
func New(st *store.Store) *Engine { return &Engine{st: st} }

// Ready reports whether the database answers (for a health check).
func (e *Engine) Ready() error {
	_, err := e.st.DataVersion()
	return err
}

// Resolve finds a model named by a user (any letter case, or an old name a
// crawl saw renamed) and returns its canonical id. A malformed name is
// ErrInvalid, one the database does not hold ErrUnknownModel. A name that
// breaks the Hub's rules for ids today is still found when the database
// holds it: crawls store ids listed under older rules (old--org/legacy..name,
// see graph.ParseListedID); otherwise it is ErrInvalid, saying which rule.
func (e *Engine) Resolve(ctx context.Context, name string) (graph.ModelID, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	_, strictErr := graph.ParseModelID(name)
	if strictErr != nil {
		if _, err := graph.ParseListedID(name); err != nil {
			return "", invalidf("%v", strictErr)
		}
	}
	if s := e.Snapshot(); s != nil {
		if _, ok := s.Index(graph.ModelID(name)); ok {
			return graph.ModelID(name), nil // the canonical id itself
		}
	}
	id, err := e.st.Resolve(name)
	if errors.Is(err, store.ErrNotFound) && strictErr != nil {
		return "", invalidf("%v", strictErr) // neither valid nor held
	}
	if errors.Is(err, store.ErrNotFound) {
		u := &unknownModelError{name: name}
		// A crawl that asked the Hub for it and was told it has none: say
		// so rather than suggest the crawl again.
		if m, ok, merr := e.st.MissingAnswer(name); merr == nil && ok {
			u.missing = &m
		}
		return "", u
	}
	return id, err
}

type unknownModelError struct {
	name    string
	missing *store.Missing // the Hub's recorded 401/404 to a lookup, if any
}

func (e *unknownModelError) Error() string {
	if m := e.missing; m != nil {
		return fmt.Sprintf("model %s is not in the database: the Hub answered %d to a crawl's lookup of it on %s (missing, private or gated)",
			e.name, m.Status, m.At.Format("2006-01-02"))
	}
	return fmt.Sprintf("model %s is not in the database (crawl it first: hflineage crawl %s)", e.name, e.name)
}
func (e *unknownModelError) Is(target error) bool { return target == ErrUnknownModel }

// resolveOptional resolves name, or returns "" for "".
func (e *Engine) resolveOptional(ctx context.Context, name string) (graph.ModelID, error) {
	if name == "" {
		return "", ctx.Err()
	}
	return e.Resolve(ctx, name)
}

// Incomplete describes a crawl that did not complete and so leaves what the
// database says partial.
type Incomplete = graph.Incomplete

// incomplete says whether the last crawl of id's family (of the whole
// database when id is "") left it partial; nil when it did not.
func (e *Engine) incomplete(ctx context.Context, id graph.ModelID) (*Incomplete, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var complete bool
	var run uint64
	var err error
	if id == "" {
		complete, run, err = e.st.DatabaseComplete(ctx)
	} else {
		complete, run, err = e.st.FamilyComplete(ctx, id)
	}
	if err != nil || complete {
		return nil, err
	}
	return e.unfinished(id, run), nil
}

// snapshotAndIncomplete returns the live graph's snapshot (nil for an
// Engine made by New) and whether id's family is complete, read at one
// data version: a commit landing between the two reads (a crawl's last
// page and its end, say) would pair the numbers of one with the verdict of
// the other, so the reads are taken again until the store's data version
// is the snapshot's. The live graph follows a commit on the committing
// goroutine, right after it: a retry waits that long, not for the crawl.
func (e *Engine) snapshotAndIncomplete(ctx context.Context, id graph.ModelID) (*live.Snapshot, *Incomplete, error) {
	for attempt := 0; ; attempt++ {
		s := e.Snapshot()
		if s != nil && testHookAfterSnapshot != nil {
			testHookAfterSnapshot()
		}
		in, err := e.incomplete(ctx, id)
		if err != nil || s == nil {
			return s, in, err
		}
		v, err := e.st.DataVersion()
		if err != nil {
			return nil, nil, err
		}
		if v == s.Version() || attempt == 100 {
			return s, in, nil
		}
		runtime.Gosched()
	}
}

// testHookAfterSnapshot, when set by a test, runs between taking the
// snapshot and reading the family's completeness.
var testHookAfterSnapshot func()

// unfinished describes run, a crawl of id's family (of the whole
// database, or an ecosystem, for "") that did not complete, with the
// command that finishes it when the run can be read.
func (e *Engine) unfinished(id graph.ModelID, run uint64) *Incomplete {
	in := &Incomplete{Model: id, Run: run}
	if r, err := e.st.GetRun(run); err == nil {
		in.Command = CrawlCommand(r)
	}
	return in
}

// CrawlCommand is the command line that repeats run's crawl.
func CrawlCommand(r *store.Run) string {
	if r.Mode == "scan" {
		if r.Full {
			return "hflineage crawl --all --full"
		}
		return "hflineage crawl --all"
	}
	return strings.TrimSpace("hflineage crawl " + strings.Join(r.Seeds, " "))
}

// Count is the size of a family: count --json. Its popularity is its
// descendants' (downloads, likes and all-time downloads summed; the
// model's own are not in it).
type Count struct {
	graph.FamilyCount
	// Complete is false when the last crawl of the family did not complete.
	Complete bool `json:"complete"`
	// Incomplete says which crawl left the numbers partial (nil if none).
	Incomplete *Incomplete `json:"incomplete,omitempty"`
	graph.Popularity
}

// Count counts the derivatives of the model named: direct children and all
// descendants by relation, and the family's depth; and sums their
// popularity.
func (e *Engine) Count(ctx context.Context, name string) (Count, error) {
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return Count{}, err
	}
	snap, in, err := e.snapshotAndIncomplete(ctx, id)
	if err != nil {
		return Count{}, err
	}
	var c graph.FamilyCount
	var p graph.Popularity
	if snap != nil {
		c, p = e.live.Load().counts.count(snap, id)
	} else if c, p, err = e.st.FamilyPopularity(ctx, id); err != nil {
		return Count{}, err
	}
	return Count{FamilyCount: c, Popularity: p, Complete: in == nil, Incomplete: in}, ctx.Err()
}

// Edge is a parent→child edge as the JSON answers spell it.
type Edge struct {
	Parent   graph.ModelID  `json:"parent"`
	Child    graph.ModelID  `json:"child"`
	Relation graph.Relation `json:"relation"`
}

func edgesOf(es []graph.Edge) []Edge {
	out := make([]Edge, 0, len(es))
	for _, e := range es {
		out = append(out, Edge{e.Parent, e.Child, e.Relation})
	}
	return out
}

// Ancestor is one ancestor and its distance (1: a parent).
type Ancestor struct {
	Model    graph.ModelID `json:"model"`
	Distance int           `json:"distance"`
}

// Ancestry is where a model comes from: ancestors --json.
type Ancestry struct {
	Model     graph.ModelID   `json:"model"`
	Ancestors []Ancestor      `json:"ancestors"` // nearest first
	Roots     []graph.ModelID `json:"roots"`     // ancestors that declare no parent
	Edges     []Edge          `json:"edges"`
	// Complete is false when the last crawl covering the model did not
	// complete.
	Complete   bool        `json:"complete"`
	Incomplete *Incomplete `json:"incomplete,omitempty"`
}

// Ancestors lists the ancestors of the model named, nearest first, up to
// its roots, with every edge between them.
func (e *Engine) Ancestors(ctx context.Context, name string) (Ancestry, error) {
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return Ancestry{}, err
	}
	snap, in, err := e.snapshotAndIncomplete(ctx, id)
	if err != nil {
		return Ancestry{}, err
	}
	var a *graph.Ancestry
	if snap != nil {
		a, err = graph.LoadAncestors(ctx, snap, id)
	} else {
		err = e.st.View(ctx, func(r *store.Reader) error {
			a, err = graph.LoadAncestors(ctx, r, id)
			return err
		})
	}
	if err != nil {
		return Ancestry{}, err
	}
	out := Ancestry{Model: id, Ancestors: []Ancestor{}, Roots: []graph.ModelID{}, Edges: edgesOf(a.Edges), Complete: in == nil, Incomplete: in}
	for _, anc := range a.Ancestors() {
		out.Ancestors = append(out.Ancestors, Ancestor{Model: anc, Distance: a.Distance[anc]})
	}
	out.Roots = append(out.Roots, a.Roots...)
	return out, ctx.Err()
}

// Family returns the family of the model named: it, its descendants at most
// depth levels below it (-1: all), and the edges between them.
func (e *Engine) Family(ctx context.Context, name string, depth int) (*graph.Family, error) {
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	return e.family(ctx, id, depth)
}

// family loads id's family: from the live graph when there is one.
func (e *Engine) family(ctx context.Context, id graph.ModelID, depth int) (*graph.Family, error) {
	if s := e.Snapshot(); s != nil {
		return s.Family(ctx, id, depth)
	}
	return e.st.Family(ctx, id, depth)
}

// StatsOptions choose what Stats describes.
type StatsOptions struct {
	Top  int    // length of the rankings (default 10)
	Root string // describe only this model's family ("" : everything)
}

// Stats describes the stored ecosystem, or one family of it.
func (e *Engine) Stats(ctx context.Context, o StatsOptions) (graph.Stats, error) {
	if o.Top == 0 {
		o.Top = 10
	}
	if o.Top < 1 {
		return graph.Stats{}, invalidf("stats: top must be at least 1")
	}
	root, err := e.resolveOptional(ctx, o.Root)
	if err != nil {
		return graph.Stats{}, err
	}
	// From a view: a live Engine's is refreshed in the background, never
	// computed again here because data changed.
	v, err := e.view(ctx)
	if err != nil {
		return graph.Stats{}, err
	}
	st, err := v.statsOf(ctx, e.st, statsKey{top: o.Top, root: root})
	if err != nil {
		return st, err
	}
	if st.Incomplete, err = e.incomplete(ctx, root); err != nil {
		return st, err
	}
	complete := st.Incomplete == nil
	st.Complete = &complete
	l := e.live.Load()
	if l == nil {
		return st, nil
	}
	st.DataVersion = v.version
	if cur := l.g.Current().Version(); cur > v.version {
		// The figures are of an earlier version: of a crawl then under
		// way, unless the view knows the last crawl had completed then.
		st.VersionsBehind = cur - v.version
		complete = complete && v.complete
	}
	return st, nil
}

// HistoryRun is a family's size after one run.
type HistoryRun struct {
	Run         uint64               `json:"run"`
	Finished    string               `json:"finished"` // RFC 3339, UTC (the start of an unfinished run)
	Mode        string               `json:"mode"`
	Descendants graph.RelationCounts `json:"descendants"`
}

// History is how a family grew: history --json.
type History struct {
	Model graph.ModelID `json:"model"`
	Runs  []HistoryRun  `json:"runs"` // oldest first
}

// History lists the family's size after each run that recorded it.
func (e *Engine) History(ctx context.Context, name string) (History, error) {
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return History{}, err
	}
	h := History{Model: id, Runs: []HistoryRun{}}
	snaps, err := e.st.History(ctx, id)
	if err != nil {
		return h, err
	}
	for _, sn := range snaps {
		if err := ctx.Err(); err != nil {
			return h, err
		}
		run, err := e.st.GetRun(sn.Run)
		if err != nil {
			return h, err
		}
		finished := run.Ended()
		h.Runs = append(h.Runs, HistoryRun{Run: sn.Run, Finished: finished.UTC().Format(time.RFC3339), Mode: run.Mode, Descendants: sn.Descendants})
	}
	return h, nil
}

// DiffOptions choose the run and the family a Diff shows.
type DiffOptions struct {
	Run   uint64 // 0: the last run
	Model string // "": the whole database
}

// Diff is what one run added and removed: diff --json.
type Diff struct {
	Run           uint64          `json:"run"`
	Mode          string          `json:"mode"`
	Finished      string          `json:"finished,omitempty"`
	Complete      bool            `json:"complete"`
	Model         graph.ModelID   `json:"model,omitempty"`
	AllNew        bool            `json:"all_new"` // the run started from an empty database: everything is new, nothing logged
	ModelsAdded   []graph.ModelID `json:"models_added"`
	ModelsRemoved []graph.ModelID `json:"models_removed"`
	EdgesAdded    []Edge          `json:"edges_added"`
	EdgesRemoved  []Edge          `json:"edges_removed"`
	// Of the run itself, for a reader's summary.
	Full      bool  `json:"full,omitempty"`
	RunModels int64 `json:"run_models_added"` // models the run added (all it stored when AllNew)
	RunEdges  int64 `json:"run_edges_added"`  // edges the run added
}

// Diff lists what a run added and removed; with a model, only what touches
// its family (its current members, edges out of them, and models removed
// with such an edge).
func (e *Engine) Diff(ctx context.Context, o DiffOptions) (Diff, error) {
	if o.Model != "" {
		// A listed id (old--org/legacy..name) is a name the database may
		// hold; Resolve applies the strict rule to one it does not.
		if _, err := graph.ParseListedID(o.Model); err != nil {
			return Diff{}, invalidf("%v", err)
		}
	}
	var run *store.Run
	var err error
	if o.Run > 0 {
		run, err = e.st.GetRun(o.Run)
	} else {
		run, err = e.st.LastRun()
		if err == nil && run == nil {
			return Diff{}, ErrNoRuns
		}
	}
	if err != nil {
		return Diff{}, err
	}
	out := Diff{Run: run.ID, Mode: run.Mode, Complete: run.Complete, AllNew: !run.LogChanges, Full: run.Full,
		RunModels: run.ModelsAdded, RunEdges: run.EdgesAdded,
		ModelsAdded: []graph.ModelID{}, ModelsRemoved: []graph.ModelID{}, EdgesAdded: []Edge{}, EdgesRemoved: []Edge{}}
	if !run.Finished.IsZero() {
		out.Finished = run.Finished.UTC().Format(time.RFC3339)
	}
	var keepModel func(graph.ModelID) bool
	var keepEdge func(graph.Edge) bool
	if o.Model != "" {
		id, err := e.Resolve(ctx, o.Model)
		if err != nil {
			return Diff{}, err
		}
		out.Model = id
		f, err := e.family(ctx, id, -1)
		if err != nil {
			return Diff{}, err
		}
		members := make(map[graph.ModelID]bool, len(f.Members))
		for _, m := range f.Members {
			members[m] = true
		}
		removedChild := map[graph.ModelID]bool{}
		keepEdge = func(e graph.Edge) bool {
			if members[e.Parent] {
				removedChild[e.Child] = true
				return true
			}
			return false
		}
		keepModel = func(m graph.ModelID) bool { return members[m] || removedChild[m] }
		// Edges first, so that models removed with their edge are kept.
		if _, err := e.st.Changes(ctx, run.ID, func(graph.ModelID) bool { return false }, keepEdge); err != nil {
			return Diff{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Diff{}, err
	}
	ch, err := e.st.Changes(ctx, run.ID, keepModel, keepEdge)
	if err != nil {
		return Diff{}, err
	}
	out.ModelsAdded = append(out.ModelsAdded, ch.ModelsAdded...)
	out.ModelsRemoved = append(out.ModelsRemoved, ch.ModelsRemoved...)
	out.EdgesAdded = append(out.EdgesAdded, edgesOf(ch.EdgesAdded)...)
	out.EdgesRemoved = append(out.EdgesRemoved, edgesOf(ch.EdgesRemoved)...)
	return out, ctx.Err()
}
