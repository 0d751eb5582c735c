// Command hubsim serves a fake Hugging Face Hub on localhost, so that
// hflineage (or any Hub client) can be tried, tested and benchmarked
// offline:
//
//	hubsim --models 50000 --addr 127.0.0.1:8088 &
//	HF_ENDPOINT=http://127.0.0.1:8088 hflineage crawl base-org-0/Base-Model-0
//
// The world is generated (deterministic for a --seed) or read from a
// recorded family tree (--world FILE, the model_metadata_analyses JSON
// form). Flags switch on each behaviour of the Hub that crawler/hubtest
// has: quotas with RateLimit headers and Retry-After, faults, slow answers,
// renames, gated and private models, a page cap, foreign-host links.
// hubsim --help lists them with examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "hubsim:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "hubsim:", err)
		os.Exit(1)
	}
}

// helpOut is where --help writes: stdout.
var helpOut io.Writer = os.Stdout

// usageError is a bad flag or flag value: exit code 2.
type usageError struct{ error }

const usageHead = `Usage: hubsim [flags]

Serves a fake Hugging Face Hub API (/api/models, /api/models/{id},
/api/models/{id}/revision/{rev}) on ADDR, as the real Hub answers: tag
filters, expand[], sort=, skip=, Link pagination, 307 renames, 401 for
missing and private repos, RateLimit headers.

Examples:
  hubsim --models 50000 &                       # a generated Hub of 50,000 models
  HF_ENDPOINT=http://127.0.0.1:8088 hflineage crawl base-org-0/Base-Model-0

  hubsim --world Llama-2-7b_finetunes_20250422_180448.json   # a recorded family tree
  hubsim --quota 60 --window 5s --retry-after   # 429s past 60 requests per 5 s
  hubsim --fault 503 --fault-every 5            # every 5th request fails with 503
  hubsim --slow 200ms                           # every answer 200 ms late
  hubsim --rename old/name=base-org-0/Base-Model-0 \
         --gated base-org-1/Base-Model-1 --private base-org-2/Base-Model-2
  hubsim --page 100 --max-limit 500             # short pages; limit>500 is a 400
  hubsim --page-without-full 100                # 100 per page unless full=true (then 1000)
  hubsim --link-host huggingface.co             # next-page links point at another host
  hubsim --thin-pages 3                         # listing pages a third short, still linking on

Flags:
`

// config is what the flags ask for.
type config struct {
	addr, addrFile string
	world          string // "generated" or a recorded tree file
	models         int
	seed           uint64
	page, maxLimit int
	pageNoFull     int
	quota          int
	window         time.Duration
	rounding       hubtest.Rounding
	noHeaders      bool
	retryAfter     bool
	fault          hubtest.Fault
	faultEvery     int
	slow           time.Duration
	linkHost       string
	thinPages      int
	renames        [][2]string
	gated          [][2]string
	private        []string
}

