package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/hflineage/hflineage/query"
)

const crawlUsage = `crawl [flags] MODEL...
       hflineage crawl --all [--full] [flags]
       hflineage crawl (--cancel ID | --follow ID) [--db DIR] [--json]

Crawls each MODEL and all its descendants (fine-tunes, adapters,
quantizations, merges, at every depth) from the Hub into the database.
MODEL may be an old (renamed) name or differ in letter case; the Hub's
canonical id is stored. MODEL may also name an ecosystem: every model of
an organisation ('meta-llama/*'), a glob ('Qwen/Qwen2.5-*'), or a comma
list; the organisation's models are listed from the Hub and the matching
ones crawled.

Two ways to crawl, chosen by --mode (auto picks the cheaper and says why):
  walk  list each family member's children: about one request per member
  scan  list every model on the Hub with its tags: about N/1000 requests,
        yielding every lineage edge on the Hub

--all scans the whole Hub. After one complete scan, later scans are
incremental (only models modified since, newest first); --full lists
everything again and removes models and edges the Hub no longer has.

Every crawl is recorded as a run (see history and diff). An interrupted
crawl resumes when the same command is run again.

While hflineage serve holds the database, crawl asks it to run the crawl
(the same crawl queued or running there already is followed, not queued
twice) and follows it; Ctrl-C stops following, not the server's crawl.
--follow ID follows crawl ID of the server again; --cancel ID cancels it:
a queued crawl never runs, a running one stops at its next commit, what
it crawled kept, its position dropped (any crawl may follow).`

// crawlFlags are the flags crawl and schedule share.
type crawlFlags struct {
	db, endpoint, mode, rate string
	reads                    string // how other commands' reads are answered meanwhile
	depth, parallel, minSnap int
	delay, stall             time.Duration
	all, full, restart       bool
	jsonOut, verbose         bool
	fullEvery                query.Age // schedule's --full-every (not a crawl flag)
}

func defineCrawlFlags(fs *flag.FlagSet) *crawlFlags {
	f := &crawlFlags{}
	fs.StringVar(&f.db, "db", defaultDB(), "database `DIR` ($HFLINEAGE_DB)")
	fs.StringVar(&f.endpoint, "endpoint", "", "Hub base `URL` (default $HF_ENDPOINT, else https://huggingface.co)")
	fs.IntVar(&f.depth, "depth", -1, "walk: expand at most `N` levels below each seed (-1: no bound)")
	fs.IntVar(&f.parallel, "parallel", 4, "`N` requests in flight at once (walks)")
	fs.DurationVar(&f.delay, "delay", 0, "pause after each request in a parallel slot (e.g. 200ms)")
	stallFlag(fs, &f.stall)
	fs.StringVar(&f.rate, "rate", "", "cap the request rate at `N/5m` (a bare N means per 5 minutes; also N/300s, N/1h). Default: spend the quota the Hub's RateLimit headers announce as fast as it allows, waiting only for its resets; without those headers, no cap but --parallel (a 429 halves the pace, which then recovers)")
	fs.BoolVar(&f.all, "all", false, "scan the whole Hub")
	fs.BoolVar(&f.full, "full", false, "with --all or --mode scan: list everything and remove what the Hub no longer has")
	fs.StringVar(&f.mode, "mode", "auto", "`MODE` of crawling MODELs: walk, scan, or auto (picks the cheaper and says why)")
	fs.IntVar(&f.minSnap, "snapshot-min", 100, "after a scan, record the size of every family with at least `N` descendants (for history)")
	fs.BoolVar(&f.restart, "restart", false, "abandon an unfinished crawl in the database and start over")
	fs.BoolVar(&f.jsonOut, "json", false, "print the summary as JSON on stdout")
	fs.BoolVar(&f.verbose, "verbose", false, "log database internals to stderr")
	fs.StringVar(&f.reads, "reads", "auto", "how other commands' reads are answered while this crawls: `HOW` is live (the lineage graph kept in memory from the start: every read answers; a 3M-model scan ~2.5 GiB), store (read from the database: ~850 MiB; statistics answer 'ask again' while pages commit), none (no reads: other commands are refused, naming this process), or auto (for a scan, the live graph made at the first read that needs the whole graph — statistics, search, a tree, an export —, until then the store; for a walk, the store)")
	return f
}

// scans reports whether the crawl is a scan (--all or --mode scan).
func (f *crawlFlags) scans() bool { return f.all || f.mode == "scan" }

// graphFor says how the crawl keeps the graph for the reads it answers
// (--reads; "" is auto): "live" from the start, "on-read" from the first
// read of the whole graph (auto for a scan), or "" (the store).
func (f *crawlFlags) graphFor() string {
	switch {
	case f.reads == "live":
		return "live"
	case (f.reads == "auto" || f.reads == "") && f.scans():
		return "on-read"
	}
	return ""
}

