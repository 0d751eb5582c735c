package store

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// ReleaseTablePages tells the kernel that this process no longer needs the
// pages it has mapped of the database's files (tables, value log, memtable
// logs). Badger
// maps every table file and reads it in place, so a scan of the whole
// database (an export, a cache rebuild) or a crawl that writes it would
// otherwise keep the whole database resident in the process, gigabytes at
// Hub scale. It is cheap (a read of /proc/self/maps); long scans call it
// every few tens of thousands of keys.
//
// How depends on who else may unmap those ranges meanwhile. A read-only
// Badger never compacts, flushes or collects, so its mappings stay put:
// MADV_DONTNEED drops the pages from the process and leaves them in the
// page cache (MAP_SHARED loses nothing), cheap to map again. A writable one
// deletes tables and memtable logs at any moment: a range read from
// /proc/self/maps may be unmapped and reused by an anonymous mapping before
// the advice, which DONTNEED would zero; MADV_PAGEOUT, which writes back
// and reclaims and never loses data on any mapping, is used there instead
// (slower to read again: the pages leave the page cache too).
func (s *Store) ReleaseTablePages() {
	if s.dir == "" {
		return
	}
	dir, err := filepath.Abs(s.dir)
	if err != nil {
		return
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // as /proc/self/maps names the files
	}
	advice := unix.MADV_PAGEOUT
	if s.readOnly {
		advice = unix.MADV_DONTNEED
	}
	releaseMapped(dir+"/", advice)
}

// releaseInterval is how often a writing process releases its mapped
// pages. MADV_PAGEOUT evicts them from the page cache too, and compaction
// reads recent tables again, so it costs system time; at 3M models, 1 s
// kept crawl --all at 741 MiB in 171 s, 5 s let it reach 1,054 MiB in 147 s
// (MADV_DONTNEED, unsafe in a writer: 953 MiB, 128 s).
const releaseInterval = time.Second

// lastRelease is when releaseWhileWriting last released (Unix ns).
var lastRelease atomic.Int64

// releaseWhileWriting releases the mapped pages of every database's table
// files in the process, at most once a second. A crawl commits page by
// page while Badger writes its tables through maps: without it the tables
// a crawl writes would stay resident in it, the size of the database.
func releaseWhileWriting() {
	now, last := time.Now().UnixNano(), lastRelease.Load()
	if now-last < int64(releaseInterval) || !lastRelease.CompareAndSwap(last, now) {
		return
	}
	releaseMapped("/", unix.MADV_PAGEOUT) // a writer: see ReleaseTablePages
}

// releaseMapped gives advice (MADV_DONTNEED or MADV_PAGEOUT) on the shared
// mappings of Badger's files whose path begins with prefix. Kernels before
// 5.4 refuse MADV_PAGEOUT (EINVAL): then nothing happens.
//
// /proc/self/maps is read with procfs, which takes a path with spaces as a
// whole (a database under "My Data" was never released when the line was
// split on white space) but gives each run of white space in it as one
// space: prefix is compared in that form too.
func releaseMapped(prefix string, advice int) {
	self, err := procfs.Self()
	if err != nil {
		return
	}
	maps, err := self.ProcMaps()
	if err != nil {
		return
	}
	prefix = oneSpaced(prefix)
	for _, m := range maps {
		// A table compacted away while still mapped is named "… (deleted)".
		path := strings.TrimSuffix(m.Pathname, " (deleted)")
		if m.Perms == nil || !m.Perms.Shared || !strings.HasPrefix(path, prefix) || !badgerFile(path) || m.EndAddr <= m.StartAddr {
			continue
		}
		unix.Syscall(unix.SYS_MADVISE, m.StartAddr, m.EndAddr-m.StartAddr, uintptr(advice))
	}
}

// oneSpaced is path as procfs gives a mapped file's name: each run of white
// space one space (the path is absolute: none leads).
func oneSpaced(path string) string {
	var b strings.Builder
	space := false
	for _, r := range path {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// badgerFile reports whether path is one of the files Badger maps: tables
// (.sst), the value log (.vlog) and memtable logs (.mem).
func badgerFile(path string) bool {
	for _, ext := range []string{".sst", ".vlog", ".mem"} {
		if strings.HasSuffix(path, ext) {
			return true
		}
	}
	return false
}
