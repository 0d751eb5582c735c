//go:build !linux

package store

// ReleaseTablePages does nothing on this system (see release_linux.go).
func (s *Store) ReleaseTablePages() {}

func releaseWhileWriting() {}
