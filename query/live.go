package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/live"
	"github.com/hflineage/hflineage/store"
)

// A long-lived process (serve, schedule) opens its Engine with Open: the
// Engine then owns the store's commits. It loads the lineage graph into
// memory once and keeps it current from every commit (live.Graph), so that
// reads never wait for a crawl nor rebuild anything because data changed.
// What is costly over the whole graph — the default statistics and the
// search index — is derived in the background from a compact graph of one
// version (a view) and served with that version.

// Views are refreshed no more often than this while data changes, and no
// sooner after the last refresh than viewPause times what it took: a
// crawl keeps most of the machine, and reads the rest (a view refresh
// compacts the live graph and indexes it: about 1.5 s of CPU at 1M models).
const (
	viewInterval = 10 * time.Second
	viewPause    = 5
	quietAfter   = 2 * time.Second // no commit for this long: the crawl paused or ended
)

// compactAt is how many node versions the live graph's overlay may hold
// before they are folded into its base: at least minCompact, else half the
// base (so that compactions of a growing graph cost a constant factor of
// its size in all).
const minCompact = 1 << 17

// view is what is derived from the graph of one data version.
type view struct {
	version uint64
	g       *graph.Graph // the compact graph of version (the live graph's base then)
	built   time.Time
	took    time.Duration
	// complete: the database's last crawl had completed at version (false
	// when it had not, or a commit came between: not known). Statistics
	// read while the view is behind are complete only then.
	complete bool
	search   struct {
		once sync.Once
		idx  *searchIndex
	}
	stats sync.Map // statsKey → *statsMemo: statistics asked of this version
	orgs  struct { // every organisation's ecosystem, when first asked
		mu   sync.Mutex
		list []graph.OrgSize // nil until computed
	}
}

// searchIndex returns the view's search index, built when first asked.
func (v *view) searchIndex() *searchIndex {
	v.search.once.Do(func() { v.search.idx = buildSearchIndex(v.g, v.version) })
	return v.search.idx
}

// staticGraph is the graph of an Engine made by New, loaded from the
// database when a question needs it and again when the data version
// moved (a one-shot command asks once).
type staticGraph struct {
	mu   sync.Mutex
	snap *live.Snapshot // made from view.g when first asked
	view *view
}

// snapshot returns the graph to read: the live graph's newest snapshot,
// or, for New's Engine, the stored graph.
func (e *Engine) snapshot(ctx context.Context) (*live.Snapshot, error) {
	if err := e.liveOnRead(ctx); err != nil {
		return nil, err
	}
	if l := e.live.Load(); l != nil {
		return l.g.Current(), nil
	}
	v, err := e.loadStatic(ctx)
	if err != nil {
		return nil, err
	}
	e.static.mu.Lock()
	defer e.static.mu.Unlock()
	if e.static.snap == nil || e.static.snap.Version() != v.version {
		e.static.snap = live.New(v.g, v.version).Current()
	}
	return e.static.snap, nil
}

// view returns the derived views to read: the live graph's latest, or for
// New's Engine the stored graph's.
func (e *Engine) view(ctx context.Context) (*view, error) {
	if err := e.liveOnRead(ctx); err != nil {
		return nil, err
	}
	if l := e.live.Load(); l != nil {
		v := l.view.Load()
		if l.lazy && v.version != l.g.Current().Version() && !l.wanted.Swap(true) {
			l.nudge() // refreshed for the reads after this one
		}
		return v, nil
	}
	return e.loadStatic(ctx)
}

func (e *Engine) loadStatic(ctx context.Context) (*view, error) {
	version, err := e.st.DataVersion()
	if err != nil {
		return nil, err
	}
	e.static.mu.Lock()
	defer e.static.mu.Unlock()
	if e.static.view == nil || e.static.view.version != version {
		base, v, err := e.st.VersionedGraph(ctx)
		if err != nil {
			return nil, err
		}
		e.static.view = &view{version: v, g: base}
	}
	return e.static.view, nil
}