// check validates the flags and models (ids, or patterns naming their
// organisation, maybe comma lists); errors are usage errors. The seeds
// come back as written, each once.
func (f *crawlFlags) check(pos []string) ([]string, *query.Rate, error) {
	if f.all && len(pos) > 0 {
		return nil, nil, usagef("--all scans the whole Hub: name no MODEL with it")
	}
	if !f.all && len(pos) == 0 {
		return nil, nil, usagef("name at least one MODEL, or --all")
	}
	switch f.mode {
	case "walk", "scan", "auto":
	default:
		return nil, nil, usagef("--mode must be walk, scan or auto, not %q", f.mode)
	}
	if f.full && !f.all && f.mode != "scan" {
		return nil, nil, usagef("--full goes with --all or --mode scan")
	}
	if f.parallel < 1 || f.parallel > 64 {
		return nil, nil, usagef("--parallel must be between 1 and 64")
	}
	if f.depth < -1 {
		return nil, nil, usagef("--depth must be -1 (no bound) or more")
	}
	if f.delay < 0 {
		return nil, nil, usagef("--delay must not be negative")
	}
	if err := checkStall(f.stall); err != nil {
		return nil, nil, err
	}
	if f.minSnap < 1 {
		return nil, nil, usagef("--snapshot-min must be at least 1")
	}
	switch f.reads {
	case "auto", "live", "store", "none":
	default:
		return nil, nil, usagef("--reads must be auto, live, store or none, not %q", f.reads)
	}
	var rate *query.Rate
	if f.rate != "" {
		r, err := query.ParseRate(f.rate)
		if err != nil {
			return nil, nil, usagef("--rate: %v", err)
		}
		rate = &r
	}
	seeds, err := parseSeeds(pos)
	return seeds, rate, err
}

