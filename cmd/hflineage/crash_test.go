package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// recordings holds the real Hub recordings, read from ../shared when present
// (never committed: they carry no license).
const recordings = "../../../shared/hub-recordings/model_metadata_analyses"

// recordingPath returns the path of a recorded file, and whether it can be
// used (see hubtest.Recording).
func recordingPath(file string) (string, bool) { return hubtest.Recording(recordings, file) }

// crashWorld is the real Llama-2-7b tree when the recordings are present
// (and not hidden), else a generated world. Tests using it derive their
// kill points from the crawl's size, so they hold for both.
func crashWorld(t *testing.T) (*hubtest.World, string) {
	if path, ok := recordingPath("Llama-2-7b_finetunes_20250422_180448.json"); ok {
		tr, err := hubtest.ReadTree(path)
		if err != nil {
			t.Fatal(err)
		}
		return tr.World(), tr.Root
	}
	t.Log("recordings absent or hidden: using a generated world")
	return hubtest.Generate(hubtest.GenOptions{Models: 1500, Seed: 3}), "base-org-0/Base-Model-0"
}

// killer runs the real binary and SIGKILLs it when the fake Hub receives
// a chosen request (its Fault hook), as a crash at any moment would.
type killer struct {
	bin    string
	mu     sync.Mutex
	proc   *os.Process // the running process, nil between runs
	killAt int         // the Hub's request number at which it dies
}

// fault is the Hub's Fault hook: it kills the running process at request
// killAt and otherwise lets every request through.
func (k *killer) fault(n int, _ *http.Request) hubtest.Fault {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n == k.killAt && k.proc != nil {
		k.proc.Signal(syscall.SIGKILL)
	}
	return hubtest.NoFault
}

// run runs the binary with args until it ends, killed when the Hub gets
// its request number kill (-1: never), and reports whether it was. Any
// other failure fails the test.
func (k *killer) run(t *testing.T, kill int, args ...string) (killed bool) {
	t.Helper()
	cmd := exec.Command(k.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	k.mu.Lock()
	k.killAt = kill
	if err := cmd.Start(); err != nil {
		k.mu.Unlock()
		t.Fatal(err)
	}
	k.proc = cmd.Process
	k.mu.Unlock()
	err := cmd.Wait()
	k.mu.Lock()
	k.proc = nil
	k.mu.Unlock()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return true
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args[:min(2, len(args))], " "), err, stderr.String())
	}
	return false
}

// TestSIGKILLAndResume kills a real crawl process three times at different
// points and resumes it; the result must equal a clean crawl's.
func TestSIGKILLAndResume(t *testing.T) {
	bin := buildBinary(t)
	world, root := crashWorld(t)
	hub := hubtest.NewUnstartedServer(world)
	hub.MaxPageSize = 7
	k := &killer{bin: bin}
	hub.Fault = k.fault
	hub.Start()
	defer hub.Close()

	crawlOnce := func(db string, kill int) (killed bool) {
		return k.run(t, kill, "crawl", "--db", db, "--endpoint", hub.URL, root)
	}
	export := func(db string) []byte {
		out, err := exec.Command(bin, "export", "--db", db, "--format", "dot").Output()
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		return out
	}

	clean := filepath.Join(t.TempDir(), "clean")
	crawlOnce(clean, -1)
	cleanRequests := hub.RequestCount()
	want := export(clean)

	crashed := filepath.Join(t.TempDir(), "crashed")
	kills := 0
	for _, frac := range []float64{0.2, 0.5, 0.8} {
		at := hub.RequestCount() + int(frac*float64(cleanRequests)/2)
		if crawlOnce(crashed, at) {
			kills++
		}
	}
	if crawlOnce(crashed, -1) {
		t.Fatal("the final run was killed")
	}
	resumedRequests := hub.RequestCount() - cleanRequests
	if kills != 3 {
		t.Errorf("only %d of 3 runs were killed mid-crawl", kills)
	}
	if got := export(crashed); !bytes.Equal(got, want) {
		t.Errorf("graph after 3 kills differs from a clean crawl (%d vs %d bytes)", len(got), len(want))
	}
	ratio := float64(resumedRequests) / float64(cleanRequests)
	t.Logf("clean crawl: %d requests; killed 3 times and resumed: %d requests (%.3f×)", cleanRequests, resumedRequests, ratio)
	if ratio > 1.25 {
		t.Errorf("resumed crawl cost %.2f× a clean one, want ≤ 1.25×", ratio)
	}
}

// TestSIGTERMSavesAndExits130 interrupts a crawl with SIGTERM halfway
// (measured on a clean crawl of the same world): it must exit 130 saying
// progress is saved, and the rerun must finish the family.
func TestSIGTERMSavesAndExits130(t *testing.T) {
	bin := buildBinary(t)
	world, root := crashWorld(t)
	hub := hubtest.NewUnstartedServer(world)
	hub.MaxPageSize = 5
	var mu sync.Mutex
	var proc *os.Process
	termAt := -1
	hub.Fault = func(n int, _ *http.Request) hubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if n == termAt && proc != nil {
			proc.Signal(syscall.SIGTERM)
		}
		return hubtest.NoFault
	}
	hub.Start()
	defer hub.Close()
	if out, err := exec.Command(bin, "crawl", "--db", filepath.Join(t.TempDir(), "clean"), "--endpoint", hub.URL, root).CombinedOutput(); err != nil {
		t.Fatalf("clean crawl: %v %s", err, out)
	}
	clean := hub.RequestCount()
	if clean < 4 {
		t.Fatalf("a clean crawl takes %d requests: too few to interrupt in the middle", clean)
	}

	db := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(bin, "crawl", "--db", db, "--endpoint", hub.URL, root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	mu.Lock()
	termAt = clean + clean/2
	if err := cmd.Start(); err != nil {
		mu.Unlock()
		t.Fatal(err)
	}
	proc = cmd.Process
	mu.Unlock()
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !bytes.Contains(stderr.Bytes(), []byte("progress is saved")) {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	out, err := exec.Command(bin, "crawl", "--db", db, "--endpoint", hub.URL, root).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("(resumed)")) {
		t.Fatalf("rerun: %v %s", err, out)
	}
}
