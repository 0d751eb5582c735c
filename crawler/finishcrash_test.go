package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// A crash between any two steps of finishing a crawl resumes correctly.
//
// Finishing is: the last removals (a walk's members the Hub no longer has,
// a full scan's unseen models), then one commit that writes the snapshots
// (and a scan's record), marks the run finished (complete, or not for a walk
// that stored nothing) and ends the crawl (job, tally, queue, seen set);
// then the sink drops what that commit left of a large queue; then Tidy.
// For each boundary the crawl is crashed there — its sink failing from then
// on, the store closed as it is on disk; or, in the kill mode, the test
// binary running the crawl killed with SIGKILL — and the store is reopened
// and the same crawl run again. Right after the crash either the run is
// finished and no job is live, or the job is live and the run not finished;
// after the second run the database equals a clean crawl's: the same models
// and edges, the run recorded once with the same totals (or, when the first
// one had finished, a second run that changed nothing), no job, no tally,
// no queue or seen set left, the same snapshots and last scan.

// finishPoint is a step boundary of finishing a crawl.
type finishPoint int

const (
	afterRemovals      finishPoint = iota + 1 // the last removals committed, before the finishing commit
	inFinishingCommit                         // the finishing commit written up to its end, never committed
	afterFinishing                            // the finishing commit committed
	afterFinishingLeft                        // committed, leaving a queue and seen set (as a large one is left)
	afterClear                                // the sink's ClearCrawl after it done, before Tidy
)

var finishPoints = []struct {
	name string
	at   finishPoint
	live bool // the crawl's job is live after the crash
}{
	{"after the removals", afterRemovals, true},
	{"in the finishing commit", inFinishingCommit, true},
	{"after the finishing commit", afterFinishing, false},
	{"after the finishing commit, a queue left", afterFinishingLeft, false},
	{"after clearing", afterClear, false},
}

// finishScenario is a crawl to crash, after the crawls before it and a
// change on the Hub.
type finishScenario struct {
	name     string
	world    func() *hubtest.World
	before   []crawler.Request // crawled (to the end) before the Hub changes
	change   func(*hubtest.World)
	req      crawler.Request // the crawl crashed and run again
	removes  bool            // it removes models (afterRemovals applies)
	rerunSum bool            // run again once finished, it counts the same models and edges
	noRun    bool            // it fetches nothing: finished, it leaves no run recorded
}

func finishScenarios() []finishScenario {
	walk := func(seeds ...graph.ModelID) crawler.Request {
		return crawler.Request{Seeds: seeds, Mode: "walk", Depth: -1}
	}
	generated := func() *hubtest.World { return hubtest.Generate(hubtest.GenOptions{Models: 800, Seed: 7}) }
	churn := func(w *hubtest.World) { w.Churn(40, 20, hubtest.GeneratedUntil.Add(24*time.Hour)) }
	return []finishScenario{
		{
			name: "first walk, a seed missing", world: smallWorld,
			req:      walk("meta-llama/Llama-3.1-8B", "nobody/missing"),
			rerunSum: true,
		},
		{
			name: "re-walk that removes", world: smallWorld,
			before: []crawler.Request{walk("meta-llama/Llama-3.1-8B")},
			change: func(w *hubtest.World) {
				w.Remove("c/gguf")
				w.Remove("f/cycle1") // with f/cycle2, a cycle: one stays a stub until both are gone
				w.Remove("f/cycle2")
				w.Add(hubtest.Model{ID: "j/new", Tags: hubtest.ParentTags(pt("a/ft2", "finetune"))})
			},
			req:     walk("meta-llama/Llama-3.1-8B"),
			removes: true, rerunSum: true,
		},
		{
			name: "walk that stores nothing", world: smallWorld,
			req:      walk("nobody/missing", "nobody/else"),
			rerunSum: true, noRun: true,
		},
		{
			name: "first scan (bulk)", world: generated,
			req:      crawler.Request{All: true},
			rerunSum: false, // run again, it is incremental
		},
		{
			name: "incremental scan", world: generated,
			before: []crawler.Request{{All: true}}, change: churn,
			req: crawler.Request{All: true},
		},
		{
			name: "full scan that removes", world: generated,
			before: []crawler.Request{{All: true}}, change: churn,
			req:     crawler.Request{All: true, Full: true},
			removes: true, rerunSum: true,
		},
	}
}

