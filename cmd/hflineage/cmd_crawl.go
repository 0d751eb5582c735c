package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/store"
)

const version = "0.1.0"

func cmdCrawl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("crawl", `crawl [flags] MODEL...

Crawls each MODEL and all its descendants (fine-tunes, adapters,
quantizations, merges, at every depth) from the Hub into the database,
breadth-first, one listing request per family member. MODEL may be an old
(renamed) name or differ in letter case; the Hub's canonical id is stored.
An interrupted crawl resumes when the same command is run again.`, stderr)
	db := dbFlag(fs)
	endpoint := fs.String("endpoint", "", "Hub base `URL` (default $HF_ENDPOINT, else https://huggingface.co)")
	depth := fs.Int("depth", -1, "expand at most `N` levels below each seed (-1: no bound)")
	parallel := fs.Int("parallel", 4, "`N` requests in flight at once")
	delay := fs.Duration("delay", 0, "pause after each request in a parallel slot (e.g. 200ms)")
	rateFlag := fs.String("rate", "", "cap the request rate at `N/5m` (default: follow the Hub's RateLimit headers; without them 500/5m)")
	restart := fs.Bool("restart", false, "abandon an unfinished crawl in the database and start over")
	jsonOut := fs.Bool("json", false, "print the summary as JSON on stdout")
	verbose := fs.Bool("verbose", false, "log database internals to stderr")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("crawl: name at least one MODEL")
	}
	seeds, err := parseModels(pos)
	if err != nil {
		return err
	}
	if *parallel < 1 || *parallel > 64 {
		return usagef("crawl: --parallel must be between 1 and 64")
	}
	if *depth < -1 {
		return usagef("crawl: --depth must be -1 (no bound) or more")
	}
	if *delay < 0 {
		return usagef("crawl: --delay must not be negative")
	}

	var rate *crawler.Rate
	if *rateFlag != "" {
		r, err := crawler.ParseRate(*rateFlag)
		if err != nil {
			return usagef("crawl: --rate: %v", err)
		}
		rate = &r
	}

	st, err := store.Open(*db, store.Options{Verbose: *verbose})
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := crawler.NewWalker(crawler.Config{
		Endpoint: *endpoint,
		Token:    crawler.TokenFromEnv(),
		Parallel: *parallel,
		Delay:    *delay,
		Rate:     rate,
	}, st)
	if err != nil {
		return usagef("crawl: %v", err)
	}

	bar := newProgress(stderr)
	stats, err := w.Walk(ctx, seeds, crawler.Options{Depth: *depth, Restart: *restart, Progress: bar.update})
	bar.finish()
	if err == nil || isSeedError(err) {
		st.CollectGarbage()
	}
	summary := fmt.Sprintf("crawl: %d models, %d edges, %d pages, %d requests in %s",
		stats.Models, stats.Edges, stats.Pages, stats.Requests, stats.Elapsed.Round(time.Millisecond))
	if stats.Resumed {
		summary += " (resumed)"
	}
	if err != nil && !isSeedError(err) {
		summary += " (incomplete)"
	}
	fmt.Fprintln(stderr, summary)
	if *jsonOut {
		out := map[string]any{
			"models": stats.Models, "edges": stats.Edges, "pages": stats.Pages, "requests": stats.Requests,
			"seconds": stats.Elapsed.Seconds(), "resumed": stats.Resumed, "complete": err == nil || isSeedError(err),
		}
		if err != nil {
			out["error"] = oneLine(err.Error())
		}
		enc := json.NewEncoder(stdout)
		if jerr := enc.Encode(out); jerr != nil && err == nil {
			return jerr
		}
	}
	return err
}

func isSeedError(err error) bool {
	var se *crawler.SeedError
	return errors.As(err, &se)
}

// progress draws a progress line on stderr when it is a terminal.
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(stderr io.Writer) *progress {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("crawling"),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetElapsedTime(true),
	)}
}

func (p *progress) update(s crawler.Stats) {
	if p.bar == nil {
		return
	}
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = float64(s.Requests) / secs
	}
	desc := fmt.Sprintf("models %d · edges %d · requests %d (%.1f/s, pace %.1f/s)", s.Models, s.Edges, s.Requests, rate, s.Pace.Limit)
	if s.Pace.Remaining >= 0 && s.Pace.Quota > 0 {
		desc += fmt.Sprintf(" · quota %d/%d left", s.Pace.Remaining, s.Pace.Quota)
	}
	p.bar.Describe(desc)
	p.bar.Set64(s.Pages)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
