//go:build !linux

package main

import "testing"

// opens is nil off Linux (no inotify): waits on it look again on a timer.
func opens(t *testing.T, dir string) <-chan struct{} { return nil }
