package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"github.com/hflineage/hflineage/query"
)

const scheduleUsage = `schedule (--every DURATION | --cron "EXPR") [--now] [--runs N] [--full-every AGE] [--json] [crawl flags] (MODEL... | --all)

Runs crawls on a schedule in a long-lived process, one at a time: a tick
that comes while the previous crawl still runs is skipped (and logged),
and the next tick runs as planned.

  --every D    the first crawl starts at once, the next ones every D after
               the first start (6h: at 0h, 6h, 12h …)
  --cron EXPR  crawls at the times EXPR names, in the local time zone
               (CRON_TZ=UTC before the 5 fields for another one): the first
               crawl waits for the first of them; with --now, one crawl also
               starts right away

A scheduled scan (--all, --mode scan) lists the whole Hub again, rather
than only what changed since the last scan, when the last full one is
older than --full-every (default 7d; 0: never): an incremental scan misses
a model made public later with an older lastModified, and stats would go
on calling it "not on the Hub" while its children name it.

One log line per run on stdout, timestamped (with --json: one JSON object
per run, with the keys of 'crawl --json', and the other log lines on
stderr). SIGTERM or Ctrl-C stops it cleanly with exit code 130: the
current crawl saves its progress (the next crawl resumes it). The database
is opened only while a crawl runs, so other commands can read it in
between.

A systemd timer or a crontab line running 'hflineage crawl' does the same
without a long-lived process (see docs/reference.md).`

// scheduleFlags are the flags that say when to crawl (schedule's and
// serve's).
type scheduleFlags struct {
	every     time.Duration
	cron      string
	now       bool
	fullEvery query.Age
}

func defineScheduleFlags(fs *flag.FlagSet, what string) *scheduleFlags {
	f := &scheduleFlags{fullEvery: query.Age(query.DefaultFullEvery)}
	fs.DurationVar(&f.every, "every", 0, what+" every `DURATION` (e.g. 6h), the first time right away")
	fs.StringVar(&f.cron, "cron", "", what+" on a cron schedule `EXPR` (5 fields, e.g. \"0 3 * * *\": daily at 03:00 local time), the first time at its first tick")
	fs.BoolVar(&f.now, "now", false, "with --cron: also crawl once right away (--every always starts right away)")
	fs.Var(&f.fullEvery, "full-every", "a scheduled scan (--all, --mode scan) lists the whole Hub again, instead of only what changed, when the last full one is older than `AGE` (e.g. 7d, 36h; 0: never): an incremental scan misses models made public later with an older lastModified, whose children then name a parent 'not on the Hub' that the Hub serves")
	return f
}

// job checks the flags and returns the gocron job they describe (nil when
// neither --every nor --cron is given), with the options that make it run
// one crawl at a time (a tick during a crawl is skipped) and, with --every
// or --now, at once. Errors are usage errors of one line.
func (f *scheduleFlags) job(cmd string, fs *flag.FlagSet) (gocron.JobDefinition, []gocron.JobOption, error) {
	everySet := isSet(fs, "every")
	switch {
	case everySet && f.cron != "":
		return nil, nil, usagef("%s: give --every or --cron, not both", cmd)
	case everySet && f.every <= 0:
		return nil, nil, usagef("%s: --every must be positive, not %s (e.g. 6h)", cmd, f.every)
	case everySet && f.every < time.Second:
		return nil, nil, usagef("%s: --every must be at least 1s", cmd)
	case f.now && f.cron == "" && !everySet:
		return nil, nil, usagef("%s: --now goes with --cron (or --every)", cmd)
	case !everySet && f.cron == "":
		return nil, nil, nil
	}
	opts := []gocron.JobOption{gocron.WithSingletonMode(gocron.LimitModeReschedule)}
	if everySet || f.now {
		opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
	}
	if everySet {
		return gocron.DurationJob(f.every), opts, nil
	}
	// Checked here, so that a bad expression is one line before anything starts.
	probe, err := gocron.NewScheduler()
	if err != nil {
		return nil, nil, err
	}
	defer probe.Shutdown()
	def := gocron.CronJob(f.cron, false)
	if _, err := probe.NewJob(def, gocron.NewTask(func() {})); err != nil {
		return nil, nil, usagef("%s: --cron %q: %s", cmd, f.cron, cronReason(err))
	}
	return def, opts, nil
}

// cronReason is what gocron's error says in its last line ("gocron:
// CronJob: crontab parse failure\nexpected exactly 5 fields, found 4:
// [0 3 * *]"), without the fields.
func cronReason(err error) string {
	msg := strings.TrimSpace(err.Error())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if i := strings.LastIndex(msg, ": ["); i >= 0 && strings.HasSuffix(msg, "]") {
		msg = msg[:i] // the fields again
	}
	return strings.TrimPrefix(msg, "gocron: ")
}

