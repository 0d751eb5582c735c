package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
)

// busyStats is a crawl with every field of the progress line.
var busyStats = crawler.Stats{Models: 123456, Edges: 98765, Pages: 4321, Requests: 4400, Elapsed: 754 * time.Second,
	Pace: crawler.PaceState{Limit: 3.3, Remaining: 812, Quota: 1000, Window: 5 * time.Minute, Waits: 3, Waited: 95 * time.Second}}

func TestFitProgress(t *testing.T) {
	quiet := crawler.Stats{Models: 12, Edges: 11, Pages: 3, Requests: 3, Elapsed: 2 * time.Second,
		Pace: crawler.PaceState{Remaining: -1, Quota: -1}}
	tests := []struct {
		s     crawler.Stats
		width int
		want  string
	}{
		{busyStats, 200, "models 123456 · edges 98765 · requests 4400 · 5.8 req/s · capped at 3.3/s · quota 812/1000 left per 5m0s · waited 1m35s for resets"},
		{busyStats, 120, "models 123456 · edges 98765 · requests 4400 · 5.8 req/s · waited 1m35s for resets"},
		{busyStats, 80, "models 123456 · edges 98765 · requests 4400 · 5.8 req/s"},
		{busyStats, 60, "models 123456 · requests 4400 · 5.8 req/s"},
		{busyStats, 40, "models 123456"},
		{busyStats, 24, "123456"},
		{busyStats, 10, ""},
		{busyStats, 0, ""},
		{quiet, 80, "models 12 · edges 11 · requests 3 · 1.5 req/s"},
		{quiet, 40, "models 12 · 1.5 req/s"},
	}
	for _, tt := range tests {
		got := fitProgress(tt.s, tt.width)
		if got != tt.want {
			t.Errorf("width %d: %q, want %q", tt.width, got, tt.want)
		}
		// The whole line: the spinner, the description, the elapsed time
		// (which may have grown) and the empty last column.
		elapsed := (tt.s.Elapsed.Truncate(time.Second)).String()
		if n := utf8.RuneCountInString(got) + progressFrame + len(elapsed) + elapsedGrowth; got != "" && n > tt.width-1 {
			t.Errorf("width %d: the line takes %d columns", tt.width, n)
		}
	}
}

// lockedBuffer is what the bar writes to: it redraws from a goroutine of
// its own.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	n, err := l.b.Write(p)
	l.mu.Unlock()
	wrote()
	return n, err
}

// written is closed and replaced after every write to a lockedBuffer, so
// that waitUntil looks again when output comes, not on a timer.
var written = struct {
	sync.Mutex
	c chan struct{}
}{c: make(chan struct{})}

// nextWrite is closed at the next write to any lockedBuffer.
func nextWrite() <-chan struct{} {
	written.Lock()
	defer written.Unlock()
	return written.c
}

func wrote() {
	written.Lock()
	close(written.c)
	written.c = make(chan struct{})
	written.Unlock()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgressLineNeverWraps draws the real bar on terminals of several
// widths: every frame it writes fits in the line, warnings go above it on
// lines of their own, and finishing clears it.
func TestProgressLineNeverWraps(t *testing.T) {
	for _, width := range []int{40, 80, 120, 200} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			t.Parallel()
			var out lockedBuffer
			p := newProgressBar(&out, func() int { return width })
			p.throttle = 0 // each update draws
			s := busyStats
			for i := range 4 {
				s.Pages += int64(i)
				s.Models += int64(1000 * i)
				p.update(s)
				if i == 2 {
					p.println("warning: a model was skipped")
				}
			}
			p.finish()
			text := out.String()
			if !strings.HasSuffix(text, "\x1b[2K\r") {
				t.Errorf("not cleared at the end: %q", text[max(0, len(text)-40):])
			}
			if strings.Count(text, "warning: a model was skipped\n") != 1 {
				t.Errorf("the warning is not on a line of its own: %q", text)
			}
			frames := 0
			for _, frame := range strings.Split(text, "\r") {
				frame = strings.NewReplacer("\x1b[0K", "", "\x1b[2K", "", "warning: a model was skipped\n", "").Replace(frame)
				if frame == "" {
					continue
				}
				frames++
				if strings.Contains(frame, "\n") {
					t.Errorf("a frame holds a line break: %q", frame)
				}
				if n := utf8.RuneCountInString(frame); n > width-1 {
					t.Errorf("a frame takes %d columns of %d: %q", n, width, frame)
				}
				if !strings.Contains(frame, "models ") {
					t.Errorf("frame without the models: %q", frame)
				}
			}
			if frames < 3 {
				t.Errorf("only %d frames drawn: %q", frames, text)
			}
		})
	}
}

