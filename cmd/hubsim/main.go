// Command hubsim serves a fake Hugging Face Hub on localhost, so that
// hflineage can be tried and benchmarked offline:
//
//	hubsim --models 50000 --addr 127.0.0.1:8088 &
//	HF_ENDPOINT=http://127.0.0.1:8088 hflineage crawl base-org-0/Base-Model-0
//
// The world is generated (deterministic for a --seed) or read from a
// recorded family tree (--tree FILE, the model_metadata_analyses JSON form).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8088", "listen `ADDR` (loopback only is wise)")
	models := flag.Int("models", 10000, "generate a world of `N` models")
	seed := flag.Uint64("seed", 1, "generator `SEED`")
	tree := flag.String("tree", "", "serve a recorded family tree from `FILE` instead of a generated world")
	page := flag.Int("page", 1000, "largest page the listing endpoint returns (`N`)")
	addrFile := flag.String("addr-file", "", "write the server's base URL to `FILE` once listening (useful with --addr 127.0.0.1:0)")
	quota := flag.Int("quota", 0, "rate limit: `N` requests per --window (default 1,000,000 per 5 minutes)")
	window := flag.Duration("window", 5*time.Minute, "rate-limit window")
	rounding := flag.String("rounding", "up", "how `t` (seconds to the window's reset) is rounded: up, down or nearest")
	noHeaders := flag.Bool("no-ratelimit-headers", false, "leave out the RateLimit headers (as a mirror might), still answering 429 over quota")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: hubsim [flags]\n\nServes a fake Hugging Face Hub API on ADDR.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	round, err := hubtest.ParseRounding(*rounding)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubsim: --rounding:", err)
		os.Exit(2)
	}
	limits := rateLimits{quota: *quota, window: *window, rounding: round, noHeaders: *noHeaders}
	if err := run(*addr, *addrFile, *models, *seed, *tree, *page, limits); err != nil {
		fmt.Fprintln(os.Stderr, "hubsim:", err)
		os.Exit(1)
	}
}

// rateLimits are the fake Hub's quota and how it announces it.
type rateLimits struct {
	quota     int
	window    time.Duration
	rounding  hubtest.Rounding
	noHeaders bool
}

func run(addr, addrFile string, models int, seed uint64, tree string, page int, rl rateLimits) error {
	var w *hubtest.World
	root := ""
	if tree != "" {
		tr, err := hubtest.ReadTree(tree)
		if err != nil {
			return err
		}
		w, root = tr.World(), tr.Root
	} else {
		w = hubtest.Generate(hubtest.GenOptions{Models: models, Seed: seed})
		root = "base-org-0/Base-Model-0"
	}
	hub := &hubtest.Server{World: w, MaxPageSize: page, Quota: rl.quota, Window: rl.window, Rounding: rl.rounding, NoRateLimitHeaders: rl.noHeaders}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte("http://"+ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: hub, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "hubsim: serving %d models on http://%s (try: HF_ENDPOINT=http://%s hflineage crawl %s)\n",
		w.Len(), ln.Addr(), ln.Addr(), root)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
