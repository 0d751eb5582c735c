//go:build unix

package store

import (
	"os"
	"syscall"
)

// mapFile maps f read-only; unmap releases it (the bytes must not be used
// after).
func mapFile(f *os.File) (b []byte, unmap func(), err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 || int64(int(fi.Size())) != fi.Size() {
		return readFile(f)
	}
	b, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readFile(f)
	}
	return b, func() { syscall.Munmap(b) }, nil
}
