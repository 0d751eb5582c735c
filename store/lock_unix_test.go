//go:build unix

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// holdLock takes the directory lock on db as a copy of a closed store's
// descriptor does in a child between fork and exec, or as another
// process does, recording pid in LOCK when pid > 0.
func holdLock(t *testing.T, db string, pid int) (release func()) {
	t.Helper()
	f, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if pid > 0 {
		os.WriteFile(filepath.Join(db, "LOCK"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
	}
	return func() { f.Close() }
}

func TestOpenLockHolders(t *testing.T) {
	tests := []struct {
		name     string
		pid      int  // recorded in LOCK; 0: none
		released bool // the lock goes away 100 ms later
		wantErr  error
	}{
		{"no writer recorded, released soon (a child between fork and exec)", 0, true, nil},
		{"this process recorded, released soon", os.Getpid(), true, nil},
		{"another process recorded", os.Getppid(), false, ErrInUse},
		{"no writer recorded, never released (a reader)", 0, false, ErrInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "db")
			s, err := Open(db, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			release := holdLock(t, db, tt.pid)
			defer release()
			if tt.released {
				time.AfterFunc(100*time.Millisecond, release)
			}
			s, err = Open(db, Options{})
			if s != nil {
				s.Close()
			}
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Errorf("Open: %v, want %v", err, tt.wantErr)
			}
		})
	}
}
