// Command hflineage measures the derivative ecosystem of open models on the
// Hugging Face Hub: it crawls a model's family (fine-tunes, adapters,
// quantizations, merges, at every depth) into a local database, counts it,
// and exports its family tree.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], newInterruptibleWriter(ctx, os.Stdout), os.Stderr)
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		// A failure after the signal is the signal's doing (say a
		// Graphviz that the terminal's Ctrl-C reached first).
		err = context.Canceled
	}
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitCanceled = 130
)

// errResumable marks the interruption of a crawl: its position is saved.
var errResumable = errors.New("progress is saved (run the same command again to resume)")

// resumable marks err, when it is an interruption, as one that saved a
// crawl's position.
func resumable(err error) error {
	if errors.Is(err, context.Canceled) && !errors.Is(err, errResumable) {
		return fmt.Errorf("%w: %w", err, errResumable)
	}
	return err
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, context.Canceled) && errors.Is(err, errResumable):
		fmt.Fprintln(stderr, "hflineage: interrupted; "+errResumable.Error())
		return exitCanceled
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "hflineage: interrupted")
		return exitCanceled
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "hflineage: %s\nRun 'hflineage help' for usage.\n", ue.msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "hflineage: %s\n", oneLine(err.Error()))
	return exitFailure
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"crawl", "crawl models and all their descendants from the Hub into the database", cmdCrawl},
		{"count", "count a model's derivatives by relation, and the family's depth", cmdCount},
		{"ancestors", "list a model's ancestors up to its base models", cmdAncestors},
		{"export", "export the lineage graph (DOT, GraphML, node-link JSON, CSV, SVG, PNG)", cmdExport},
		{"stats", "describe the ecosystem: sizes, families, depth, authors, growth, licenses", cmdStats},
		{"history", "show how a family grew over the runs", cmdHistory},
		{"diff", "list the models and edges the last run added and removed", cmdDiff},
		{"schedule", "run crawls on a schedule (--every or --cron)", cmdSchedule},
		{"serve", "run the lineage service: HTTP API, web explorer, metrics, scheduled crawls", cmdServe},
	}
}

const mainUsage = `hflineage measures the derivative ecosystem of open models on the Hugging Face Hub.

Usage:
  hflineage <command> [flags] [arguments]

Commands:
%s  version    print hflineage's version

Run 'hflineage <command> --help' for a command's flags.

Environment:
  HFLINEAGE_DB            database directory (default ~/.local/share/hflineage)
  HF_ENDPOINT             Hub base URL (default https://huggingface.co)
  HF_TOKEN                Hub access token (else HUGGING_FACE_HUB_TOKEN); sent only to the endpoint

Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var list strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&list, "  %-10s %s\n", c.name, c.summary)
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, mainUsage, list.String())
		return usagef("no command given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprintf(stdout, mainUsage, list.String())
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, "hflineage", crawler.Version)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return usagef("unknown command %q", name)
}

// newFlags returns a flag set whose --help prints usage and flag defaults.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hflineage %s\n\nFlags:\n", usage)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses flags given before, between or after positional
// arguments, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.Usage()
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// defaultDB is $HFLINEAGE_DB, else the per-user data directory.
func defaultDB() string {
	if d := os.Getenv("HFLINEAGE_DB"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "hflineage")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "hflineage-db"
	}
	return filepath.Join(home, ".local", "share", "hflineage")
}

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", defaultDB(), "database `DIR` ($HFLINEAGE_DB)")
}

// openForRead opens an existing database read-only, under Badger's shared
// lock: any number of read commands run at once (not beside a crawl).
func openForRead(dir string, verbose bool) (*store.Store, error) {
	return store.Open(dir, store.Options{Verbose: verbose, MustExist: true, ReadOnly: true})
}

// parseModels validates model ids given on the command line.
func parseModels(args []string) ([]graph.ModelID, error) {
	var out []graph.ModelID
	seen := map[graph.ModelID]bool{}
	for _, a := range args {
		id, err := graph.ParseModelID(a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// oneModel checks that the positional arguments are exactly one valid model id.
func oneModel(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("%s: name exactly one MODEL", cmd)
	}
	if err := checkModel(pos[0]); err != nil {
		return "", err
	}
	return pos[0], nil
}

// queryError turns the engine's invalid-question errors into usage errors
// (exit 2); others pass through.
func queryError(err error) error {
	if errors.Is(err, query.ErrInvalid) {
		return usagef("%v", err)
	}
	return err
}

// checkModel validates a model id given on the command line ("" is fine),
// before any database is opened.
func checkModel(name string) error {
	if name == "" {
		return nil
	}
	if _, err := graph.ParseModelID(name); err != nil {
		return usagef("%v", err)
	}
	return nil
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
