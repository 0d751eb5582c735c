package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The real binary is built once per test run and shared by every test that
// runs it (they only execute it); TestMain removes it.
var binary struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// buildBinary returns the hflineage binary, compiled on first use.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "hflineage-test-bin-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "hflineage")
		if out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// crawlSetup runs `crawl args…` to build a test's database. Under the race
// detector (and not -short) it runs the real binary, built once without it:
// an in-process crawl --all of a 50,000-model Hub under -race took most of
// the minutes of the tests that start with one, and checks nothing those
// tests look at. The crawl itself is tested under the race detector by the
// crawler's tests and by the crawls these tests make after their setup;
// without -race the setup crawl runs in-process.
func crawlSetup(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"crawl"}, args...)
	if !raceEnabled || testing.Short() {
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return
	}
	if out, err := exec.Command(buildBinary(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}
