package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
)

func cmdSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schedule", `schedule (--every DURATION | --cron "EXPR") [crawl flags] (MODEL... | --all)

Runs crawls on a schedule in a long-lived process: one at a time (a run
that would overlap the previous one is skipped and logged), one log line
per run on stdout. SIGTERM or Ctrl-C stops it cleanly: the current crawl
saves its progress (the next crawl resumes it). The database is opened only
while a crawl runs, so other commands can read it in between.

A systemd timer or a crontab line running 'hflineage crawl' does the same
without a long-lived process (see the README).`, stderr)
	every := fs.Duration("every", 0, "run every `DURATION` (e.g. 6h)")
	cron := fs.String("cron", "", "run on a cron schedule `EXPR` (5 fields, e.g. \"0 3 * * *\")")
	limit := fs.Int("runs", 0, "stop after `N` runs (0: until stopped)")
	f := defineCrawlFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if (*every > 0) == (*cron != "") {
		return usagef("schedule: give exactly one of --every and --cron")
	}
	if *every < 0 || (*every > 0 && *every < time.Second) {
		return usagef("schedule: --every must be at least 1s")
	}
	if *limit < 0 {
		return usagef("schedule: --runs must not be negative")
	}
	seeds, rate, err := f.check(pos)
	if err != nil {
		return err
	}
	def := gocron.DurationJob(*every)
	if *cron != "" {
		def = gocron.CronJob(*cron, false)
	}
	s, err := gocron.NewScheduler()
	if err != nil {
		return err
	}
	var running atomic.Bool
	var mu sync.Mutex // serialises log lines
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "%s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339)}, args...)...)
	}
	done := make(chan struct{})
	var runs atomic.Int64
	var stoppedCrawl atomic.Bool // a signal stopped a crawl, which saved its position
	var wg sync.WaitGroup
	task := func() {
		if !running.CompareAndSwap(false, true) {
			logf("skipped: the previous crawl is still running")
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer running.Store(false)
		if ctx.Err() != nil {
			return
		}
		stats, err := crawlOnce(ctx, f, seeds, rate, io.Discard)
		switch {
		case err != nil && ctx.Err() != nil:
			stoppedCrawl.Store(true)
			logf("stopped: %s (progress saved)", summaryLine(stats, err))
		case err != nil:
			logf("failed: %s: %s", summaryLine(stats, err), oneLine(err.Error()))
		default:
			logf("%s", summaryLine(stats, nil))
		}
		if n := runs.Add(1); *limit > 0 && n >= int64(*limit) {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}
	if _, err := s.NewJob(def, gocron.NewTask(task), gocron.WithStartAt(gocron.WithStartImmediately())); err != nil {
		return usagef("schedule: %v", err)
	}
	s.Start()
	logf("scheduled: %s", scheduleWhat(*every, *cron, f.all, pos))
	select {
	case <-ctx.Done():
	case <-done:
	}
	err = s.Shutdown()
	wg.Wait()
	logf("scheduler stopped after %d runs", runs.Load())
	if err != nil {
		return err
	}
	if stoppedCrawl.Load() {
		return resumable(ctx.Err())
	}
	return ctx.Err() // stopped by a signal: exit 130; nil after --runs
}

func scheduleWhat(every time.Duration, cron string, all bool, models []string) string {
	what := fmt.Sprint(models)
	if all {
		what = "--all"
	}
	if cron != "" {
		return fmt.Sprintf("crawl %s on %q", what, cron)
	}
	return fmt.Sprintf("crawl %s every %s", what, every)
}
