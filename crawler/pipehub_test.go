package crawler_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler"
)

// pipeEndpoint is the Hub's address on a pipeNet: any name will do, it is
// never resolved.
const pipeEndpoint = "http://hub.test"

// pipeNet is an in-memory network (net.Pipe) between a walker and one
// handler, for tests in a testing/synctest bubble: there time is fake and
// moves only when every goroutine of the bubble waits on another, which a
// goroutine reading a loopback socket never does. The fake Hub's rate-limit
// windows, the pacer's waits, the backoff and the stall and attempt timeouts
// then all run on the bubble's clock: a walk over three 5 s windows takes
// no real time, and nothing depends on how busy the machine is.
type pipeNet struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

// servePipe serves h on a new pipeNet until the test ends, and returns the
// walker's config to reach it. Call it inside the bubble.
func servePipe(t *testing.T, h http.Handler, cfg crawler.Config) crawler.Config {
	t.Helper()
	n := &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
	srv := &http.Server{Handler: h}
	go srv.Serve(n)
	t.Cleanup(func() { srv.Close() })
	cfg.Endpoint, cfg.DialContext = pipeEndpoint, n.dial
	return cfg
}

func (n *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.closeOnce.Do(func() { close(n.closed) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "hub.test:80" }