// listFlag collects a repeatable flag's values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseFlags reads the command line. --help writes the usage to help
// (stdout, as for hflineage: `hubsim --help | less` works) and returns
// flag.ErrHelp; a bad flag is a usageError, and nothing is printed.
func parseFlags(args []string, help io.Writer) (*config, error) {
	fs := flag.NewFlagSet("hubsim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &config{}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8088", "listen on `ADDR` (loopback only is wise; port 0 picks a free one)")
	fs.StringVar(&c.addrFile, "addr-file", "", "write the server's base URL to `FILE` once listening (useful with --addr 127.0.0.1:0)")
	fs.StringVar(&c.world, "world", "generated", "what the Hub holds (`SOURCE`): generated (--models, --seed) or a recorded family tree FILE (model_metadata_analyses JSON: recorded tags, downloads, gated, lastModified; several FILEs separated by commas are served together)")
	tree := fs.String("tree", "", "same as --world `FILE` (kept for scripts)")
	fs.IntVar(&c.models, "models", 10000, "generate a world of `N` models")
	fs.Uint64Var(&c.seed, "seed", 1, "generator `SEED` (same seed, same world)")
	fs.IntVar(&c.page, "page", 1000, "largest page (`N` models) the listing endpoint returns, whatever limit= asks")
	fs.IntVar(&c.maxLimit, "max-limit", 0, "answer 400 to a listing whose limit= exceeds `N` (0: never)")
	fs.IntVar(&c.pageNoFull, "page-without-full", 0, "largest page (`N` models) a listing returns unless it asks for full=true, as one report says the Hub does (100) (0: no such cap)")
	fs.IntVar(&c.quota, "quota", 0, "rate limit: `N` requests per --window, then 429 (0: 1,000,000 per 5 minutes)")
	fs.DurationVar(&c.window, "window", 5*time.Minute, "rate-limit window `D` (fixed windows, the first starting at the first request)")
	rounding := fs.String("rounding", "up", "how `t` in RateLimit (seconds to the window's reset) is rounded: up, down or nearest")
	fs.BoolVar(&c.noHeaders, "no-ratelimit-headers", false, "leave out the RateLimit headers (as a mirror might), still answering 429 over quota")
	fs.BoolVar(&c.retryAfter, "retry-after", false, "add Retry-After (seconds to the reset) to 429s")
	fault := fs.String("fault", "503", "the fault --fault-every injects (needs --fault-every): `KIND`, one of "+strings.Join(hubtest.FaultNames()[1:], ", "))
	fs.IntVar(&c.faultEvery, "fault-every", 0, "fail every `N`th request (the Nth, 2Nth, …) with --fault (0: never)")
	fs.DurationVar(&c.slow, "slow", 0, "answer every request `D` late (e.g. 200ms)")
	fs.StringVar(&c.linkHost, "link-host", "", "put `HOST` in next-page links instead of the server's own (a mirror passing the Hub's links through, or a hostile Hub)")
	fs.IntVar(&c.thinPages, "thin-pages", 0, "leave about one in `N` models out of listing pages after the page is chosen: pages come short (or empty) yet link on, as the Hub's may (0: never)")
	var renames, gated, private listFlag
	fs.Var(&renames, "rename", "make OLD answer 307 to NEW, a model of the world (`OLD=NEW`; repeatable)")
	fs.Var(&gated, "gated", "make a model gated (`ID[=manual|auto]`; manual unless said; its metadata is still served; repeatable)")
	fs.Var(&private, "private", "make model `ID` private: 401, and left out of listings (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHead)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(help)
			fs.Usage()
			return nil, err
		}
		return nil, usageError{fmt.Errorf("%w (see hubsim --help)", err)}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))}
	}
	bad := func(format string, a ...any) (*config, error) { return nil, usageError{fmt.Errorf(format, a...)} }
	if *tree != "" {
		if c.world != "generated" && c.world != *tree {
			return bad("--tree and --world name different worlds")
		}
		c.world = *tree
	}
	var err error
	if c.rounding, err = hubtest.ParseRounding(*rounding); err != nil {
		return bad("--rounding: %v", err)
	}
	if c.fault, err = hubtest.ParseFault(*fault); err != nil {
		return bad("--fault: %v", err)
	}
	faultSet := false
	fs.Visit(func(f *flag.Flag) { faultSet = faultSet || f.Name == "fault" })
	switch {
	case faultSet && c.faultEvery == 0:
		return bad("--fault needs --fault-every N (fail every Nth request)")
	case c.models < 1:
		return bad("--models must be at least 1")
	case c.page < 1:
		return bad("--page must be at least 1")
	case c.maxLimit < 0, c.quota < 0, c.faultEvery < 0, c.thinPages < 0, c.pageNoFull < 0:
		return bad("--max-limit, --page-without-full, --quota, --fault-every and --thin-pages must not be negative")
	case c.window <= 0:
		return bad("--window must be positive")
	case c.slow < 0:
		return bad("--slow must not be negative")
	}
	if err := checkHostPort(c.linkHost); err != nil {
		return bad("--link-host %q: %v", c.linkHost, err)
	}
	for _, r := range renames {
		old, id, ok := strings.Cut(r, "=")
		if !ok || old == "" || id == "" {
			return bad("--rename %q: want OLD=NEW", r)
		}
		c.renames = append(c.renames, [2]string{old, id})
	}
	for _, g := range gated {
		id, how, ok := strings.Cut(g, "=")
		if !ok {
			how = "manual"
		}
		if how != "manual" && how != "auto" {
			return bad("--gated %q: the gate is manual or auto", g)
		}
		c.gated = append(c.gated, [2]string{id, how})
	}
	c.private = private
	return c, nil
}