type statsKey struct {
	top  int
	root graph.ModelID
}

type statsMemo struct {
	once  sync.Once
	stats graph.Stats
	err   error
}

// liveState is an open Engine's: its graph and views, and the goroutine
// that keeps them.
type liveState struct {
	g          *live.Graph
	view       atomic.Pointer[view]
	wake       chan struct{} // a commit was applied
	stop       context.CancelFunc
	done       chan struct{}
	log        *slog.Logger
	reload     atomic.Bool  // a commit was missed: load the graph again
	written    uint64       // the version of the last graph.bin written (maintain's)
	lastCommit atomic.Int64 // when the last commit was applied (Unix ns)
	lazy       bool         // views refreshed only when wanted (OpenOptions.LazyViews)
	wanted     atomic.Bool  // lazy: a read found the view behind the graph

	viewMu sync.Mutex
	viewed chan struct{} // closed and replaced when a view is stored (tests wait on it: waitView)

	counts countMemo // families counted at the current version
}

// countMemo keeps the families counted at one data version: a badge, a
// model page or a feed reader asks the same count again and again while
// the data rests (a family of 136,000 members costs 25 ms a count at 1M
// models), and a new version starts it afresh.
type countMemo struct {
	mu      sync.Mutex
	version uint64
	m       map[graph.ModelID]countedFamily
}

type countedFamily struct {
	c graph.FamilyCount
	p graph.Popularity
}

// maxMemoCounts bounds the memo (a version's distinct families counted).
const maxMemoCounts = 4096

// count returns s's count of id and its popularity, from the memo when
// this version's was kept.
func (m *countMemo) count(s *live.Snapshot, id graph.ModelID) (graph.FamilyCount, graph.Popularity) {
	v := s.Version()
	m.mu.Lock()
	if f, ok := m.m[id]; ok && m.version == v {
		m.mu.Unlock()
		return f.c, f.p
	}
	m.mu.Unlock()
	c, p := s.CountPopularity(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case v > m.version || m.m == nil:
		m.version, m.m = v, map[graph.ModelID]countedFamily{}
	case v < m.version:
		return c, p // an older snapshot's: not kept
	}
	if len(m.m) < maxMemoCounts {
		m.m[id] = countedFamily{c, p}
	}
	return c, p
}

// nudge wakes maintain (a commit came, or a view is wanted); a wake
// already pending covers this one.
func (l *liveState) nudge() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// storeView publishes v as the view to read.
func (l *liveState) storeView(v *view) {
	l.view.Store(v)
	l.viewMu.Lock()
	close(l.viewed)
	l.viewed = make(chan struct{})
	l.viewMu.Unlock()
}

