package server

import (
	"net"
	"os"

	"github.com/prometheus/procfs"
)

// peerUID returns the user owning the client end of a loopback TCP
// connection (local: the server's end, remote: the client's), from the
// kernel's table of this network namespace's sockets.
func peerUID(local, remote *net.TCPAddr) (uint64, bool) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, false
	}
	tables := []func() (procfs.NetTCP, error){fs.NetTCP, fs.NetTCP6}
	for _, table := range tables {
		lines, err := table()
		if err != nil {
			continue
		}
		if uid, ok := clientUID(lines, local, remote); ok {
			return uid, true
		}
	}
	return 0, false
}

// clientUID finds the client's socket of a connection in a socket table:
// its local end is the connection's remote one, and the other way round.
func clientUID(lines procfs.NetTCP, local, remote *net.TCPAddr) (uint64, bool) {
	for _, l := range lines {
		if l.LocalPort == uint64(remote.Port) && l.RemPort == uint64(local.Port) &&
			l.LocalAddr.Equal(remote.IP) && l.RemAddr.Equal(local.IP) {
			return l.UID, true
		}
	}
	return 0, false
}

func ownUID() uint64 { return uint64(os.Getuid()) }
