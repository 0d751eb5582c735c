package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/server"
)

// serveAddrFile, in the database directory, names the address of the
// server that holds the database, so that read commands can ask it.
const serveAddrFile = "serve.addr"

// serveTokenFile, beside serveAddrFile, holds the token the server made
// at start, readable by its user only: the CLI sends it with its POSTs.
const serveTokenFile = "serve.token"

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", `serve [flags] [--every D | --cron EXPR [--now]] [--all | MODEL...]

Runs the lineage service: one process owns the database, answers the HTTP
API and the web explorer at any moment (also during a crawl, from committed
pages), exports Prometheus metrics at /metrics, and runs crawls one at a
time: those POSTed to /api/v1/crawl and, with --every or --cron, MODEL's
families (or the whole Hub with --all) on a schedule (a tick that would
overlap a crawl is skipped and logged): --every crawls at once and then
every D; --cron waits for the expression's first time (logged as
first_run), and --now adds a crawl at once. While it runs, the read
commands (count, ancestors, stats, history, diff, export) ask it over HTTP.

Loopback only by default. Every POST carries a token as "Authorization:
Bearer TOKEN": the one the server makes at start and writes to serve.token
beside the database, readable by its user only (the CLI and the explorer,
opened by that user, send it), or the one it was given. Bound to another
address, it refuses to start without one (--auth-token or, better, as
flags show in ps to every user, $HFLINEAGE_SERVE_TOKEN; at least 16
characters); reads stay open. It answers only requests that name it
(a loopback name, its address, or --allowed-host NAME for a proxy), and
refuses what another site's page sends (cross-origin, not JSON).

With --webhook URL (repeatable), after each completed crawl it POSTs to
URL, for each watched family (--watch, default the scheduled MODELs) the
crawl's run changed, the members it added and removed, signed with
HMAC-SHA256 and the secret $HFLINEAGE_WEBHOOK_SECRET (docs/api.md,
Webhooks). Deliveries are retried, never hold up a crawl, and are listed
at /api/v1/crawl; the Hub token is never sent there.

