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

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
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

// usageError is a mistake in the command line: exit code 2. cmd, set by
// run, names the command whose --help the error points to.
type usageError struct{ msg, cmd string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// helpRequest is a command's --help: run prints text on stdout and the
// exit code is 0. It wraps flag.ErrHelp.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return flag.ErrHelp.Error() }
func (h *helpRequest) Unwrap() error { return flag.ErrHelp }

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
		help := "hflineage help"
		if ue.cmd != "" {
			help = "hflineage " + ue.cmd + " --help"
		}
		msg := ue.msg
		if ue.cmd != "" && !strings.HasPrefix(msg, ue.cmd+": ") {
			msg = ue.cmd + ": " + msg // every usage error names its command, as flag errors do
		}
		fmt.Fprintf(stderr, "hflineage: %s\nrun '%s' for usage\n", oneLine(msg), help)
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
		{"count", "count a model's derivatives by relation, and the family's depth (or an ecosystem's: 'meta-llama/*')", cmdCount},
		{"compare", "compare ecosystems side by side: members, growth, licenses, overlaps", cmdCompare},
		{"ancestors", "list a model's ancestors up to its base models", cmdAncestors},
		{"children", "list a model's direct children: relation, downloads, likes, created", cmdChildren},
		{"tree", "print a model's descendants as a tree, largest families first", cmdTree},
		{"search", "find models in the database whose id contains a text", cmdSearch},
		{"export", "export the lineage graph (DOT, GraphML, node-link JSON, CSV, SVG, PNG)", cmdExport},
		{"stats", "describe the ecosystem: sizes, families, depth, authors, growth, licenses", cmdStats},
		{"licenses", "follow licenses along a family's or an ecosystem's lineage: kept, relaxed, tightened", cmdLicenses},
		{"history", "show how a family (or an ecosystem) grew over the runs", cmdHistory},
		{"diff", "list the models and edges the last run added and removed", cmdDiff},
		{"runs", "list the crawls recorded (runs): kind, status, changes, requests", cmdRuns},
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
  HF_TOKEN                Hub access token (else HUGGING_FACE_HUB_TOKEN, else the file
                          'hf auth login' writes: $HF_TOKEN_PATH, else $HF_HOME/token,
                          else ~/.cache/huggingface/token); sent only to the endpoint
  HF_HUB_OFFLINE          1: never contact the Hub (crawl, schedule and serve's crawls
                          refuse; reading the database works as usual)

A MODEL is an id (org/name) or its page's URL (https://huggingface.co/org/name,
hf.co/org/name, /tree/main and the like ignored); misspelt commands and flags
get a suggestion.

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
		if len(args) > 1 && !isHelpFlag(args[1]) {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprintf(stdout, mainUsage, list.String())
		return nil
	case "version", "--version":
		if len(args) > 1 && isHelpFlag(args[1]) {
			_, err := fmt.Fprint(stdout, "Usage: hflineage version\n\nPrints hflineage's version.\n")
			return err
		}
		fmt.Fprintln(stdout, "hflineage", query.Version())
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, args[1:], stdout, stderr)
			var help *helpRequest
			var ue *usageError
			switch {
			case errors.As(err, &help):
				if _, werr := io.WriteString(stdout, help.text); werr != nil {
					return werr
				}
			case errors.As(err, &ue) && ue.cmd == "":
				ue.cmd = c.name
			}
			return err
		}
	}
	return unknownCommand(name)
}

func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// newFlags returns a flag set for command name whose Usage writes the
// usage and the flags' defaults to the set's output, which is io.Discard
// except while parseFlags collects the text of a --help: the flag package
// itself prints nothing. The writer is unused (every command declares its
// flags the same way).
func newFlags(name, usage string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hflineage %s\n\nFlags:\n", usage)
		printFlags(fs)
	}
	return fs
}

// helpText is a command's --help: its usage, then its flags.
func helpText(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.Usage()
	fs.SetOutput(io.Discard)
	return b.String()
}

// parseFlags parses flags given before, between or after positional
// arguments, and returns the positional ones, with a model's Hub URL
// read as its id there and in --root (modelRefs). --help returns a
// *helpRequest; a flag that is unknown, lacks its value or has a bad one
// is a usage error that names it as the user would type it (--name).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{text: helpText(fs)}
			}
			return nil, usagef("%s: %s", fs.Name(), flagError(fs, err))
		}
		args = fs.Args()
		if len(args) == 0 {
			return modelRefs(fs, pos)
		}
		if args[0] == "--" {
			return modelRefs(fs, append(pos, args[1:]...))
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError rewords the flag package's parse errors the way the flags are
// documented: "--name", and what a bad value should look like.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return unknownFlag(fs, name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag " + dashed(name) + " needs a value"
	}
	// invalid value "x" for flag -name: parse error
	// invalid boolean value "x" for -name: parse error
	for _, p := range []string{" for flag -", " for -"} {
		head, rest, ok := strings.Cut(msg, p)
		if !ok {
			continue
		}
		name, why, _ := strings.Cut(rest, ": ")
		head = strings.Replace(head, "invalid boolean value", "invalid value", 1)
		if f := fs.Lookup(name); f != nil && why == "parse error" {
			why = wantedValue(f.Value)
		}
		return fmt.Sprintf("%s for %s: %s", head, dashed(name), why)
	}
	return msg
}

// dashed spells a flag as the help does: -o for a one-letter name, --name
// for the others.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// wantedValue says what a flag's value should look like.
func wantedValue(v flag.Value) string {
	switch fmt.Sprintf("%T", v) {
	case "*flag.intValue", "*flag.int64Value":
		return "want a whole number"
	case "*flag.uintValue", "*flag.uint64Value":
		return "want a whole number, 0 or more"
	case "*flag.durationValue":
		return "want a duration such as 90s, 30m or 6h"
	case "*flag.boolValue":
		return "want true or false"
	case "*flag.float64Value":
		return "want a number"
	}
	return "parse error"
}

// isSet reports whether the command line gave flag name (a default and
// an explicit value equal to it differ).
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
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
	// Ids listed under older rules are names a database may hold: the
	// engine applies the strict rule to those it does not.
	if _, err := graph.ParseTypedID(name); err != nil {
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
