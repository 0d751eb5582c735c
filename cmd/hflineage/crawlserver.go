package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// errDetached marks a crawl of the server that the CLI stopped following
// (Ctrl-C): the server goes on with it, so nothing is to be resumed here.
var errDetached = errors.New("the server goes on with the crawl")

// crawlError is crawl's error as the exit code and last line say it: an
// interruption saved the crawl's position (errResumable), unless the
// crawl was the server's, which goes on (errDetached).
func crawlError(err error) error {
	if errors.Is(err, errDetached) {
		return err
	}
	return resumable(err)
}

// crawlCommand is the command line that reaches database db's server:
// "hflineage crawl", with --db unless db is the default.
func crawlCommand(db string) string {
	if db == "" || db == defaultDB() {
		return "hflineage crawl"
	}
	return "hflineage crawl --db " + shellWord(db)
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+:@%,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// crawlOfServer is crawl --cancel ID and crawl --follow ID: the crawl of
// the hflineage serve holding the database, canceled or followed to its
// end. Only --db and --json go with them.
func crawlOfServer(ctx context.Context, fs *flag.FlagSet, f *crawlFlags, pos []string, cancelID, followID int, stdout, stderr io.Writer) error {
	flagName, id := "--cancel", cancelID
	if isSet(fs, "follow") {
		flagName, id = "--follow", followID
	}
	switch {
	case isSet(fs, "cancel") && isSet(fs, "follow"):
		return usagef("crawl: --cancel and --follow exclude each other")
	case id < 1:
		return usagef("crawl: %s %d: crawls are numbered from 1, as the server answered (see GET /api/v1/crawl)", flagName, id)
	case len(pos) > 0 || f.all:
		return usagef("crawl: %s ID names a crawl of the server: name no MODEL and no --all with it", flagName)
	}
	other := false
	fs.Visit(func(fl *flag.Flag) {
		other = other || !map[string]bool{"db": true, "json": true, "cancel": true, "follow": true, "verbose": true}[fl.Name]
	})
	if other {
		return usagef("crawl: %s ID goes with --db and --json only", flagName)
	}
	r, ok := findServer(f.db)
	if !ok {
		return fmt.Errorf("crawl: %s: no hflineage serve holds database %s: only a server's crawls can be followed or canceled (a crawl of this CLI stops with Ctrl-C)", flagName, f.db)
	}
	if r.readOnly {
		return fmt.Errorf("crawl: %s: database %s is held by a crawl or schedule of the CLI, which answers reads only: stop that crawl with Ctrl-C where it runs", flagName, f.db)
	}
	if flagName == "--cancel" {
		return cancelViaServer(ctx, r, id, f.jsonOut, stdout, stderr)
	}
	fmt.Fprintf(stderr, "crawl: following crawl %d of hflineage serve at %s\n", id, r.base)
	stats, err := followCrawl(ctx, r, id, crawlCommand(f.db), stderr)
	var re *remoteError
	if errors.As(err, &re) || errors.Is(err, errNotFollowed) {
		return err // no crawl was followed: no summary of one
	}
	fmt.Fprintln(stderr, summaryLine(stats, err))
	if f.jsonOut {
		if jerr := json.NewEncoder(stdout).Encode(crawlJSON(stats, err)); jerr != nil && err == nil {
			return jerr
		}
	}
	return err
}

// cancelViaServer asks the server to cancel crawl id (DELETE
// /api/v1/crawl/{id}) and says what it answered: a queued crawl is gone,
// a running one stops at its next commit with its position saved. An
// unknown crawl and one that has ended are errors (exit 1).
func cancelViaServer(ctx context.Context, r *remote, id int, jsonOut bool, stdout, stderr io.Writer) error {
	r.token = r.postToken()
	resp, err := r.do(ctx, http.MethodDelete, "/api/v1/crawl/"+strconv.Itoa(id), nil, strings.NewReader(""))
	if err != nil {
		return fmt.Errorf("crawl: --cancel %d: hflineage serve at %s: %w", id, r.base, err)
	}
	defer resp.Body.Close()
	var answer struct {
		Canceled int    `json:"canceled"`
		Was      string `json:"was"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer); err != nil || answer.Canceled != id {
		return fmt.Errorf("crawl: --cancel %d: hflineage serve at %s answered %s, not the crawl canceled (%v)", id, r.base, resp.Status, err)
	}
	if jsonOut {
		return json.NewEncoder(stdout).Encode(answer)
	}
	if answer.Was == "running" {
		fmt.Fprintf(stderr, "crawl: crawl %d stops at its next commit on hflineage serve at %s; what it crawled is kept, its position dropped (the same crawl starts over)\n", id, r.base)
	} else {
		fmt.Fprintf(stderr, "crawl: crawl %d was queued on hflineage serve at %s and will not run\n", id, r.base)
	}
	return nil
}
