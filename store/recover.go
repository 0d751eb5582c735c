package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// A writer killed mid-crawl (kill -9 of crawl or serve, a power cut) leaves
// Badger's write-ahead log as it was: preallocated, not cut to its last
// whole entry, which only a clean close or a read-write open does. Badger
// refuses such a log to a read-only open, though every committed
// transaction in it is intact. A read-only Open repairs it with a brief
// read-write open and close (when the directory is writable), then reads.
//
// While one reader repairs, it holds the database exclusively: another
// reader opening then would be told the database is in use. The repairing
// reader marks the directory (repairMarker) first, and a reader told "in
// use" while the mark is there waits for the repair instead.

// errNeedsRecovery: the database's write-ahead log was not closed cleanly (a
// writer was killed); a read-only open cannot repair it. The data is intact.
var errNeedsRecovery = errors.New("needs recovery by a read-write open: a crawl or serve was killed before it closed the database; what it committed is intact, and the next crawl (or any command run where the directory is writable) repairs it")

// repairMarker is the file a reader repairing the database keeps in its
// directory while it does.
const repairMarker = ".hflineage-repairing"

// repairWait bounds how long a read-only Open waits for another reader's
// repair; repairPoll is how often it looks.
const (
	repairWait = 10 * time.Second
	repairPoll = 20 * time.Millisecond
)

// needsRecovery reports whether err, from badger.Open, is Badger's
// ErrTruncateNeeded. Badger wraps it with %+v (y.Wrapf outside its debug
// mode), which loses the chain: its text is what is left to recognise it
// by.
func needsRecovery(err error) bool {
	return errors.Is(err, badger.ErrTruncateNeeded) || strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error())
}

// openRepaired opens dir read-only with ro after a first attempt failed
// with err: errNeedsRecovery (repair, or wait for the reader repairing it,
// then read) or ErrInUse (wait while another reader repairs, then read). A
// database in use by a writer stays ErrInUse at once.
func openRepaired(dir string, ro badger.Options, verbose bool, err error) (*Store, error) {
	deadline := time.Now().Add(repairWait)
	for time.Now().Before(deadline) {
		switch {
		case errors.Is(err, errNeedsRecovery):
			repaired, rerr := repair(dir, verbose, deadline)
			switch {
			case errors.Is(rerr, ErrInUse):
				return nil, rerr // a writer opened it (and repairs it)
			case rerr != nil:
				return nil, fmt.Errorf("database %s %w (the repair failed: %v)", dir, errNeedsRecovery, rerr)
			case !repaired:
				waitRepaired(dir, deadline) // another reader repairs it
			}
		case errors.Is(err, ErrInUse) && repairing(dir):
			waitRepaired(dir, deadline)
		default:
			return nil, err
		}
		s, oerr := open(dir, smallMachine(ro, verbose))
		if oerr == nil {
			return s, nil
		}
		err = oerr
	}
	return nil, err
}

// repair opens dir read-write and closes it, which cuts a write-ahead log
// left unclosed to its last whole entry, holding repairMarker meanwhile:
// one reader repairs, the others wait for it. It reports false, without
// repairing, when another reader holds the marker. A reader's first,
// read-only, look holds the database for a moment: a read-write open it
// meets is tried again until deadline.
func repair(dir string, verbose bool, deadline time.Time) (repaired bool, err error) {
	marker := filepath.Join(dir, repairMarker)
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) && staleMarker(marker) {
		os.Remove(marker) // its reader was killed while it repaired
		f, err = os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err == nil:
		f.Close()
		defer os.Remove(marker)
	}
	// (A marker that cannot be made, on a read-only directory: the open
	// below says why it cannot be repaired.)
	for {
		rw, err := open(dir, smallMachine(badger.DefaultOptions(dir).WithSyncWrites(true), verbose))
		if err == nil {
			return true, rw.Close()
		}
		if !errors.Is(err, ErrInUse) || time.Now().After(deadline) {
			return false, err
		}
		time.Sleep(repairPoll)
	}
}

// repairing reports whether a reader marked dir as being repaired.
func repairing(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, repairMarker))
	return err == nil
}

// waitRepaired waits until no reader marks dir as being repaired, or until
// deadline.
func waitRepaired(dir string, deadline time.Time) {
	for repairing(dir) && time.Now().Before(deadline) {
		time.Sleep(repairPoll)
	}
}

// staleMarker reports whether the marker is older than any repair takes:
// left by a reader killed while it repaired.
func staleMarker(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && time.Since(fi.ModTime()) > repairWait
}
