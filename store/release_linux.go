package store

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// ReleaseTablePages tells the kernel that this process no longer needs the
// pages it has mapped of the database's files (tables, value log, memtable
// logs). Badger
// maps every table file and reads it in place, so a scan of the whole
// database (an export, a cache rebuild) or a crawl that writes it would
// otherwise keep the whole database resident in the process, gigabytes at
// Hub scale. The pages stay in the kernel's page cache (shared, clean or
// written back as usual: MAP_SHARED mappings lose nothing) and are mapped
// again when read. It is cheap (a read of /proc/self/maps) and safe at any
// moment; long scans call it every few tens of thousands of keys.
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
	releaseMapped([]byte(dir + "/"))
}

// lastRelease is when releaseWhileWriting last released (Unix ns).
var lastRelease atomic.Int64

// releaseWhileWriting releases the mapped pages of every database's table
// files in the process, at most once a second. A crawl commits page by
// page while Badger writes its tables through maps: without it the tables
// a crawl writes would stay resident in it, the size of the database.
func releaseWhileWriting() {
	now, last := time.Now().UnixNano(), lastRelease.Load()
	if now-last < int64(time.Second) || !lastRelease.CompareAndSwap(last, now) {
		return
	}
	releaseMapped([]byte("/"))
}

// releaseMapped advises away the shared mappings of Badger's files whose
// path begins with prefix.
func releaseMapped(prefix []byte) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// 7f2c…-7f2d… rw-s 00000000 fd:01 123 /path/000001.sst
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || !bytes.HasPrefix(f[5], prefix) || !badgerFile(f[5]) {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok || f[1][len(f[1])-1] != 's' { // shared mappings only
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
	}
}

// badgerFile reports whether path is one of the files Badger maps: tables
// (.sst), the value log (.vlog) and memtable logs (.mem).
func badgerFile(path []byte) bool {
	for _, ext := range []string{".sst", ".vlog", ".mem"} {
		if bytes.HasSuffix(path, []byte(ext)) {
			return true
		}
	}
	return false
}