// checkHostPort accepts "" (no --link-host) or a bare HOST[:PORT]: a DNS
// name or IP address (IPv6 in brackets) and an optional numeric port; no
// scheme, user, path, query, fragment or spaces.
func checkHostPort(h string) error {
	if h == "" {
		return nil
	}
	const want = "want HOST[:PORT] (no scheme, path or spaces)"
	if strings.ContainsAny(h, "/\\?#@%") || strings.IndexFunc(h, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return errors.New(want)
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" || strings.HasSuffix(h, ":") {
		return errors.New(want)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New(want)
		}
	}
	name := u.Hostname()
	if strings.HasPrefix(h, "[") {
		if net.ParseIP(name) == nil {
			return errors.New(want)
		}
		return nil
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_') {
			return errors.New(want)
		}
	}
	return nil
}

// newHub builds the fake Hub the config describes, not yet listening, and
// the id of a model worth crawling.
func newHub(c *config) (*hubtest.Server, string, error) {
	var w *hubtest.World
	root := ""
	if c.world != "generated" {
		// One recorded tree, or several (comma-separated) served together
		// as one Hub: a model in two trees is served once.
		w = hubtest.NewWorld()
		for _, file := range strings.Split(c.world, ",") {
			tr, err := hubtest.ReadTree(file)
			if err != nil {
				// A world that cannot be read is a bad flag value: exit 2, one line.
				return nil, "", usageError{fmt.Errorf("--world: %s", strings.Join(strings.Fields(err.Error()), " "))}
			}
			one := tr.World()
			for _, id := range one.IDs() {
				if m, ok := one.Get(id); ok {
					if _, dup := w.Get(id); !dup {
						w.Add(m)
					}
				}
			}
			if root == "" {
				root = tr.Root
			}
		}
	} else {
		w = hubtest.Generate(hubtest.GenOptions{Models: c.models, Seed: c.seed})
		root = "base-org-0/Base-Model-0"
	}
	for _, r := range c.renames {
		if _, ok := w.Get(r[1]); !ok {
			return nil, "", usageError{fmt.Errorf("--rename %s=%s: no model %s in the world", r[0], r[1], r[1])}
		}
		if _, ok := w.Get(r[0]); ok {
			return nil, "", usageError{fmt.Errorf("--rename %s=%s: %s is a model of the world; a renamed id must be free", r[0], r[1], r[0])}
		}
		w.Rename(r[0], r[1])
	}
	for _, g := range c.gated {
		if !w.Update(g[0], func(m *hubtest.Model) { m.Gated = g[1] }) {
			return nil, "", usageError{fmt.Errorf("--gated %s: no such model in the world", g[0])}
		}
	}
	for _, id := range c.private {
		if !w.Update(id, func(m *hubtest.Model) { m.Private = true }) {
			return nil, "", usageError{fmt.Errorf("--private %s: no such model in the world", id)}
		}
	}
	hub := &hubtest.Server{
		World: w, MaxPageSize: c.page, MaxLimit: c.maxLimit, PageSizeWithoutFull: c.pageNoFull,
		Quota: c.quota, Window: c.window, Rounding: c.rounding, NoRateLimitHeaders: c.noHeaders, RetryAfter: c.retryAfter,
		Delay: c.slow, LinkHost: c.linkHost,
	}
	if c.faultEvery > 0 {
		hub.Fault = hubtest.EveryNth(c.faultEvery, c.fault)
	}
	if n := uint32(c.thinPages); n > 0 {
		// Which models are left out depends on the id alone, so a listing
		// asked again thins the same way.
		hub.PageFilter = func(m hubtest.Model) bool { return crc32.ChecksumIEEE([]byte(m.ID))%n != 0 }
	}
	return hub, root, nil
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseFlags(args, helpOut)
	if err != nil {
		return err
	}
	hub, root, err := newHub(c)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	if c.addrFile != "" {
		if err := os.WriteFile(c.addrFile, []byte("http://"+ln.Addr().String()+"\n"), 0o644); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: hub, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "hubsim: serving %d models on http://%s (try: HF_ENDPOINT=http://%s hflineage crawl %s)\n",
		hub.World.Len(), ln.Addr(), ln.Addr(), root)
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