// finishResult is what a crawl leaves, to compare with a clean crawl's.
type finishResult struct {
	stats    crawler.Stats
	err      error
	data     string // models and edges
	runs     []store.Run
	history  map[graph.ModelID][]store.Snapshot
	last     store.LastScan
	hasLast  bool
	modelIDs []graph.ModelID
}

func finishConfig(endpoint string) crawler.Config {
	return crawler.Config{Endpoint: endpoint, PageSize: 200, MinWait: time.Millisecond, MaxWait: 10 * time.Second}
}

func openDisk(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{NoSync: true}) // a process crash loses no commit
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func crawlTo(t *testing.T, sink crawler.Sink, endpoint string, req crawler.Request) (crawler.Stats, error) {
	t.Helper()
	w, err := crawler.NewWalker(finishConfig(endpoint), sink)
	if err != nil {
		t.Fatal(err)
	}
	return w.Crawl(context.Background(), req)
}

// prepareDir crawls sc.before into a new database in dir.
func prepareDir(t *testing.T, dir, endpoint string, sc finishScenario) {
	t.Helper()
	st := openDisk(t, dir)
	defer st.Close()
	for _, req := range sc.before {
		if _, err := crawlTo(t, crawlsink.New(st), endpoint, req); err != nil {
			t.Fatalf("crawl before: %v", err)
		}
	}
}

// copyDir copies the closed database in from to a new directory to.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readResult(t *testing.T, st *store.Store, stats crawler.Stats, err error) finishResult {
	t.Helper()
	ctx := context.Background()
	r := finishResult{stats: stats, err: err, history: map[graph.ModelID][]store.Snapshot{}}
	var b strings.Builder
	verr := st.View(ctx, func(rd *store.Reader) error {
		if err := rd.Models(func(m graph.Model) error {
			r.modelIDs = append(r.modelIDs, m.ID)
			fmt.Fprintf(&b, "%+v\n", m)
			return nil
		}); err != nil {
			return err
		}
		return rd.Edges(func(e graph.Edge) error { fmt.Fprintf(&b, "%v\n", e); return nil })
	})
	if verr != nil {
		t.Fatal(verr)
	}
	r.data = b.String()
	if r.runs, err = st.Runs(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range r.modelIDs {
		h, err := st.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) > 0 {
			r.history[id] = h
		}
	}
	if r.last, r.hasLast, err = st.LastScan(); err != nil {
		t.Fatal(err)
	}
	return r
}

// runTotals is what must match between a run and a clean crawl's.
type runTotals struct {
	Mode                                                 string
	Full, Complete, Finished, LogChanges, Bulk           bool
	ModelsAdded, ModelsRemoved, EdgesAdded, EdgesRemoved int64
	Watermark                                            time.Time
}

func totalsOf(r store.Run) runTotals {
	return runTotals{r.Mode, r.Full, r.Complete, !r.Finished.IsZero(), r.LogChanges, r.Bulk,
		r.ModelsAdded, r.ModelsRemoved, r.EdgesAdded, r.EdgesRemoved, r.Watermark}
}

// sameErr reports whether two crawls failed alike.
func sameErr(a, b error) bool {
	var sa, sb *crawler.SeedError
	return (a == nil) == (b == nil) && errors.Is(a, crawler.ErrNothingCrawled) == errors.Is(b, crawler.ErrNothingCrawled) &&
		errors.As(a, &sa) == errors.As(b, &sb)
}

// errCrash is what the sink answers from the crash on.
var errCrash = errors.New("crashed here (test)")

// crashSink is a crawler.Sink that crashes at a step boundary of finishing
// a crawl: from then on it writes nothing (or, kill, the process dies).
type crashSink struct {
	crawler.Sink
	st       *store.Store
	at       finishPoint
	kill     bool
	crashed  atomic.Bool
	finished atomic.Bool // the finishing commit is written
}

func (s *crashSink) crash() error {
	if s.kill {
		p, err := os.FindProcess(os.Getpid())
		if err == nil {
			err = p.Kill()
		}
		if err != nil {
			panic(err)
		}
		select {} // until the signal lands
	}
	s.crashed.Store(true)
	return errCrash
}