func (f *scheduleFlags) String() string {
	if f.cron != "" {
		return fmt.Sprintf("on %q", f.cron)
	}
	return "every " + f.every.String()
}

// skipLog logs the ticks gocron's singleton mode skips because the
// previous crawl still runs.
type skipLog func()

func (l skipLog) IncrementJob(_ uuid.UUID, _ string, _ []string, status gocron.JobStatus) {
	if status == gocron.SingletonRescheduled {
		l()
	}
}

func (skipLog) RecordJobTiming(time.Time, time.Time, uuid.UUID, string, []string) {}

func cmdSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schedule", scheduleUsage, stderr)
	sf := defineScheduleFlags(fs, "crawl")
	limit := fs.Int("runs", 0, "stop after `N` runs (0: until stopped)")
	f := defineCrawlFlags(fs)
	fs.Lookup("json").Usage = "print one JSON object per run on stdout (the keys of crawl --json); the other log lines go to stderr"
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	def, opts, err := sf.job("schedule", fs)
	if err != nil {
		return err
	}
	if def == nil {
		return usagef("schedule: give --every or --cron")
	}
	if *limit < 0 {
		return usagef("schedule: --runs must not be negative")
	}
	seeds, rate, err := f.check(pos)
	if err != nil {
		return err
	}
	f.fullEvery = sf.fullEvery
	if err := refuseOffline(); err != nil {
		return err
	}
	// A bad endpoint is a mistake on the command line, not a failed run.
	if err := query.CheckHub(f.hub(rate)); err != nil {
		return usagef("schedule: %v", err)
	}

	var mu sync.Mutex // serialises log lines
	logTo := func(w io.Writer, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339)}, args...)...)
	}
	logw := stdout // the log lines that are not runs
	if f.jsonOut {
		logw = stderr
	}
	logf := func(format string, args ...any) { logTo(logw, format, args...) }

	s, err := gocron.NewScheduler(gocron.WithMonitor(skipLog(func() {
		logf("skipped: the previous crawl is still running")
	})))
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var closeDone sync.Once
	var runs atomic.Int64
	var stoppedCrawl atomic.Bool // a signal stopped a crawl, which saved its position
	task := func() {
		// gocron's singleton mode runs one task at a time: runs is not
		// raced by another task.
		if ctx.Err() != nil || (*limit > 0 && runs.Load() >= int64(*limit)) {
			return
		}
		stats, err := crawlOnce(ctx, f, seeds, rate, io.Discard)
		if err != nil && ctx.Err() != nil {
			stoppedCrawl.Store(true)
		}
		switch {
		case f.jsonOut:
			mu.Lock()
			json.NewEncoder(stdout).Encode(crawlJSON(stats, err))
			mu.Unlock()
			if stats.Run.Full && !f.full {
				logf("full rescan (the last full one was older than --full-every %s)", sf.fullEvery)
			}
		case err != nil && ctx.Err() != nil:
			logf("stopped: %s (progress saved)", summaryLine(stats, err))
		case err != nil:
			logf("failed: %s: %s", summaryLine(stats, err), oneLine(err.Error()))
		case stats.Run.Full && !f.full:
			logf("%s (full rescan: the last full one was older than --full-every %s)", summaryLine(stats, nil), sf.fullEvery)
		default:
			logf("%s", summaryLine(stats, nil))
		}
		if n := runs.Add(1); *limit > 0 && n >= int64(*limit) {
			closeDone.Do(func() { close(done) })
		}
	}
	job, err := s.NewJob(def, gocron.NewTask(task), opts...)
	if err != nil {
		s.Shutdown()
		return usagef("schedule: %s", cronReason(err))
	}
	s.Start()
	first := "now"
	if sf.cron != "" && !sf.now {
		if next, err := job.NextRun(); err == nil && !next.IsZero() {
			first = next.UTC().Format(time.RFC3339)
		}
	}
	logf("scheduled: %s (first run %s)", scheduleWhat(sf, f.all, pos), first)
	select {
	case <-ctx.Done():
	case <-done:
	}
	// Shutdown waits for the crawl that runs (it stops within a second of
	// the signal, saving its position).
	err = s.Shutdown()
	logf("scheduler stopped after %d runs", runs.Load())
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	if stoppedCrawl.Load() {
		return resumable(ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		return err // stopped by a signal: exit 130
	}
	return nil // after --runs
}

func scheduleWhat(sf *scheduleFlags, all bool, models []string) string {
	what := fmt.Sprint(models)
	if all {
		what = "--all"
	}
	return fmt.Sprintf("crawl %s %s", what, sf)
}