// parseSeeds checks a crawl's MODEL arguments: model ids (each kept once,
// as parseModels does) and patterns of an organisation's models.
func parseSeeds(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, a := range args {
		if query.IsEcosystem(a) {
			if err := query.CheckSeed(a); err != nil {
				return nil, usagef("%v", err)
			}
		} else if _, err := parseModels([]string{a}); err != nil {
			return nil, err
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

func cmdCrawl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("crawl", crawlUsage, stderr)
	f := defineCrawlFlags(fs)
	cancelID := fs.Int("cancel", 0, "cancel crawl `ID` of the hflineage serve holding the database (queued: it never runs; running: it stops at its next commit, its position saved)")
	followID := fs.Int("follow", 0, "follow crawl `ID` of the hflineage serve holding the database to its end, as crawl follows the crawls it asks the server for")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if isSet(fs, "cancel") || isSet(fs, "follow") {
		return crawlError(crawlOfServer(ctx, fs, f, pos, *cancelID, *followID, stdout, stderr))
	}
	seeds, rate, err := f.check(pos)
	if err != nil {
		return err
	}
	if err := refuseOffline(); err != nil {
		return err
	}
	stats, err := crawlOnce(ctx, f, seeds, rate, stderr)
	if f.jsonOut {
		if jerr := json.NewEncoder(stdout).Encode(crawlJSON(stats, err)); jerr != nil && err == nil {
			return jerr
		}
	}
	return crawlError(err)
}

// crawlJSON is a crawl's summary for --json (crawl's, and schedule's for
// each run).
func crawlJSON(stats query.CrawlStats, err error) map[string]any {
	out := map[string]any{
		"run": stats.Run.ID, "mode": stats.Run.Mode, "models": stats.Models, "edges": stats.Edges, "pages": stats.Pages,
		"requests": stats.Requests, "throttled": stats.TooMany, "seconds": stats.Elapsed.Seconds(), "resumed": stats.Resumed,
		"complete": err == nil || isSeedError(err), "quota_waits": stats.Pace.Waits, "retries": stats.Retries,
		"models_added": stats.Run.ModelsAdded, "models_removed": stats.Run.ModelsRemoved,
		"edges_added": stats.Run.EdgesAdded, "edges_removed": stats.Run.EdgesRemoved,
	}
	if p := stats.Plan; p != nil {
		out["plan"] = map[string]any{"mode": p.Mode, "walk_cost": p.WalkCost, "scan_cost": p.ScanCost, "page_size": p.PageSize,
			"switched": p.Switched, "reason": p.Reason}
	}
	if err != nil {
		out["error"] = oneLine(err.Error())
	}
	return out
}

// crawlOnce opens the database, crawls as f says, prints the summary line
// on stderr and closes the database.
func crawlOnce(ctx context.Context, f *crawlFlags, seeds []string, rate *query.Rate, stderr io.Writer) (query.CrawlStats, error) {
	var stats query.CrawlStats
	// While it crawls, this process answers the other commands' reads.
	e, closeDB, err := openOwner(ctx, f.db, f.verbose, f.graphFor(), f.reads != "none", stderr)
	if errors.Is(err, query.ErrInUse) {
		if r, ok := findServer(f.db); ok {
			stats, err = crawlViaServer(ctx, r, f, seeds, stderr) // as written: the server lists patterns itself
			var ue *usageError
			var elsewhere *crawlElsewhereError
			if !errors.Is(err, query.ErrUnreachable) && !errors.As(err, &ue) && !errors.As(err, &elsewhere) {
				// (Refused before any crawl: no summary of one.)
				fmt.Fprintln(stderr, summaryLine(stats, err))
			}
			return stats, err
		}
	}
	if err != nil {
		return stats, err
	}
	defer closeDB()
	hub := f.hub(rate)
	if err := query.CheckHub(hub); err != nil {
		return stats, usagef("crawl: %v", err)
	}
	bar := newProgress(stderr)
	var plan atomic.Pointer[query.CrawlPlan]
	stats, err = e.Crawl(ctx, hub, f.request(seeds), query.CrawlWatch{
		Planned: func(p query.CrawlPlan) {
			plan.Store(&p)
			bar.println(fmt.Sprintf("plan: %s — %s", p.Mode, p.Reason))
		},
		Progress: func(s query.CrawlStats) {
			if s.Plan == nil {
				s.Plan = plan.Load() // for the time left
			}
			bar.update(s)
		},
		Warn: func(s string) { bar.println("warning: " + s) },
	})
	bar.finish()
	if errors.Is(err, query.ErrNoHubMatch) || errors.Is(err, query.ErrUnreachable) {
		return stats, err // nothing was crawled or recorded: the error's line says it all
	}
	fmt.Fprintln(stderr, summaryLine(stats, err))
	return stats, err
}

// hub is how the flags say to reach the Hub.
func (f *crawlFlags) hub(rate *query.Rate) query.Hub {
	return query.Hub{Endpoint: f.endpoint, Token: query.TokenFromEnv(), Parallel: f.parallel, Delay: f.delay, Rate: rate, StallTimeout: f.stall}
}

// request is the crawl the flags ask for.
func (f *crawlFlags) request(seeds []string) query.CrawlRequest {
	depth := f.depth
	return query.CrawlRequest{All: f.all, Full: f.full, Mode: f.mode, Depth: &depth, Restart: f.restart, SnapshotMin: f.minSnap, Seeds: seeds, FullEvery: f.fullEvery}
}

func summaryLine(s query.CrawlStats, err error) string {
	line := fmt.Sprintf("crawl: %d models, %d edges, %d pages, %d requests in %s",
		s.Models, s.Edges, s.Pages, s.Requests, s.Elapsed.Round(time.Millisecond))
	if s.Run.ID != 0 {
		line += fmt.Sprintf(" (run %d, %s: +%d/-%d models, +%d/-%d edges)", s.Run.ID, s.Run.Mode,
			s.Run.ModelsAdded, s.Run.ModelsRemoved, s.Run.EdgesAdded, s.Run.EdgesRemoved)
	}
	if s.Resumed {
		line += " (resumed)"
	}
	switch {
	case errors.Is(err, query.ErrNothingCrawled):
		line += " (nothing crawled)"
	case errors.Is(err, errDetached):
		line += " so far (the server goes on with the crawl)"
	case err != nil && !isSeedError(err):
		line += " (incomplete)"
	}
	return line
}

// isSeedError reports a crawl that completed without some of its seeds
// (not one that crawled nothing).
func isSeedError(err error) bool { return query.IsSeedError(err) }

// progress draws a progress line on stderr when it is a terminal, fitted
// to the terminal's width at every update so that it never wraps (a
// wrapped line leaves a new line behind at every redraw). Elsewhere (a
// pipe, a file, a test's buffer) it draws nothing.
type progress struct {
	w     io.Writer
	width func() int // the terminal's columns now; nil: not a terminal
	// throttle is the least time between two frames an update draws
	// (tests set 0: every update draws, with no sleep between them).
	throttle time.Duration

	mu  sync.Mutex
	bar *progressbar.ProgressBar // made at the first update
}

func newProgress(stderr io.Writer) *progress {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{w: stderr}
	}
	return newProgressBar(stderr, func() int {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
		return 80
	})
}

// newProgressBar draws on w, a terminal width() columns wide.
func newProgressBar(w io.Writer, width func() int) *progress {
	return &progress{w: w, width: width, throttle: progressThrottle}
}

// progressThrottle is the least time between two frames of a progress
// line; a test that is not parallel may set it to 0 (every update draws).
var progressThrottle = 200 * time.Millisecond

func (p *progress) update(s query.CrawlStats) {
	if p.width == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	desc := fitProgress(s, p.width())
	if p.bar == nil {
		// The bar redraws itself every 100 ms (its spinner and elapsed
		// time move during a long wait for the quota) from a goroutine of
		// its own, which reads the start time without its lock: drawing
		// the first frame in NewOptions64 (OptionSetRenderBlankState) sets
		// that time before the goroutine starts.
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionThrottle(p.throttle),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionUseANSICodes(true), // clear to the end of the line: a shorter line leaves nothing behind
			progressbar.OptionSetRenderBlankState(true),
		)
	} else {
		p.bar.Describe(desc)
	}
	p.bar.Set64(s.Pages)
}

