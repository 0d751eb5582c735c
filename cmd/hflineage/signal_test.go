package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// The signal tests interrupt every command of the real binary mid-way, as
// Ctrl-C or SIGTERM would, and hold it to the contract: it exits within a
// second of the signal (stopLimit; more under the race detector, which
// slows the machine the tests share), with exit code 130 (serve: 0, its
// clean stop), leaving no partial -o file and no temporary file behind.
//
// "Mid-way" is observed, not guessed: a read command is signalled once it
// holds the database open, with its stdout a pipe that nobody reads and
// that is already full, so it cannot finish before the signal however fast
// it computes; an export once it is blocked writing to the pipe; a picture
// while Graphviz lays it out; a crawl at a request the fake Hub never
// answers.

// signalWorld is the synthetic Hub the tests share: 50,000 models, whose
// largest family (signalRoot) has about 11,000 members, too many for
// Graphviz to lay out in under a minute.
func signalWorld() *hubtest.World {
	return hubtest.Generate(hubtest.GenOptions{Models: 50000, Seed: 7})
}

const (
	signalRoot  = "base-org-0/Base-Model-0"
	signalSmall = "base-org-2/Base-Model-2" // walked to depth 1 first: about 1,000 models
)

func TestSignals(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs Linux's /proc to see where the process is")
	}
	bin := buildBinary(t)
	world := signalWorld()
	hub := hubtest.NewServer(world)
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	// A walk first, so that the scan after it logs every change (diff has
	// 50,000 models to list).
	for _, args := range [][]string{{"--mode", "walk", "--depth", "1", signalSmall}, {"--all"}} {
		out, err := exec.Command(bin, append([]string{"crawl", "--db", db, "--endpoint", hub.URL}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("crawl %v: %v\n%s", args, err, out)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		sig  syscall.Signal
	}{
		{"count", []string{"count", signalRoot}, syscall.SIGINT},
		{"ancestors", []string{"ancestors", signalRoot}, syscall.SIGTERM},
		{"stats", []string{"stats"}, syscall.SIGINT},
		{"stats-root", []string{"stats", "--root", signalRoot}, syscall.SIGTERM},
		{"history", []string{"history", signalRoot}, syscall.SIGINT},
		{"diff", []string{"diff"}, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(tc.args, "--db", db)...)
			cmd.Stdout = fullPipe(t)
			opened := opens(t, db)
			p := start(t, cmd)
			waitOn(t, p, "the database open", opened, func() bool { return holdsOpen(p.pid(), db) })
			where := "computing"
			if writingToPipe(p.pid()) {
				where = "blocked on stdout"
			}
			p.signal(t, tc.sig, where)
			p.wantExit(t, exitCanceled, "hflineage: interrupted\n")
		})
	}

	t.Run("export-stdout-full-pipe", func(t *testing.T) {
		cmd := exec.Command(bin, "export", "--db", db, "--format", "dot")
		cmd.Stdout = emptyPipe(t)
		p := start(t, cmd)
		waitFor(t, p, "a write blocked on the full pipe", func() bool { return writingToPipe(p.pid()) })
		p.signal(t, syscall.SIGTERM, "blocked on stdout")
		p.wantExit(t, exitCanceled, "hflineage: interrupted\n")
	})

	// A picture: Graphviz is laying out 11,000 nodes. Ctrl-C in a terminal
	// signals the whole process group, Graphviz included; SIGTERM (say from
	// a service manager) only hflineage, which must stop Graphviz itself.
	for name, sig := range map[string]syscall.Signal{"sigint-group": syscall.SIGINT, "sigterm": syscall.SIGTERM} {
		t.Run("export-svg-o-"+name, func(t *testing.T) {
			if _, err := exec.LookPath("sfdp"); err != nil {
				t.Skip("needs Graphviz")
			}
			dir := t.TempDir()
			cmd := exec.Command(bin, "export", "--db", db, "--format", "svg", "--root", signalRoot, "-o", filepath.Join(dir, "f.svg"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			p := start(t, cmd)
			var layout []int
			waitFor(t, p, "Graphviz running", func() bool { layout = children(p.pid()); return len(layout) > 0 })
			if sig == syscall.SIGINT {
				p.signalGroup(t, sig, "Graphviz laying out")
			} else {
				p.signal(t, sig, "Graphviz laying out")
			}
			p.wantExit(t, exitCanceled, "hflineage: interrupted\n")
			if left, _ := os.ReadDir(dir); len(left) > 0 {
				t.Errorf("left behind in the -o directory: %v", left)
			}
			for _, pid := range layout {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
					t.Errorf("Graphviz (pid %d) still runs", pid)
				}
			}
		})
	}

	// The crawling commands: the fake Hub never answers from request hangAt
	// on, and the signal comes with that request.
	crawlHub := func(t *testing.T, hangAt int, onHang func()) *hubtest.Server {
		release := make(chan struct{})
		var once sync.Once
		hub := hubtest.NewUnstartedServer(world)
		hub.MaxPageSize = 20
		hub.Fault = func(n int, r *http.Request) hubtest.Fault {
			if n >= hangAt {
				once.Do(onHang)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
			return hubtest.NoFault
		}
		hub.Start()
		t.Cleanup(func() { close(release); hub.Close() })
		return hub
	}
	for _, tc := range []struct {
		name string
		args []string
		sig  syscall.Signal
	}{
		{"crawl", []string{"crawl", signalRoot}, syscall.SIGINT},
		{"schedule", []string{"schedule", "--every", "1h", signalRoot}, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *proc
			ready := make(chan struct{})
			hub := crawlHub(t, 12, func() { <-ready; p.signal(t, tc.sig, "a request in flight") })
			cmd := exec.Command(bin, append(tc.args, "--db", filepath.Join(t.TempDir(), "db"), "--endpoint", hub.URL)...)
			p = start(t, cmd)
			close(ready)
			p.wantExit(t, exitCanceled, "hflineage: interrupted; progress is saved (run the same command again to resume)\n")
			if !p.signalled() {
				t.Fatal("the crawl ended before the Hub stopped answering")
			}
		})
	}

	t.Run("schedule-idle", func(t *testing.T) {
		cmd := exec.Command(bin, "schedule", "--every", "1h", "--db", filepath.Join(t.TempDir(), "db"), "--endpoint", hub.URL, "--mode", "walk", "--depth", "1", signalSmall)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		p := start(t, cmd)
		lines := bufio.NewScanner(out)
		for lines.Scan() && !strings.Contains(lines.Text(), " crawl: ") {
		}
		p.signal(t, syscall.SIGINT, "waiting for the next run")
		go func() {
			for lines.Scan() {
			}
		}()
		p.wantExit(t, exitCanceled, "hflineage: interrupted\n")
	})

	// serve: a scheduled crawl waits for the Hub, and a client that stopped
	// reading holds an export of the whole database.
	t.Run("serve", func(t *testing.T) {
		served := filepath.Join(t.TempDir(), "db")
		copyTree(t, db, served)
		hanging := make(chan struct{})
		hub := crawlHub(t, 1, func() { close(hanging) })
		addrFile := filepath.Join(t.TempDir(), "addr")
		cmd := exec.Command(bin, "serve", "--db", served, "--addr", "127.0.0.1:0", "--addr-file", addrFile,
			"--endpoint", hub.URL, "--every", "1h", signalRoot)
		p := start(t, cmd)
		// serve writes the address file, then says it listens.
		waitUntil(t, "serve to listen", func() bool { return strings.Contains(p.stderr.String(), "serve: listening on") })
		b, err := os.ReadFile(addrFile)
		addr := strings.TrimSpace(string(b))
		if err != nil || addr == "" {
			t.Fatalf("serve listens, yet its address file: %v %q", err, b)
		}
		select {
		case <-hanging:
		case <-time.After(30 * time.Second):
			t.Fatal("the scheduled crawl did not reach the Hub")
		}
		stalled := stalledClient(t, addr, "/api/v1/export?format=dot")
		defer stalled.Close()
		p.signal(t, syscall.SIGTERM, "a crawl in flight and an export to a stalled client")
		p.wantExit(t, exitOK, "")
		if _, err := os.Stat(filepath.Join(served, serveAddrFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve left %s behind", serveAddrFile)
		}
	})
}

// proc is a started command and when it was signalled.
type proc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	mu     sync.Mutex
	sent   time.Time
	what   string
}

