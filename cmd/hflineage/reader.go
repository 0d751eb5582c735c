package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/server"
)

// One process at a time holds the database for writing: `serve`, `crawl`,
// or `schedule` while one of its crawls runs. That process answers the
// other commands' reads over HTTP on loopback (serve from its live graph,
// a crawl from the database, read as a one-shot command reads it): it
// names its address in serveAddrFile in the database directory and its
// session token in serveTokenFile (advertise), and a read command that
// finds the database in use asks it (openEngine, findServer). serve
// answers the whole API; a crawl answers the reads only (startReader).

// openOwner opens the database for writing as the one process that owns
// it (crawl, and schedule during its crawls), and, when answer is set,
// answers the other commands' reads from it until closeDB, which stops
// answering and then closes the database; graph says how the lineage
// graph is kept for them (crawlFlags.graphFor). A database in use is
// query.ErrInUse, saying by which process (inUse).
func openOwner(ctx context.Context, db string, verbose bool, graph string, answer bool, stderr io.Writer) (e *query.Engine, closeDB func(), err error) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// A scan writes a page every few dozen milliseconds for minutes: reads
	// of the whole graph (stats) need the live graph, as serve keeps it (a
	// graph loaded from the store never sees it still: at 1M models every
	// stats failed) — at the graph's memory (a 3M scan peaks at ~2.5 GiB
	// with it, ~835 MiB without), so it is made when such a read first
	// comes (on-read). A walk answers from the store: loading the live
	// graph (and writing graph.bin at close) would cost a small crawl into
	// a large database seconds and the graph's memory. Statistics and the
	// search index are derived only when a read asks (LazyViews).
	if graph != "" {
		liveGC()
	}
	e, err = query.OpenDB(ctx, db, query.OpenOptions{Verbose: verbose, Live: graph == "live", LiveOnRead: graph == "on-read", LazyViews: true, Log: log})
	if err != nil {
		return nil, nil, inUse(db, err, true)
	}
	if !answer { // --reads none
		return e, func() { e.Close() }, nil
	}
	stop := startReader(ctx, db, e, log)
	return e, func() {
		if stop() {
			e.Close()
		} // else a read still runs: the database is left to the process's exit
	}, nil
}

// liveGC sets the collector of a process that keeps the live graph (serve,
// a scan): the graph is most of the heap and changes little, so garbage is
// collected at half again what is live rather than twice ($GOGC wins).
func liveGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// startReader answers the read side of the API over e (a server.Config
// ReadOnly: no crawls, schedules nor webhooks) on a free loopback port,
// with serve's guard, and advertises it in db. stop withdraws the files,
// gives the reads being answered a few seconds (none after a signal) and
// stops the server; it reports whether the database may be closed (false:
// a read did not stop in time). Without a port to listen on, the crawl
// goes on and reads wait for it, as before.
func startReader(ctx context.Context, db string, e *query.Engine, log *slog.Logger) (stop func() bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Error("reads wait for the crawl: no loopback port to answer them on", "err", err)
		return func() bool { return true }
	}
	bound := ln.Addr().String()
	srv, err := server.New(ctx, server.Config{Engine: e, Addr: bound, ReadOnly: true, Logger: log})
	if err != nil {
		ln.Close()
		log.Error("reads wait for the crawl", "err", err)
		return func() bool { return true }
	}
	hs := server.HTTPServer(bound, srv.Handler())
	hs.BaseContext = func(net.Listener) context.Context { return ctx } // a signal ends the reads too
	go hs.Serve(ln)
	withdraw, err := advertise(db, bound, srv.SessionToken())
	if err != nil {
		log.Error("reads wait for the crawl: "+serveAddrFile+" not written", "err", err)
	}
	return func() bool {
		withdraw()
		grace := 5 * time.Second
		if ctx.Err() != nil {
			grace = 100 * time.Millisecond
		}
		return stopServing(srv, hs, grace) == nil
	}
}

// advertise writes the files through which the CLI finds the server that
// holds db: the session token, readable by this user only (the CLI's
// POSTs carry it), then the address. withdraw removes them. An error
// writing the token is returned (the address is written anyway; reads
// need no token); one writing the address too.
func advertise(db, bound, token string) (withdraw func(), err error) {
	tokenFile := filepath.Join(db, serveTokenFile)
	advert := filepath.Join(db, serveAddrFile)
	withdraw = func() {
		os.Remove(advert) // first: no reader finds a server that stops
		os.Remove(tokenFile)
	}
	tokenErr := writePrivate(tokenFile, token+"\n")
	if tokenErr != nil {
		tokenErr = fmt.Errorf("%s: %w", serveTokenFile, tokenErr)
	}
	// Whole or absent (renamed into place): a reader never reads half an address.
	addrErr := writeFileAtomic(advert, bound+"\n", 0o644)
	return withdraw, errors.Join(tokenErr, addrErr)
}

// stopServing stops srv and the HTTP server answering it: the server's
// work stops (srv.Close, up to 10 s) while the connections close, those
// still busy after grace being cut. An error says the work did not stop
// in time: the database must not be closed.
func stopServing(srv *server.Server, hs *http.Server, grace time.Duration) error {
	// First the answers under way, for up to grace (no new connection is
	// taken meanwhile): Close ends every request's context at once, which
	// cut reads a crawl's end had no reason to cut.
	wait, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- hs.Shutdown(wait) }()
	var err error
	select {
	case err = <-shut:
	case <-wait.Done():
		err = wait.Err()
	}
	stop, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelStop()
	closed := srv.Close(stop) // those still running end now (503: stopping)
	if err != nil {
		hs.Close()
	}
	return closed
}

// inUse explains a database in use (query.ErrInUse) by the process that
// holds it; other errors pass unchanged. A reader (opening read-only) is
// refused by a writer only, whose id Badger's lock file holds; a writer
// may be refused by readers too, which leave no id.
func inUse(db string, err error, writing bool) error {
	if !errors.Is(err, query.ErrInUse) {
		return err
	}
	pid := holderPID(db)
	switch {
	case pid > 0 && !writing:
		return fmt.Errorf("%w (pid %d): a crawl or schedule is running; reads are answered by it once it has started its reader, or run `hflineage serve`", err, pid)
	case pid > 0:
		return fmt.Errorf("%w (pid %d): wait for it to end", err, pid)
	case writing:
		return fmt.Errorf("%w: a command reading it (count, export…) or another crawl; wait for it to end", err)
	}
	return fmt.Errorf("%w: a crawl or schedule is running; reads are answered by it once it has started its reader, or run `hflineage serve`", err)
}

// badgerLock is the file in which Badger records the id of the process
// that holds the database for writing (removed when it closes it).
const badgerLock = "LOCK"

// holderPID returns the id of the process that holds db for writing, as
// Badger's lock file records it, when that process runs; 0 when none is
// recorded or the one recorded has ended (a killed writer leaves its id).
func holderPID(db string) int {
	b, err := os.ReadFile(filepath.Join(db, badgerLock))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	// Signal 0 asks whether the process is there (where signals exist).
	p, err := os.FindProcess(pid)
	if err != nil {
		return 0
	}
	if err := p.Signal(syscall.Signal(0)); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	return pid
}

// servedBy is serve's error when r, the server of another process, holds
// db: where it listens and which process it is.
func servedBy(db string, r *remote) error {
	who := fmt.Sprintf(" by process %d", r.pid)
	if r.readOnly {
		return fmt.Errorf("serve: database %s is being crawled%s, which answers reads at %s; start serve when the crawl ends", db, who, r.base)
	}
	return fmt.Errorf("serve: database %s is already served at %s%s", db, r.base, who)
}