// println prints a line (the plan, a warning), above the progress line
// when one is drawn.
func (p *progress) println(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		line = "\r\x1b[2K" + line
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
	}
}

// The progress line is "SPINNER DESCRIPTION  [ELAPSED] ": the bar adds
// progressFrame columns around the description, and the elapsed time
// (which the bar redraws on its own) may grow by elapsedGrowth columns
// between two updates ("59s" → "1m0s"). The last column stays empty: a
// terminal that wraps on writing it would break the line.
const (
	progressFrame = 7 // "⠋ " before, "  [" and "] " around the elapsed time after
	elapsedGrowth = 2
)

// progressFields are the parts of the progress line in the order shown,
// each with its rank (0 is dropped last): the models stored say how far
// the crawl got, the request rate whether it moves; totals of requests and
// edges come next, and the pacing details (time waited for the quota's
// resets, what is left of it, a cap) go first when space runs short.
func progressFields(s query.CrawlStats) []progressField {
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = float64(s.Requests) / secs
	}
	f := []progressField{
		{0, fmt.Sprintf("models %d", s.Models)},
		{3, fmt.Sprintf("edges %d", s.Edges)},
		{2, requestsField(s)},
		{1, fmt.Sprintf("%.1f req/s", rate)},
	}
	if left, ok := timeLeft(s); ok {
		// Requests of those planned and the time left say more than the
		// rate they rest on: the rate goes first when space runs short.
		f[2].rank, f[3].rank = 1, 2
		f = append(f, progressField{1, "~" + roughDuration(left) + " left"})
	}
	if s.Pace.Limit > 0 {
		f = append(f, progressField{6, fmt.Sprintf("capped at %.1f/s", s.Pace.Limit)})
	}
	if s.Pace.Remaining >= 0 && s.Pace.Quota > 0 {
		q := fmt.Sprintf("quota %d/%d left", s.Pace.Remaining, s.Pace.Quota)
		if s.Pace.Window > 0 {
			q += " per " + s.Pace.Window.String()
		}
		f = append(f, progressField{5, q})
	}
	if s.Pace.Waits > 0 {
		f = append(f, progressField{4, fmt.Sprintf("waited %s for resets", s.Pace.Waited.Round(time.Second))})
	}
	return f
}

type progressField struct {
	rank int
	text string
}

const progressSep = " · "

// fitProgress is the progress line's description for a terminal width
// columns wide: the fields of s that fit, the least useful left out first;
// the number of models alone, or nothing, when even "models N" does not.
func fitProgress(s query.CrawlStats, width int) string {
	elapsed := (s.Elapsed.Truncate(time.Second)).String()
	room := width - 1 - progressFrame - len(elapsed) - elapsedGrowth
	fields := progressFields(s)
	for {
		texts := make([]string, len(fields))
		for i, f := range fields {
			texts[i] = f.text
		}
		line := strings.Join(texts, progressSep)
		if utf8.RuneCountInString(line) <= room {
			return line
		}
		if len(fields) == 1 { // a very narrow terminal: the count alone, or nothing
			if n := fmt.Sprint(s.Models); len(n) <= room {
				return n
			}
			return ""
		}
		drop := 0
		for i, f := range fields {
			if f.rank > fields[drop].rank {
				drop = i
			}
		}
		fields = slices.Delete(fields, drop, drop+1)
	}
}

// stallFlag defines --stall-timeout, shared by crawl, schedule and serve.
func stallFlag(fs *flag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "stall-timeout", query.DefaultStallTimeout, "abandon a Hub transfer that sends no byte for this `DURATION`, and ask again (the Hub's own client waits 10s; a whole answer still has its overall deadline)")
}

func checkStall(d time.Duration) error {
	if d < time.Second {
		return usagef("--stall-timeout must be at least 1s")
	}
	return nil
}
