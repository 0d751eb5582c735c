package query

import (
	"context"
	"log/slog"

	"github.com/hflineage/hflineage/store"
)

// The database's errors, as the faces test for them.
var (
	// ErrInUse: another process holds the database for writing.
	ErrInUse = store.ErrInUse
	// ErrCorrupt: the database holds something it cannot decode.
	ErrCorrupt = store.ErrCorrupt
	// ErrNotFound: a run or record the question names is not stored.
	ErrNotFound = store.ErrNotFound
	// ErrChanged: a crawl wrote while the whole graph was read.
	ErrChanged = store.ErrChanged
)

// Run is one crawl as recorded.
type Run = store.Run

// OpenOptions say how OpenDB opens a database.
type OpenOptions struct {
	// ReadOnly opens without writing, beside other readers (not beside a
	// writer: that fails with ErrInUse). It fails on a missing database.
	ReadOnly bool
	// MustExist fails, rather than creating one, when there is none.
	MustExist bool
	// Live makes the Engine of a long-lived process, as Open does: the
	// graph in memory, current from every commit. Not with ReadOnly.
	Live bool
	// LazyViews (with Live) derives statistics and the search index only
	// when a read asks for them, not in the background as data changes:
	// for a crawl that answers other commands' reads, whose machine is
	// the crawl's (at 3M models each refresh costs ~20 s of CPU and the
	// memory of a second compact graph).
	LazyViews bool
	// LiveOnRead (instead of Live) makes the live graph only when a read
	// first needs the whole graph (statistics, search, a tree, an
	// export): a crawl that nobody reads keeps no graph in memory (at 3M
	// models, ~670 MiB rather than ~2.5 GiB). Reads before it, and count,
	// read the store. Its views are lazy.
	LiveOnRead bool
	// Verbose lets the database log its internals to stderr.
	Verbose bool
	// Log receives a live Engine's background failures (default
	// slog.Default()).
	Log *slog.Logger
}

// OpenDB opens the database in dir and returns its Engine, which owns it:
// Close closes it.
func OpenDB(ctx context.Context, dir string, o OpenOptions) (*Engine, error) {
	st, err := store.Open(dir, store.Options{Verbose: o.Verbose, ReadOnly: o.ReadOnly, MustExist: o.MustExist || o.ReadOnly})
	if err != nil {
		return nil, err
	}
	e := New(st)
	switch {
	case o.Live && !o.ReadOnly:
		if e, err = open(ctx, st, o.Log, o.LazyViews); err != nil {
			st.Close()
			return nil, err
		}
	case o.LiveOnRead && !o.ReadOnly:
		e.deferred = &deferredLive{log: o.Log}
	}
	e.owns = true
	return e, nil
}