func start(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the process; where says what it was doing.
func (p *proc) signal(t *testing.T, sig syscall.Signal, where string) {
	p.send(t, sig, where, p.pid())
}

// signalGroup sends sig to the process's group, as a terminal's Ctrl-C.
func (p *proc) signalGroup(t *testing.T, sig syscall.Signal, where string) {
	p.send(t, sig, where, -p.pid())
}

func (p *proc) send(t *testing.T, sig syscall.Signal, where string, pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		t.Errorf("the command exited before the signal: %s", p.stderr)
		return
	}
	p.sent, p.what = time.Now(), sig.String()+" while "+where
	if err := syscall.Kill(pid, sig); err != nil {
		t.Error(err)
	}
}

func (p *proc) signalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.sent.IsZero()
}

// wantExit waits for the process and checks that it exited after the
// signal, its exit code and its stderr's last line. How long it took is
// logged, not asserted (the machine's load decides that as much as the
// command does); the 30 s bound only fails a command that would hang.
func (p *proc) wantExit(t *testing.T, code int, lastLine string) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after %s; stderr: %s", p.what, p.stderr)
	}
	p.mu.Lock()
	sent, what := p.sent, p.what
	p.mu.Unlock()
	if sent.IsZero() {
		t.Fatalf("exited (%d) before the signal: %s", p.cmd.ProcessState.ExitCode(), p.stderr)
	}
	took := time.Since(sent)
	t.Logf("%s: exit %d after %s", what, p.cmd.ProcessState.ExitCode(), took.Round(time.Millisecond))
	if got := p.cmd.ProcessState.ExitCode(); got != code {
		t.Errorf("exit %d, want %d; stderr: %s", got, code, p.stderr)
	}
	if lastLine != "" && !strings.HasSuffix(p.stderr.String(), lastLine) {
		t.Errorf("stderr does not end with %q: %q", lastLine, p.stderr)
	}
}