// leaveQueue writes what a finished crawl's last commit leaves of a queue
// and seen set too large for it: keys of no crawl, which a crawl that read
// them would take for its own (members seen, a model queued).
func (s *crashSink) leaveQueue(ids []graph.ModelID) error {
	return s.st.Update(func(tx *store.Tx) error {
		for _, id := range ids {
			if _, err := tx.MarkSeen(id, 1); err != nil {
				return err
			}
		}
		_, err := tx.Enqueue("stale/queued", 0, "http://127.0.0.1:1/never")
		return err
	})
}

func (s *crashSink) Commit(run *crawler.Run, fn func(crawler.Tx) error) error {
	if s.crashed.Load() {
		return errCrash
	}
	var wt *watchTx
	err := s.Sink.Commit(run, func(tx crawler.Tx) error {
		wt = &watchTx{Tx: tx}
		if err := fn(wt); err != nil {
			return err
		}
		if wt.cleared && s.at == inFinishingCommit {
			return s.crash() // before the commit: nothing of it is written
		}
		return nil
	})
	if err != nil {
		return err
	}
	if wt.cleared {
		s.finished.Store(true)
	}
	switch {
	case wt.cleared && s.at == afterFinishing:
		return s.crash()
	case wt.cleared && s.at == afterFinishingLeft:
		var ids []graph.ModelID
		err := s.st.View(context.Background(), func(r *store.Reader) error {
			return r.ModelIDs(func(id graph.ModelID) error { ids = append(ids, id); return nil })
		})
		if err == nil {
			err = s.leaveQueue(ids)
		}
		if err != nil {
			return err
		}
		return s.crash()
	case wt.removed && s.at == afterRemovals:
		return s.crash()
	}
	return nil
}

func (s *crashSink) RemoveUnseen(ctx context.Context, run *crawler.Run) error {
	if s.crashed.Load() {
		return errCrash
	}
	if err := s.Sink.RemoveUnseen(ctx, run); err != nil {
		return err
	}
	if s.at == afterRemovals {
		return s.crash()
	}
	return nil
}

func (s *crashSink) ClearCrawl() error {
	if s.crashed.Load() {
		return errCrash
	}
	if err := s.Sink.ClearCrawl(); err != nil {
		return err
	}
	if s.at == afterClear && s.finished.Load() { // the finished crawl's, not prepare's
		return s.crash()
	}
	return nil
}

func (s *crashSink) NewRun(mode string, full bool, seeds []string) (*crawler.Run, error) {
	if s.crashed.Load() {
		return nil, errCrash
	}
	return s.Sink.NewRun(mode, full, seeds)
}

func (s *crashSink) Tidy(ctx context.Context, withGraph bool) error {
	if s.crashed.Load() {
		return errCrash
	}
	return s.Sink.Tidy(ctx, withGraph)
}

// watchTx notes the finishing commit (it ends the crawl) and removals.
type watchTx struct {
	crawler.Tx
	cleared, removed bool
}

func (t *watchTx) ClearCrawl() error { t.cleared = true; return t.Tx.ClearCrawl() }

func (t *watchTx) RemoveGone(id graph.ModelID) error { t.removed = true; return t.Tx.RemoveGone(id) }

func (t *watchTx) MarkMissing(name string, status int) error {
	if r, ok := t.Tx.(crawler.MissingRecorder); ok {
		return r.MarkMissing(name, status)
	}
	return nil
}

func (t *watchTx) DiscardRun() (bool, error) {
	if d, ok := t.Tx.(crawler.RunDiscarder); ok {
		return d.DiscardRun()
	}
	return false, nil
}

