package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

func TestScheduleFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--cron", "0 3 * *"}, `schedule: --cron "0 3 * *": expected exactly 5 fields, found 4`},
		{[]string{"--cron", "61 * * * *"}, `schedule: --cron "61 * * * *": end of range (61) above maximum (59): 61`},
		{[]string{"--cron", "CRON_TZ=Mars/Base 0 3 * * *"}, `schedule: --cron "CRON_TZ=Mars/Base 0 3 * * *": provided bad location Mars/Base: unknown time zone Mars/Base`},
		{[]string{"--every", "0s"}, "schedule: --every must be positive, not 0s (e.g. 6h)"},
		{[]string{"--every", "-5m"}, "schedule: --every must be positive, not -5m0s (e.g. 6h)"},
		{[]string{"--every", "500ms"}, "schedule: --every must be at least 1s"},
		{[]string{"--every", "1h", "--cron", "0 3 * * *"}, "schedule: give --every or --cron, not both"},
		{[]string{"--now"}, "schedule: --now goes with --cron (or --every)"},
		{nil, "schedule: give --every or --cron"},
		{[]string{"--every", "1h", "--runs", "-1"}, "schedule: --runs must not be negative"},
		{[]string{"--every", "1h", "--endpoint", "ftp://x"}, `schedule: invalid endpoint "ftp://x": want http(s)://host[:port]`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append(append([]string{"schedule", "--db", db}, tt.args...), "a/b")
			code, stdout, stderr := cli(t, args...)
			want := "hflineage: " + tt.msg + "\nrun 'hflineage schedule --help' for usage\n"
			if code != exitUsage || stdout != "" || stderr != want {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, stdout, stderr, want)
			}
		})
	}
	// serve checks its schedule the same way.
	code, _, stderr := cli(t, "serve", "--db", db, "--cron", "bogus", "a/b")
	if want := "hflineage: serve: --cron \"bogus\": expected exactly 5 fields, found 1\nrun 'hflineage serve --help' for usage\n"; code != exitUsage || stderr != want {
		t.Errorf("serve --cron bogus: exit %d, stderr %q", code, stderr)
	}
}

// background runs hflineage in-process until it returns or ctx ends.
func background(ctx context.Context, args ...string) (stdout, stderr *lockedBuffer, result chan int) {
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	result = make(chan int, 1)
	go func() {
		err := run(ctx, args, stdout, stderr)
		result <- exitCode(err, stderr)
	}()
	return stdout, stderr, result
}