// waitOn waits until cond holds, looking again whenever wake receives (or,
// when wake is nil, every millisecond); it fails when the process exits
// first or cond does not come within 30 s.
func waitOn(t *testing.T, p *proc, what string, wake <-chan struct{}, cond func() bool) {
	t.Helper()
	if wake == nil {
		waitFor(t, p, what, cond)
		return
	}
	deadline := time.After(30 * time.Second) // fails a test that would hang
	for !cond() {
		select {
		case <-wake:
		case <-p.exited:
			if !cond() {
				t.Fatalf("exited (%d) before %s: %s", p.cmd.ProcessState.ExitCode(), what, p.stderr)
			}
		case <-deadline:
			t.Fatalf("no %s after 30 s: %s", what, p.stderr)
		}
	}
}

// waitFor polls until cond holds; it fails when the process exits first or
// cond does not come within 30 s. cond observes the process through /proc
// (the wait its threads are in, its children): the kernel tells nothing of
// these as they happen, so this, unlike the other waits here, looks again
// every millisecond. (Files opened do have an event: waitOn and opens.)
func waitFor(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if !p.running() {
			t.Fatalf("exited (%d) before %s: %s", p.cmd.ProcessState.ExitCode(), what, p.stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30 s: %s", what, p.stderr)
		}
		time.Sleep(time.Millisecond)
	}
}

// emptyPipe returns the write end of a pipe that nobody reads.
func emptyPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return w
}

// fullPipe returns the write end of a pipe that nobody reads and that is
// already full: the first write to it blocks.
func fullPipe(t *testing.T) *os.File {
	t.Helper()
	w := emptyPipe(t)
	fd := int(w.Fd()) // (Fd makes it blocking, as the child gets it)
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fd, chunk); err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			break
		}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	return w
}

// holdsOpen reports whether process pid has a file in dir open.
func holdsOpen(pid int, dir string) bool {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			return true
		}
	}
	return false
}

// writingToPipe reports whether a thread of process pid waits in a write
// to a pipe (Linux names the wait pipe_write or anon_pipe_write).
func writingToPipe(pid int) bool {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/wchan", pid, task.Name()))
		if strings.HasSuffix(string(b), "pipe_write") {
			return true
		}
	}
	return false
}

// children returns the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// stalledClient asks addr for path and reads only the first bytes of the
// answer, with a small receive buffer: the server's writes soon block.
func stalledClient(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	first := make([]byte, 1)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Read(first); err != nil {
		t.Fatalf("no answer to %s: %v", path, err)
	}
	// The export is under way; its writes fill the buffers and block
	// (whether they have yet when the signal comes, shutdown must end it).
	return conn
}
