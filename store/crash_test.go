package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// commitForeverEnv makes TestKillMidCommitThenRead's child process commit
// pages into the database it names until it is killed.
const commitForeverEnv = "HFLINEAGE_TEST_COMMIT_FOREVER"

// commitForever opens dir and commits a page of models after another,
// printing each page's number once committed, until the process is killed.
func commitForever(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	for page := 0; ; page++ {
		err := s.Update(func(tx *Tx) error {
			for i := range 50 {
				id := graph.ModelID(fmt.Sprintf("org/page-%d-model-%d", page, i))
				if err := tx.PutModel(graph.Model{ID: id, Author: "org", Downloads: int64(i)}, []graph.Parent{{ID: "org/base", Relation: graph.Finetune}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			fmt.Println("commit:", err)
			os.Exit(1)
		}
		fmt.Println(page)
	}
}

// TestKillMidCommitThenRead SIGKILLs a real process that commits pages
// without pause into an on-disk database, so that it dies in the middle of
// a commit, its write-ahead log neither flushed nor truncated. A read-only
// open must then read every page the writer reported committed, rather than
// calling the database damaged; and a second read-only open must not need
// the repair again.
func TestKillMidCommitThenRead(t *testing.T) {
	if dir := os.Getenv(commitForeverEnv); dir != "" {
		commitForever(dir)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillMidCommitThenRead$")
	cmd.Env = append(os.Environ(), commitForeverEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const pages = 20
	committed := 0
	lines := bufio.NewScanner(out)
	for committed < pages && lines.Scan() {
		if _, err := fmt.Sscan(lines.Text(), new(int)); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %s", lines.Text())
		}
		committed++
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the writer was not killed: %v", cmd.ProcessState)
	}
	if committed < pages {
		t.Fatalf("the writer reported %d commits, want %d", committed, pages)
	}

	for try := range 2 {
		s, err := Open(dir, Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("read-only open %d after the kill: %v", try+1, err)
		}
		for page := range pages {
			id := graph.ModelID(fmt.Sprintf("org/page-%d-model-49", page))
			if _, err := s.Lookup(string(id)); err != nil {
				t.Errorf("open %d: page %d, reported committed, is lost: %v", try+1, page, err)
			}
		}
		s.Close()
	}
}

// TestNeedsRecoveryError: Badger's "log truncate required", however it
// wraps it, is recognised as a torn write-ahead log (a writer killed
// mid-commit), not as a damaged database.
func TestNeedsRecoveryError(t *testing.T) {
	for _, err := range []error{
		// What Badger v4 returns from a read-only open after a writer was
		// killed: y.Wrapf formats the cause with %+v and loses the chain.
		errors.New("while opening memtables error: while opening fid: 3 error: while updating skiplist error: end offset: 1234 < size: 67108864 error: Log truncate required to run DB. This might result in data loss"),
		fmt.Errorf("open: %w", badger.ErrTruncateNeeded),
	} {
		if !needsRecovery(err) {
			t.Errorf("needsRecovery(%q) = false", err)
		}
	}
	if needsRecovery(errors.New("manifest has unsupported version")) {
		t.Error("a damaged MANIFEST needs recovery")
	}
	if strings.Contains(errNeedsRecovery.Error(), "damaged") {
		t.Errorf("the recovery error calls the database damaged: %v", errNeedsRecovery)
	}
}
