package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestExportOutputTargets writes exports onto every kind of -o: new and
// regular files atomically, FIFOs, devices and symlinks as > would, and
// refuses directories.
func TestExportOutputTargets(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--mode", "walk", "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatal(stderr)
	}
	code, want, stderr := cli(t, "export", "--db", db, "--format", "csv")
	if code != 0 || !strings.Contains(want, "a/ft") {
		t.Fatalf("export to stdout: exit %d, %s", code, stderr)
	}

	// Device nodes are shared with the whole machine: before writing to
	// one, make sure it would be written in place, never replaced.
	devices := []string{"/dev/null", "/dev/full"}
	for _, dev := range devices {
		if _, inPlace, err := outputTarget("export", "-o", dev); err == nil && !inPlace {
			t.Fatalf("outputTarget(%s) would replace the device", dev)
		}
	}

	tests := []struct {
		name string
		// setup makes what -o names and returns a function checking the
		// result after the export (nil: none).
		setup  func(t *testing.T, path string) func(t *testing.T)
		code   int
		stderr string
	}{
		{"new file", func(t *testing.T, path string) func(t *testing.T) {
			return func(t *testing.T) { wantRegular(t, path, want, 0o644) }
		}, 0, ""},
		{"existing regular file keeps its mode", func(t *testing.T, path string) func(t *testing.T) {
			writeFile(t, path, "old content that is longer than nothing\n", 0o600)
			return func(t *testing.T) { wantRegular(t, path, want, 0o600) }
		}, 0, ""},
		{"symlink to a regular file", func(t *testing.T, path string) func(t *testing.T) {
			target := path + ".target"
			writeFile(t, target, "old\n", 0o644)
			symlink(t, filepath.Base(target), path)
			return func(t *testing.T) {
				wantSymlink(t, path, filepath.Base(target))
				wantRegular(t, target, want, 0o644)
			}
		}, 0, ""},
		{"dangling symlink", func(t *testing.T, path string) func(t *testing.T) {
			target := path + ".target"
			symlink(t, target, path)
			return func(t *testing.T) {
				wantSymlink(t, path, target)
				wantRegular(t, target, want, 0o644)
			}
		}, 0, ""},
		{"FIFO", func(t *testing.T, path string) func(t *testing.T) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			got := make(chan string, 1)
			go func() {
				f, err := os.Open(path) // blocks until the export opens it
				if err != nil {
					got <- err.Error()
					return
				}
				defer f.Close()
				b, err := io.ReadAll(f)
				if err != nil {
					got <- err.Error()
					return
				}
				got <- string(b)
			}()
			return func(t *testing.T) {
				if s := <-got; s != want {
					t.Errorf("read from the FIFO %d bytes, want %d", len(s), len(want))
				}
				if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
					t.Errorf("the FIFO was replaced: %v, %v", fi.Mode(), err)
				}
			}
		}, 0, ""},
		{"symlink to /dev/null", func(t *testing.T, path string) func(t *testing.T) {
			symlink(t, "/dev/null", path)
			return func(t *testing.T) {
				wantSymlink(t, path, "/dev/null")
				wantDevice(t, "/dev/null")
			}
		}, 0, ""},
		{"directory", func(t *testing.T, path string) func(t *testing.T) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if entries, _ := os.ReadDir(path); len(entries) != 0 {
					t.Errorf("the directory got %d entries", len(entries))
				}
			}
		}, 1, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.csv")
			after := tt.setup(t, path)
			code, stdout, stderr := cli(t, "export", "--db", db, "--format", "csv", "-o", path)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || (tt.stderr == "") != (stderr == "") {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
			if code != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("error is not one line: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if after != nil {
				after(t)
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) > 2 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}

	// The devices themselves, as > would: /dev/null swallows the export,
	// /dev/full refuses it with one line; both stay devices.
	for _, dev := range devices {
		if _, err := os.Stat(dev); err != nil {
			continue
		}
		t.Run(dev, func(t *testing.T) {
			code, _, stderr := cli(t, "export", "--db", db, "--format", "csv", "-o", dev)
			wantCode, wantErr := 0, ""
			if dev == "/dev/full" {
				wantCode, wantErr = 1, "no space left on device"
			}
			if code != wantCode || !strings.Contains(stderr, wantErr) || strings.Count(stderr, "\n") > 1 {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, wantCode, wantErr)
			}
			wantDevice(t, dev)
		})
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func wantRegular(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want a regular file with %v", path, fi.Mode(), mode)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("%s holds %d bytes, want the export's %d", path, len(b), len(content))
	}
}

func wantSymlink(t *testing.T, path, target string) {
	t.Helper()
	if got, err := os.Readlink(path); err != nil || got != target {
		t.Errorf("%s: link to %q (%v), want it kept, to %q", path, got, err, target)
	}
}

func wantDevice(t *testing.T, path string) {
	t.Helper()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", path, fi.Mode(), err)
	}
}