// waitUntil waits for cond, which must depend only on what lockedBuffers
// hold (background's output): it looks again after each write to one,
// and fails the test after a minute without cond.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(time.Minute) // fails a test that would hang
	for {
		next := nextWrite()
		if cond() {
			return
		}
		select {
		case <-next:
		case <-deadline:
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// holdFirstRequest holds the fake Hub's first request until its client
// gives up or release is called; held is closed when it arrives. Later
// requests go through.
func holdFirstRequest(srv *hubtest.Server) (held <-chan struct{}, release func()) {
	h, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv.Fault = func(n int, r *http.Request) hubtest.Fault {
		if n == 1 {
			close(h)
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		return hubtest.NoFault
	}
	return h, func() { once.Do(func() { close(gate) }) }
}

// TestScheduleJSON: --json prints one JSON object per run, with the keys of
// crawl --json, and nothing else on stdout; --every starts at once.
func TestScheduleJSON(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	code, stdout, stderr := cli(t, "crawl", "--json", "--db", filepath.Join(t.TempDir(), "db"), "--endpoint", srv.URL, "a/ft")
	if code != 0 {
		t.Fatal(stderr)
	}
	var crawlOut map[string]any
	if err := json.Unmarshal([]byte(stdout), &crawlOut); err != nil {
		t.Fatal(err)
	}
	wantKeys := sortedKeys(crawlOut)

	code, stdout, stderr = cli(t, "schedule", "--every", "1s", "--runs", "2", "--json", "--db", db, "--endpoint", srv.URL, "a/ft")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines on stdout, want 2:\n%s", len(lines), stdout)
	}
	for i, l := range lines {
		var out map[string]any
		if err := json.Unmarshal([]byte(l), &out); err != nil {
			t.Fatalf("line %d: %v: %q", i+1, err, l)
		}
		if keys := sortedKeys(out); !slices.Equal(keys, wantKeys) {
			t.Errorf("run %d: keys %v, want those of crawl --json %v", i+1, keys, wantKeys)
		}
		if out["run"] != float64(i+1) || out["complete"] != true || out["models"] != float64(4) {
			t.Errorf("run %d: %s", i+1, l)
		}
	}
	if !strings.Contains(stderr, " scheduled: crawl [a/ft] every 1s (first run now)\n") || !strings.HasSuffix(stderr, " scheduler stopped after 2 runs\n") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestScheduleCron: --cron waits for its first tick (no request meanwhile)
// and says when that is; a signal then stops it with exit 130. With --now
// it crawls at once.
func TestScheduleCron(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr, result := background(ctx, "schedule", "--cron", "CRON_TZ=UTC 0 3 * * *", "--db", db, "--endpoint", srv.URL, "a/ft")
	waitUntil(t, "the scheduled line", func() bool { return strings.Contains(stdout.String(), "scheduled:") })
	// The next 03:00 UTC, as the command worked it out a moment ago: the
	// day's or the next day's (the test may run across 03:00).
	var wants []string
	for _, day := range []time.Time{time.Now().UTC().Add(-time.Minute), time.Now().UTC()} {
		next := day.Truncate(24 * time.Hour).Add(3 * time.Hour)
		if !next.After(day) {
			next = next.Add(24 * time.Hour)
		}
		wants = append(wants, ` scheduled: crawl [a/ft] on "CRON_TZ=UTC 0 3 * * *" (first run `+next.Format(time.RFC3339)+")\n")
	}
	if got := stdout.String(); !strings.HasSuffix(got, wants[0]) && !strings.HasSuffix(got, wants[1]) {
		t.Errorf("stdout %q, want it to end with %q", got, wants[1])
	}
	cancel()
	if code := <-result; code != exitCanceled {
		t.Errorf("exit %d after the signal, want 130: %s", code, stderr)
	}
	if n := srv.RequestCount(); n != 0 {
		t.Errorf("%d requests before the first tick", n)
	}
	if !strings.HasSuffix(stdout.String(), " scheduler stopped after 0 runs\n") || stderr.String() != "hflineage: interrupted\n" {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}

	code, out, errs := cli(t, "schedule", "--cron", "0 3 * * *", "--now", "--runs", "1", "--db", db, "--endpoint", srv.URL, "a/ft")
	if code != 0 || !strings.Contains(out, "(first run now)\n") || !strings.Contains(out, " crawl: 4 models") {
		t.Errorf("--now: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// TestScheduleSkipsOverlap: a tick that comes while the crawl still runs
// is skipped and logged (gocron's singleton mode), and the run goes on.
// The crawl's first request is held until a tick has been skipped.
func TestScheduleSkipsOverlap(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	_, release := holdFirstRequest(srv)
	defer release() // before srv.Close: it waits for the held request
	db := filepath.Join(t.TempDir(), "db")
	out, errs, result := background(context.Background(), "schedule", "--every", "1s", "--runs", "1", "--mode", "walk", "--db", db, "--endpoint", srv.URL, "b/lora")
	waitUntil(t, "a skipped tick", func() bool { return strings.Contains(out.String(), " skipped: the previous crawl is still running") })
	release()
	if code := <-result; code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	stdout := out.String()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	skipped := 0
	for _, l := range lines {
		if strings.HasSuffix(l, " skipped: the previous crawl is still running") {
			skipped++
		}
	}
	// A tick may be skipped after the run's line is printed and before its
	// task returns: the run's line is somewhere, the last line says stopped.
	ran := slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, " crawl: 1 models") })
	if skipped == 0 || !ran || !strings.HasSuffix(lines[len(lines)-1], " scheduler stopped after 1 runs") {
		t.Errorf("no skipped tick, or the run missing:\n%s", stdout)
	}
}

// TestScheduleStopsDuringCrawl: a signal during a crawl stops it, the
// position saved, exit 130.
func TestScheduleStopsDuringCrawl(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	held, release := holdFirstRequest(srv) // the crawl runs until the signal
	defer release()
	db := filepath.Join(t.TempDir(), "db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr, result := background(ctx, "schedule", "--every", "1h", "--mode", "walk", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B")
	select {
	case <-held:
	case <-time.After(time.Minute): // fails a test that would hang
		t.Fatal("no request to the Hub")
	}
	cancel()
	if code := <-result; code != exitCanceled {
		t.Errorf("exit %d, want 130: %s", code, stderr)
	}
	if !strings.Contains(stdout.String(), " stopped: crawl: ") || !strings.HasSuffix(stdout.String(), " scheduler stopped after 1 runs\n") ||
		stderr.String() != "hflineage: interrupted; "+errResumable.Error()+"\n" {
		t.Errorf("stdout:\n%s\nstderr %q", stdout, stderr)
	}
}
