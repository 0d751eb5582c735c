//go:build !unix

package store

import "os"

// mapFile reads f whole (no memory map on this system).
func mapFile(f *os.File) (b []byte, unmap func(), err error) { return readFile(f) }