SIGTERM or Ctrl-C stops it: the current page commits, the crawl's position
is saved, and the next start resumes it.`, stderr)
	db := dbFlag(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT` (:0 picks a free port)")
	addrFile := fs.String("addr-file", "", "write the bound host:port to `FILE` once listening")
	token := fs.String("auth-token", "", "accept this bearer `TOKEN` on POSTs, at least 16 characters (default $HFLINEAGE_SERVE_TOKEN, better: flags show in ps); needed off loopback")
	var allowed hostList
	fs.Var(&allowed, "allowed-host", "also answer requests naming `NAME` in their Host header (a reverse proxy's name; repeatable)")
	var hookURLs, watch repeated
	fs.Var(&hookURLs, "webhook", "after each completed crawl, POST what it changed in the watched families to `URL` (http or https; repeatable)")
	fs.Var(&watch, "watch", "a model or pattern whose changes --webhook sends (`SPEC`, repeatable; default: the scheduled MODELs)")
	hookSecret := fs.String("webhook-secret", "", "sign webhooks with `SECRET` (default $HFLINEAGE_WEBHOOK_SECRET, better: flags show in ps)")
	restart := fs.Bool("restart", false, "abandon an unfinished crawl in the database instead of resuming it")
	sf := defineScheduleFlags(fs, "crawl MODELs (or --all)")
	all := fs.Bool("all", false, "the scheduled crawl scans the whole Hub")
	full := fs.Bool("full", false, "with --all: list everything and remove what the Hub no longer has")
	mode := fs.String("mode", "auto", "`MODE` of the scheduled crawls of MODELs: walk, scan, or auto (picks the cheaper)")
	depth := fs.Int("depth", -1, "scheduled walks: expand at most `N` levels below each seed (-1: no bound)")
	endpoint := fs.String("endpoint", "", "Hub base `URL` (default $HF_ENDPOINT, else https://huggingface.co)")
	parallel := fs.Int("parallel", 4, "`N` requests in flight at once")
	var stall time.Duration
	stallFlag(fs, &stall)
	rateFlag := fs.String("rate", "", "cap the request rate at `N/5m` (a bare N means per 5 minutes)")
	memLimit := fs.String("memory-limit", "0", "keep the Go heap under `SIZE` (e.g. 900MiB, 2GiB; 0: no limit), collecting garbage more often near it; $GOMEMLIMIT, when set, wins. Set it above what the database needs (about 450 MiB at 1M models, 1.2 GiB at 3M), or collection takes the machine")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	limit, err := parseSize(*memLimit)
	if err != nil {
		return usagef("serve: --memory-limit: %v", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" && limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	liveGC()
	tokenGiven := isSet(fs, "auth-token")
	if !tokenGiven {
		*token = os.Getenv("HFLINEAGE_SERVE_TOKEN") // read here, never shown as a flag default
	}
	if tokenGiven || *token != "" {
		if err := server.CheckToken(*token); err != nil {
			what := "--auth-token"
			if !tokenGiven {
				what = "$HFLINEAGE_SERVE_TOKEN"
			}
			return usagef("serve: %s: %v", what, err)
		}
	}
	def, jobOpts, err := sf.job("serve", fs)
	if err != nil {
		return err
	}
	scheduled := def != nil
	if scheduled && !*all && len(pos) == 0 {
		return usagef("serve: a schedule needs MODELs or --all")
	}
	if !scheduled && (*all || len(pos) > 0) {
		return usagef("serve: MODELs and --all go with --every or --cron")
	}
	if *parallel < 1 || *parallel > 64 {
		return usagef("--parallel must be between 1 and 64")
	}
	if err := checkStall(stall); err != nil {
		return err
	}
	tick := server.CrawlRequest{All: *all, Full: *full, Mode: *mode, Depth: depth, FullEvery: sf.fullEvery}
	for _, m := range pos {
		tick.Seeds = append(tick.Seeds, m)
	}
	if scheduled {
		if err := server.CheckCrawl(tick); err != nil {
			return usagef("serve: %v", err)
		}
		if err := refuseOffline(); err != nil {
			return err
		}
	}
	hooks, err := webhooks(fs, hookURLs, watch, *hookSecret, pos, *all)
	if err != nil {
		return err
	}
	var rate *query.Rate
	if *rateFlag != "" {
		r, err := query.ParseRate(*rateFlag)
		if err != nil {
			return usagef("--rate: %v", err)
		}
		rate = &r
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("serve: --addr %q: want HOST:PORT (e.g. 127.0.0.1:8080 or :0)", *addr)
	}
	if !isLoopback(host) && *token == "" {
		return usagef("serve: --addr %s is reachable from other machines: set --auth-token (or $HFLINEAGE_SERVE_TOKEN) so that only you can start crawls", *addr)
	}
	hub := query.Hub{Endpoint: *endpoint, Token: query.TokenFromEnv(), Parallel: *parallel, Rate: rate, StallTimeout: stall}
	if err := query.CheckHub(hub); err != nil {
		return usagef("serve: %v", err)
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The server's engine owns the database: the lineage graph in memory,
	// current from every page its crawls commit.
	e, err := query.OpenDB(ctx, *db, query.OpenOptions{Live: true, Log: log})
	if errors.Is(err, query.ErrInUse) {
		if r, ok := findServer(*db); ok {
			return servedBy(*db, r)
		}
	}
	if err != nil {
		return inUse(*db, err, true)
	}
	keepOpen := false // a crawl that would not stop still writes: leave the database to the process's exit
	defer func() {
		if !keepOpen {
			e.Close()
		}
	}()
	what := ""
	if scheduled {
		what = scheduleWhat(sf, *all, pos)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	bound := ln.Addr().String()
	srv, err := server.New(ctx, server.Config{Engine: e, Hub: hub, AuthToken: *token, Addr: bound, AllowedHosts: allowed,
		Schedule: what, Webhooks: hooks, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	stopNow := func() { // on an error before serving: the server's work stops before the database closes
		ln.Close()
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if srv.Close(stop) != nil {
			keepOpen = true
		}
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(bound+"\n"), 0o644); err != nil {
			stopNow()
			return fmt.Errorf("serve: --addr-file: %w", err)
		}
	}
	// Best effort: read commands find the server through these files.
	withdraw, err := advertise(*db, bound, srv.SessionToken())
	if err != nil {
		log.Warn("the CLI cannot reach this server without --addr (or start crawls through it without $HFLINEAGE_SERVE_TOKEN)", "err", err)
	}
	defer withdraw()
	fmt.Fprintf(stderr, "serve: listening on http://%s (database %s)\n", bound, *db)

	// A crawl left unfinished by the last stop resumes first (or, with
	// --restart, is abandoned).
	resume, ok, err := e.UnfinishedCrawl()
	if err != nil {
		stopNow()
		return fmt.Errorf("serve: the unfinished crawl: %w", err)
	}
	if ok && *restart {
		if err := e.AbandonCrawl(); err != nil {
			stopNow()
			return err
		}
		log.Info("abandoned the unfinished crawl (--restart)", "kind", resume.Kind(), "seeds", resume.Seeds)
	} else if ok && query.Offline() {
		log.Info("HF_HUB_OFFLINE is set: the unfinished crawl resumes at a start without it", "kind", resume.Kind(), "seeds", resume.Seeds)
	} else if ok {
		if _, err := srv.Crawl(resume, false); err != nil {
			log.Error("the unfinished crawl cannot resume; start serve with --restart to abandon it", "kind", resume.Kind(), "seeds", resume.Seeds, "err", err)
		} else {
			log.Info("resuming the unfinished crawl", "kind", resume.Kind(), "seeds", resume.Seeds)
		}
	}
	var sched gocron.Scheduler
	if scheduled {
		srv.Track(modelIDsOf(pos)) // a pattern's models are known only once its crawl lists them
		if sched, err = gocron.NewScheduler(); err != nil {
			stopNow()
			return err
		}
		task := func() {
			if _, err := srv.Crawl(tick, true); errors.Is(err, server.ErrBusy) {
				log.Info("scheduled crawl skipped: the previous crawl is still running")
			} else if err != nil {
				log.Error("scheduled crawl not queued", "err", err)
			}
		}
		job, err := sched.NewJob(def, gocron.NewTask(task), jobOpts...)
		if err != nil {
			sched.Shutdown()
			stopNow()
			return fmt.Errorf("serve: %w", err)
		}
		sched.Start()
		first := "now"
		if sf.cron != "" && !sf.now {
			if next, err := job.NextRun(); err == nil && !next.IsZero() {
				first = next.UTC().Format(time.RFC3339)
			}
		}
		log.Info("scheduled", "what", what, "first_run", first)
	}

	hs := server.HTTPServer(bound, srv.Handler())
	// Requests in flight end with the signal (a long export or stats stops).
	hs.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		serveErr = fmt.Errorf("serve: %w", err)
	}
	log.Info("stopping")
	if sched != nil {
		sched.Shutdown()
	}
	// The crawl stops while the connections close: those still busy after
	// a moment (an answer to a client that stopped reading) are cut.
	if err := stopServing(srv, hs, 100*time.Millisecond); err != nil {
		keepOpen = true
		return fmt.Errorf("serve: %w; exiting without closing the database (the next start recovers it)", err)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return nil // a clean stop on a signal is a success
}

// writePrivate writes a file only its owner can read, replacing any file
// of that name (whatever its mode) at once.
func writePrivate(name, content string) error { return writeFileAtomic(name, content, 0o600) }

// writeFileAtomic writes a file of mode perm, replacing any file of that
// name (whatever its mode) at once: a reader finds the old file or the
// whole new one.
func writeFileAtomic(name, content string, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// webhooks checks serve's webhook flags: every URL http(s) with a host,
// something to watch (--watch, or the scheduled MODELs) and a secret.
func webhooks(fs *flag.FlagSet, urls, watch []string, secret string, scheduled []string, all bool) (server.Webhooks, error) {
	if !isSet(fs, "webhook-secret") {
		secret = os.Getenv("HFLINEAGE_WEBHOOK_SECRET") // read here, never shown as a flag default
	}
	if len(urls) == 0 {
		if len(watch) > 0 {
			return server.Webhooks{}, usagef("serve: --watch goes with --webhook")
		}
		return server.Webhooks{}, nil
	}
	for _, u := range urls {
		if err := server.CheckWebhook(u); err != nil {
			return server.Webhooks{}, usagef("serve: --%v", err)
		}
	}
	if len(watch) == 0 && !all {
		watch = scheduled
	}
	if len(watch) == 0 {
		return server.Webhooks{}, usagef("serve: --webhook needs something to watch: add --watch MODEL (or a pattern)")
	}
	for _, spec := range watch {
		if err := server.CheckWatch(spec); err != nil {
			return server.Webhooks{}, usagef("serve: --%v", err)
		}
	}
	if strings.TrimSpace(secret) == "" {
		return server.Webhooks{}, usagef("serve: --webhook needs a secret to sign with: set $HFLINEAGE_WEBHOOK_SECRET (or --webhook-secret)")
	}
	return server.Webhooks{URLs: urls, Watch: watch, Secret: secret}, nil
}

// repeated is a repeatable string flag.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, ",") }

func (r *repeated) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty")
	}
	*r = append(*r, v)
	return nil
}

// hostList is --allowed-host: names, repeatable.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	n, err := server.NormalizeHost(v)
	if err != nil {
		return err
	}
	*h = append(*h, n)
	return nil
}

// isLoopback reports whether a listen host is reachable from this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseSize parses a size in bytes: a number with an optional unit (B,
// KiB, MiB, GiB; KB, MB, GB as powers of 1000).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("want a size such as 768MiB or 2GiB, not %q", s)
	}
	return int64(n * float64(mult)), nil
}

// modelIDsOf returns the seeds that are model ids, not patterns or comma
// lists of them.
func modelIDsOf(seeds []string) []string {
	var ids []string
	for _, s := range seeds {
		if !query.IsEcosystem(s) {
			ids = append(ids, s)
		}
	}
	return ids
}