// TestNoProgressOffTerminal: a crawl whose stderr is not a terminal (a
// buffer, a file, a pipe) writes no progress line, only the plan and the
// summary.
func TestNoProgressOffTerminal(t *testing.T) {
	for _, w := range []*os.File{nil, mustCreate(t)} {
		var p *progress
		if w == nil {
			p = newProgress(&bytes.Buffer{})
		} else {
			p = newProgress(w)
		}
		p.update(busyStats)
		p.finish()
		if p.width != nil || p.bar != nil {
			t.Errorf("a progress bar on %v", w)
		}
	}
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	code, _, stderr := cli(t, "crawl", "--db", filepath.Join(t.TempDir(), "db"), "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B")
	if code != 0 || strings.ContainsAny(stderr, "\r\x1b") || strings.Count(stderr, "\n") != 2 ||
		!strings.HasPrefix(stderr, "plan: ") || !strings.Contains(stderr, "\ncrawl: 6 models") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func mustCreate(t *testing.T) *os.File {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestProgressOnTerminal crawls with stderr on a pseudo-terminal 40 and 80
// columns wide, as main gives it: the progress line is drawn, every frame
// fits in the width (so the terminal never wraps it), and it is cleared
// before the summary.
func TestProgressOnTerminal(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	// Every update draws a frame (a frame per page or so), not one per
	// 200 ms: the frames do not depend on how fast the crawl runs.
	throttle := progressThrottle
	progressThrottle = 0
	t.Cleanup(func() { progressThrottle = throttle })
	for _, cols := range []uint16{40, 80} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			if err := pty.Setsize(ptmx, &pty.Winsize{Cols: cols, Rows: 24}); err != nil {
				t.Fatal(err)
			}
			var screen lockedBuffer
			read := make(chan struct{})
			go func() {
				defer close(read)
				io.Copy(&screen, ptmx)
			}()
			var stdout bytes.Buffer
			db := filepath.Join(t.TempDir(), "db")
			err = run(context.Background(), []string{"crawl", "--db", db, "--endpoint", srv.URL, "--parallel", "1", "meta-llama/Llama-3.1-8B"}, &stdout, tty)
			if err != nil {
				t.Fatal(err)
			}
			tty.Close() // the reader sees the end once the terminal is drained
			<-read
			text := screen.String()
			frames := 0
			for _, frame := range strings.Split(text, "\r") {
				frame = strings.NewReplacer("\x1b[0K", "", "\x1b[2K", "").Replace(frame)
				r, _ := utf8.DecodeRuneInString(frame)
				if r < '⠀' || r > '⣿' { // not a frame: the plan, the summary, the line ends
					continue
				}
				frames++
				if n := utf8.RuneCountInString(frame); n > int(cols)-1 || strings.Contains(frame, "\n") {
					t.Errorf("frame of %d columns on a %d-column terminal: %q", n, cols, frame)
				}
			}
			if frames < 2 || !strings.Contains(text, "\x1b[2K\rcrawl: 6 models") {
				t.Errorf("%d frames; the summary after a cleared line? %q", frames, text)
			}
		})
	}
}