// waitView waits until the view is of data version at least version (for
// tests: the views are refreshed in the background).
func (e *Engine) waitView(ctx context.Context, version uint64) error {
	l := e.live.Load()
	for {
		l.viewMu.Lock()
		next := l.viewed
		l.viewMu.Unlock()
		if l.view.Load().version >= version {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Open returns an Engine that owns st's commits: it loads the stored graph
// into memory (from graph.bin when current), has st tell it every commit,
// and keeps its views in the background until Close (commits wait while
// it loads). log receives the background work's failures (nil:
// slog.Default()).
func Open(ctx context.Context, st *store.Store, log *slog.Logger) (*Engine, error) {
	return open(ctx, st, log, false)
}

// open is Open; lazy: views are refreshed only when a read wants a newer
// one (OpenOptions.LazyViews).
func open(ctx context.Context, st *store.Store, log *slog.Logger, lazy bool) (*Engine, error) {
	e := New(st)
	if err := e.startLive(ctx, log, lazy); err != nil {
		return nil, err
	}
	return e, nil
}

// startLive loads the graph into memory, has the store tell it every
// commit from then on (commits wait while it loads) and starts its upkeep.
func (e *Engine) startLive(ctx context.Context, log *slog.Logger, lazy bool) error {
	st := e.st
	if log == nil {
		log = slog.Default()
	}
	var l *liveState
	err := st.Follow(func() (func(graph.Delta), error) {
		base, v, err := st.VersionedGraph(ctx)
		if err != nil {
			return nil, fmt.Errorf("load the lineage graph: %w", err)
		}
		base.OwnIDs()      // the process keeps the graph, not its encoded form
		st.OwnGraphCache() // written from memory (writeCache), not rebuilt after crawls
		l = &liveState{g: live.New(base, v), wake: make(chan struct{}, 1), done: make(chan struct{}), log: log, viewed: make(chan struct{}), lazy: lazy}
		l.view.Store(&view{version: v, g: base})
		return func(d graph.Delta) {
			if err := l.g.Apply(d); errors.Is(err, live.ErrGap) {
				l.reload.Store(true)
			}
			l.lastCommit.Store(time.Now().UnixNano())
			l.nudge()
		}, nil
	})
	if err != nil {
		return err
	}
	e.live.Store(l)
	bg, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	go e.maintain(bg)
	return nil
}

// deferredLive is an Engine's live graph to be: made at the first read
// that needs the whole graph (OpenOptions.LiveOnRead).
type deferredLive struct {
	mu     sync.Mutex
	log    *slog.Logger
	closed bool // Close came: no live graph any more
}

// liveOnRead makes the live graph of an Engine that defers it, if it is
// not made yet: the graph is loaded while commits wait (a crawl's pages:
// seconds at 3M models), then follows them. A load a read's end cut
// short is tried again by the next read.
func (e *Engine) liveOnRead(ctx context.Context) error {
	d := e.deferred
	if d == nil || e.live.Load() != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || e.live.Load() != nil {
		return nil
	}
	// The read that asks may leave; the graph it started is made anyway.
	return e.startLive(context.WithoutCancel(ctx), d.log, true)
}

// Close stops an opened Engine's background work and its following of the
// store's commits, and closes the database when OpenDB opened it (else the
// store stays open: the caller's).
func (e *Engine) Close() error {
	if d := e.deferred; d != nil {
		d.mu.Lock() // a live graph being made is made first
		d.closed = true
		d.mu.Unlock()
	}
	if l := e.live.Load(); l != nil {
		e.st.OnCommit(nil)
		l.stop()
		<-l.done
		// graph.bin of the last commit, for the one-shot commands that
		// read the database next.
		// (Compact returns the base as it is when nothing came since.)
		if g, version, err := l.g.Compact(context.Background()); err == nil {
			e.writeCache(&view{version: version, g: g})
		}
	}
	if e.owns {
		return e.st.Close()
	}
	return nil
}

// Snapshot returns the current snapshot of the live graph, nil for an
// Engine made by New.
func (e *Engine) Snapshot() *live.Snapshot {
	l := e.live.Load()
	if l == nil {
		return nil
	}
	return l.g.Current()
}

// Sizes is what the database holds, at a data version.
type Sizes struct {
	Version uint64 `json:"data_version"`
	Models  int    `json:"models"` // stubs excepted
	Stubs   int    `json:"stubs"`
	Edges   int    `json:"edges"`
}

// Sizes counts what the database holds now; ok is false for an Engine made
// by New (which would have to read the whole database).
func (e *Engine) Sizes() (Sizes, bool) {
	s := e.Snapshot()
	if s == nil {
		return Sizes{}, false
	}
	return Sizes{Version: s.Version(), Models: s.Models(), Stubs: s.Stubs(), Edges: s.Edges()}, true
}

// maintain folds the overlay into the base when it grows and refreshes the
// views when data changed, until ctx ends.
func (e *Engine) maintain(ctx context.Context) {
	l := e.live.Load()
	defer close(l.done)
	// The graph as loaded has no search index nor statistics yet (a lazy
	// Engine's are made when first read).
	if !l.lazy {
		if err := e.refreshView(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("refresh the views", "err", err)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-tick.C:
		}
		if l.reload.Load() {
			if err := e.reloadGraph(ctx); err != nil && ctx.Err() == nil {
				l.log.Error("reload the lineage graph", "err", err)
			}
			continue
		}
		cur := l.g.Current()
		if n := l.g.Versions(); n > max(minCompact, cur.NodeCount()/2) {
			if _, _, err := l.g.Compact(ctx); err != nil && ctx.Err() == nil {
				l.log.Error("compact the lineage graph", "err", err)
			}
		}
		v := l.view.Load()
		if v.version == cur.Version() {
			// Quiet: the view is of the last commit. graph.bin (what a
			// one-shot command reads) follows it.
			e.writeCache(v)
			continue
		}
		if !l.viewDue(v, time.Now()) {
			continue
		}
		l.wanted.Store(false)
		if err := e.refreshView(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("refresh the views", "err", err)
		}
	}
}

// viewDue says whether v, a view behind the graph, is to be made again at
// now. While a crawl writes, views are refreshed now and then; once it
// pauses or ends, at once. A lazy Engine's only when a read wanted one
// since the last.
func (l *liveState) viewDue(v *view, now time.Time) bool {
	if l.lazy && !l.wanted.Load() {
		return false
	}
	writing := now.Sub(time.Unix(0, l.lastCommit.Load())) < quietAfter
	return !writing || now.Sub(v.built) >= max(viewInterval, viewPause*v.took)
}

// writeCache writes v's graph as graph.bin unless it was written.
func (e *Engine) writeCache(v *view) {
	l := e.live.Load()
	if l.written == v.version {
		return
	}
	if err := e.st.WriteGraphCache(v.g, v.version); err != nil {
		l.log.Error("write graph.bin", "err", err)
		return
	}
	l.written = v.version
}

// refreshView makes the view of the current version: the live graph is
// compacted (its new base is the view's graph), then the default
// statistics and the search index are derived from it.
func (e *Engine) refreshView(ctx context.Context) error {
	l := e.live.Load()
	start := time.Now()
	g, version, err := l.g.Compact(ctx)
	if err != nil {
		return err
	}
	v := &view{version: version, g: g}
	if v.complete, err = e.completeAt(ctx, version); err != nil {
		return err
	}
	v.searchIndex()
	if _, err := v.statsOf(ctx, e.st, statsKey{top: 10}); err != nil {
		return err
	}
	v.built, v.took = time.Now(), time.Since(start)
	l.storeView(v)
	return nil
}

// completeAt reports whether the database's last crawl had completed at
// data version, as far as it can be known now: false when a commit has
// moved the database on since.
func (e *Engine) completeAt(ctx context.Context, version uint64) (bool, error) {
	in, err := e.incomplete(ctx, "")
	if err != nil {
		return false, err
	}
	now, err := e.st.DataVersion()
	if err != nil {
		return false, err
	}
	return in == nil && now == version, nil
}

// reloadGraph loads the graph again from the database (after a missed
// commit). Commits wait meanwhile.
func (e *Engine) reloadGraph(ctx context.Context) error {
	var err error
	e.st.WithoutWriters(func() {
		var base *graph.Graph
		var v uint64
		base, v, err = e.st.VersionedGraph(ctx)
		if err != nil {
			return
		}
		l := e.live.Load()
		l.g.Reset(base, v)
		l.reload.Store(false)
	})
	return err
}

// statsOf computes (once per version and options) the statistics of the
// view's graph.
func (v *view) statsOf(ctx context.Context, st *store.Store, k statsKey) (graph.Stats, error) {
	x, _ := v.stats.LoadOrStore(k, &statsMemo{})
	m := x.(*statsMemo)
	m.once.Do(func() {
		m.stats, m.err = graph.ComputeStats(ctx, v.g, graph.StatsOptions{Top: k.top, Root: k.root, DanglingReasons: st.DanglingReasons, LastListing: st.LastListing})
	})
	if m.err != nil {
		v.stats.CompareAndDelete(k, m) // a cancelled computation is tried again
	}
	return m.stats, m.err
}
