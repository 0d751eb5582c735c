//go:build !linux

package server

import "net"

// peerUID cannot tell a loopback client's user on this system: the page
// gets no token, and POSTs come from the CLI (which reads serve.token).
func peerUID(local, remote *net.TCPAddr) (uint64, bool) { return 0, false }

func ownUID() uint64 { return 0 }
