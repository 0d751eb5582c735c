package server

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hflineage/hflineage/query"
)

// Feeds of a family's changes: the members runs added and removed
// (query.Engine.Changes), as JSON for scripts and as an Atom feed a feed
// reader polls. The feed's answer carries an ETag of the data version: a
// reader that sends it back in If-None-Match is answered 304 without the
// work while no crawl changed the data.

// changesOptions reads ?model=SPEC[&since=RUN|DATE][&runs=N][&ids=N].
func changesOptions(r *http.Request) (query.ChangesOptions, error) {
	m, err := modelParam(r)
	if err != nil {
		return query.ChangesOptions{}, err
	}
	o := query.ChangesOptions{Model: m, Since: r.URL.Query().Get("since")}
	if o.Runs, err = boundedParam(r, "runs", query.DefaultChangeRuns, query.MaxChangeRuns); err != nil {
		return o, err
	}
	if o.IDs, err = boundedParam(r, "ids", query.DefaultChangeIDs, query.MaxChangeIDs); err != nil {
		return o, err
	}
	return o, nil
}

// changes answers GET /api/v1/changes: diff --since --json.
func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	o, err := changesOptions(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.q.Changes(r.Context(), o)
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// diffOrEcosystem answers GET /api/v1/diff: of an ecosystem when model
// names one (what the run changed that touches its roots and members),
// else exactly as diff does.
func (s *Server) diffOrEcosystem(w http.ResponseWriter, r *http.Request) {
	spec := r.URL.Query().Get("model")
	if !query.IsEcosystem(spec) {
		s.diff(w, r)
		return
	}
	run, err := runParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.q.DiffEcosystem(r.Context(), query.DiffOptions{Run: run, Model: spec})
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// feedETag is the feed's entity tag at a data version (and this build:
// another build may write the feed otherwise).
func feedETag(version uint64) string {
	h := fnv.New32a()
	h.Write([]byte(query.Version()))
	return fmt.Sprintf(`W/"%d-%08x"`, version, h.Sum32())
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks of If-None-Match).
func etagMatches(header, etag string) bool {
	weak := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == weak {
			return true
		}
	}
	return false
}

// changesFeed answers GET /feeds/changes.atom: the Atom feed of the runs
// that changed the family, newest first.
func (s *Server) changesFeed(w http.ResponseWriter, r *http.Request) {
	o, err := changesOptions(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	version, err := s.q.DataVersion()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache") // keep it, but ask again
	if etag := feedETag(version); etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	c, err := s.q.Changes(r.Context(), o)
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	// The feed changed last with its latest entry (RFC 3339 times in UTC
	// sort as text); without one, with the last run.
	updated := ""
	for _, run := range c.Runs {
		if run.Changed() {
			updated = max(updated, run.When())
		}
	}
	if updated == "" {
		if runs, _, err := s.q.RunPage(r.Context(), 0, 1); err == nil && len(runs) > 0 { // the last run
			updated = query.ChangeRun{Finished: formatTime(runs[0].Finished), Started: formatTime(runs[0].Started)}.When()
		}
	}
	if updated == "" {
		updated = formatTime(time.Unix(0, 0))
	}
	body, err := xml.MarshalIndent(atomOf(c, feedBase(r), updated), "", "  ")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("ETag", feedETag(c.DataVersion))
	if t, err := time.Parse(time.RFC3339, updated); err == nil {
		w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(body)
	w.Write([]byte("\n"))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// feedBase is the request's URL (scheme and Host), to make the feed's
// links absolute.
func feedBase(r *http.Request) *url.URL {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
}

// Atom 1.0 (RFC 4287): what the feed writes.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   atomText    `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string   `xml:"id"`
	Title   atomText `xml:"title"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary atomText `xml:"summary"`
}

// feedID is the feed's id: the same for a model whatever the address the
// server is reached at, and the window asked.
func feedID(model string) string {
	return "tag:hflineage,2026:changes/" + url.PathEscape(model)
}

// atomOf writes c as a feed: one entry per run that changed the family.
func atomOf(c query.Changes, self *url.URL, updated string) atomFeed {
	what := "the family of " + c.Model
	if c.Ecosystem {
		what = "the ecosystem " + c.Model
	}
	f := atomFeed{ID: feedID(c.Model), Title: atomText{Type: "text", Text: "Derivatives added to and removed from " + what},
		Updated: updated, Author: atomPerson{Name: "hflineage"},
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: self.String()}}}
	for _, r := range c.Runs {
		if !r.Changed() {
			continue
		}
		api := *self // what the run changed in the family, edges too
		api.Path = "/api/v1/diff"
		api.RawQuery = url.Values{"model": {c.Model}, "run": {strconv.FormatUint(r.Run, 10)}}.Encode()
		f.Entries = append(f.Entries, atomEntry{
			ID:      fmt.Sprintf("%s/run/%d", f.ID, r.Run),
			Title:   atomText{Type: "text", Text: fmt.Sprintf("run %d: %d added, %d removed in %s", r.Run, r.AddedCount, r.RemovedCount, what)},
			Updated: r.When(),
			Link:    atomLink{Rel: "alternate", Type: "application/json", Href: api.String()},
			Summary: atomText{Type: "text", Text: summaryOf(r)},
		})
	}
	return f
}

// summaryOf lists what a run changed, one member a line.
func summaryOf(r query.ChangeRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %d (%s", r.Run, r.Mode)
	switch {
	case r.Finished == "":
		b.WriteString(", unfinished")
	case !r.Complete:
		b.WriteString(", incomplete")
	}
	fmt.Fprintf(&b, "): %d added, %d removed; %d members after it\n", r.AddedCount, r.RemovedCount, r.Members)
	line := func(sign string, m query.ChangedMember) {
		rels := make([]string, len(m.Relations))
		for i, rel := range m.Relations {
			rels[i] = string(rel)
		}
		fmt.Fprintf(&b, "%s %s (%s, %s)\n", sign, m.Model, strings.Join(rels, ", "), m.Change)
	}
	for _, m := range r.Added {
		line("+", m)
	}
	if n := r.AddedCount - len(r.Added); n > 0 {
		fmt.Fprintf(&b, "+ … %d more\n", n)
	}
	for _, m := range r.Removed {
		line("-", m)
	}
	if n := r.RemovedCount - len(r.Removed); n > 0 {
		fmt.Fprintf(&b, "- … %d more\n", n)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