func TestFinishCrashResumes(t *testing.T) {
	modes := []string{"fail"}
	if runtime.GOOS != "windows" {
		modes = append(modes, "kill")
	}
	for si, sc := range finishScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			world := sc.world()
			srv := hubtest.NewServer(world)
			defer srv.Close()
			root := t.TempDir()
			dir := func(name string) string {
				return filepath.Join(root, strings.NewReplacer(" ", "-", ",", "").Replace(name))
			}
			// Every database holds the crawls before (copies of one);
			// then the Hub changes.
			prepareDir(t, dir("clean"), srv.URL, sc)
			for _, mode := range modes {
				for _, p := range finishPoints {
					copyDir(t, dir("clean"), dir(mode+" "+p.name))
				}
			}
			if sc.change != nil {
				sc.change(world)
			}
			st := openDisk(t, dir("clean"))
			stats, err := crawlTo(t, crawlsink.New(st), srv.URL, sc.req)
			clean := readResult(t, st, stats, err)
			st.Close()
			if (len(clean.runs) == 0) != sc.noRun {
				t.Fatalf("the clean crawl recorded %d runs", len(clean.runs))
			}
			var cleanRun store.Run
			if !sc.noRun {
				cleanRun = clean.runs[len(clean.runs)-1]
			}

			for _, mode := range modes {
				for _, p := range finishPoints {
					t.Run(mode+"/"+p.name, func(t *testing.T) {
						if p.at == afterRemovals && !sc.removes {
							t.Skip("the crawl removes nothing")
						}
						d := dir(mode + " " + p.name)
						if mode == "kill" {
							crashChild(t, d, srv.URL, si, p.at)
						} else {
							st := openDisk(t, d)
							cs := &crashSink{Sink: crawlsink.New(st), st: st, at: p.at}
							_, err := crawlTo(t, cs, srv.URL, sc.req)
							if !cs.crashed.Load() {
								t.Fatalf("the crawl never reached the point (err %v)", err)
							}
							st.Close() // the database as the crash left it
						}

						// Right after the crash.
						st := openDisk(t, d)
						defer st.Close()
						job, live, err := st.CrawlJob()
						if err != nil {
							t.Fatal(err)
						}
						runs, err := st.Runs(context.Background())
						wantRuns := len(clean.runs)
						if sc.noRun && p.live {
							wantRuns++ // the crawl's, until it finishes
						}
						if err != nil || len(runs) != wantRuns {
							t.Fatalf("after the crash: %d runs (%v), want %d", len(runs), err, wantRuns)
						}
						var crashed store.Run
						if len(runs) > 0 {
							crashed = runs[len(runs)-1]
						}
						if live != p.live {
							t.Errorf("after the crash: job live %v, want %v", live, p.live)
						}
						if live {
							if job.RunID != crashed.ID || crashed.Complete || !crashed.Finished.IsZero() {
								t.Errorf("a live job (run %d) with its run finished: %+v", job.RunID, crashed)
							}
						} else {
							if !sc.noRun && (crashed.Finished.IsZero() || crashed.Complete != cleanRun.Complete) {
								t.Errorf("no live job, but the run is %+v (complete %v in a clean crawl)", crashed, cleanRun.Complete)
							}
							if _, ok, _ := st.CrawlTally(); ok {
								t.Error("no live job, but a tally")
							}
						}

						// The same crawl again.
						stats, err := crawlTo(t, crawlsink.New(st), srv.URL, sc.req)
						got := readResult(t, st, stats, err)
						checkFinishedLike(t, st, got, clean, p.live, sc.rerunSum)
					})
				}
			}
		})
	}
}

// checkFinishedLike compares a crawl run again after a crash (resumed, or
// repeated when the crash came after it finished) with a clean one.
func checkFinishedLike(t *testing.T, st *store.Store, got, clean finishResult, resumed, rerunSum bool) {
	t.Helper()
	if !sameErr(got.err, clean.err) {
		t.Errorf("run again: %v; a clean crawl: %v", got.err, clean.err)
	}
	if _, ok, err := st.CrawlJob(); ok || err != nil {
		t.Errorf("a job left: %v, %v", ok, err)
	}
	if _, ok, err := st.CrawlTally(); ok || err != nil {
		t.Errorf("a tally left: %v, %v", ok, err)
	}
	if p, err := st.NextPending(nil, 1); len(p) > 0 || err != nil {
		t.Errorf("a queue left: %v, %v", p, err)
	}
	ids := append(slices.Clone(got.modelIDs), "stale/queued")
	if unseen, err := st.Unseen(ids); len(unseen) != len(ids) || err != nil {
		t.Errorf("a seen set left: %d of %d models unseen, %v", len(unseen), len(ids), err)
	}
	if got.data != clean.data {
		t.Errorf("models and edges differ from a clean crawl's:\n%s", firstDiff(got.data, clean.data))
	}
	n := len(clean.runs)
	if n == 0 {
		// A crawl that fetched nothing: no run, resumed or run again.
		if len(got.runs) != 0 {
			t.Errorf("%d runs recorded; a clean crawl, none", len(got.runs))
		}
		return
	}
	want := totalsOf(clean.runs[n-1])
	switch {
	case resumed && len(got.runs) != n:
		t.Fatalf("resumed, %d runs recorded; a clean crawl, %d", len(got.runs), n)
	case !resumed && len(got.runs) != n+1:
		t.Fatalf("run again after it finished, %d runs recorded; want %d", len(got.runs), n+1)
	}
	if g := totalsOf(got.runs[n-1]); g != want {
		t.Errorf("the crawl's run:\n%+v\nin a clean crawl:\n%+v", g, want)
	}
	complete := 0
	for _, r := range got.runs[n-1:] {
		if r.Complete {
			complete++
		}
	}
	if resumed {
		if complete > 1 {
			t.Errorf("the run recorded complete %d times", complete)
		}
		if g, w := [3]int64{got.stats.Models, got.stats.Edges, got.stats.Pages}, [3]int64{clean.stats.Models, clean.stats.Edges, clean.stats.Pages}; g != w {
			t.Errorf("resumed totals (models, edges, pages) %v, a clean crawl's %v", g, w)
		}
	} else {
		again := got.runs[n]
		if again.Changed() || again.Complete != want.Complete || again.Finished.IsZero() {
			t.Errorf("the crawl run again after it finished: %+v", again)
		}
		if rerunSum && (got.stats.Models != clean.stats.Models || got.stats.Edges != clean.stats.Edges) {
			t.Errorf("run again, it counted %d models and %d edges; a clean crawl %d and %d",
				got.stats.Models, got.stats.Edges, clean.stats.Models, clean.stats.Edges)
		}
	}
	// Snapshots of the runs a clean crawl has (a repeat adds its own).
	for id, want := range clean.history {
		var g []store.Snapshot
		for _, s := range got.history[id] {
			if s.Run <= clean.runs[n-1].ID {
				g = append(g, s)
			}
		}
		if !slices.Equal(g, want) {
			t.Errorf("snapshots of %s: %+v; a clean crawl's %+v", id, g, want)
		}
	}
	if got.hasLast != clean.hasLast || got.last.Models != clean.last.Models || !got.last.Watermark.Equal(clean.last.Watermark) {
		t.Errorf("last scan %+v (%v); a clean crawl's %+v (%v)", got.last, got.hasLast, clean.last, clean.hasLast)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  got  %s\n  want %s", i+1, x, y)
		}
	}
	return ""
}

// crashChild runs scenario si's crawl into dir in a child process (this
// test binary) that kills itself with SIGKILL at the point.
func crashChild(t *testing.T, dir, endpoint string, si int, at finishPoint) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFinishCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HFLINEAGE_FINISH_CHILD="+dir, "HFLINEAGE_FINISH_HUB="+endpoint,
		fmt.Sprintf("HFLINEAGE_FINISH_AT=%d,%d", si, at))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 { // -1: ended by a signal
		t.Fatalf("the crawl was not killed at the point (%v):\n%s", err, out)
	}
}

// TestFinishCrashChild is the process crashChild kills.
func TestFinishCrashChild(t *testing.T) {
	dir := os.Getenv("HFLINEAGE_FINISH_CHILD")
	if dir == "" {
		t.Skip("run by TestFinishCrashResumes")
	}
	var si, at int
	if _, err := fmt.Sscanf(os.Getenv("HFLINEAGE_FINISH_AT"), "%d,%d", &si, &at); err != nil {
		t.Fatal(err)
	}
	st := openDisk(t, dir)
	defer st.Close()
	cs := &crashSink{Sink: crawlsink.New(st), st: st, at: finishPoint(at), kill: true}
	_, err := crawlTo(t, cs, os.Getenv("HFLINEAGE_FINISH_HUB"), finishScenarios()[si].req)
	t.Fatalf("not killed (crawl ended: %v)", err)
}
