package graph

import (
	"fmt"
	"net/url"
	"strings"
)

// HubHosts are the hosts whose URLs name models on the public Hub.
var HubHosts = []string{"huggingface.co", "www.huggingface.co", "hf.co"}

// IsModelURL reports whether ref is written as a URL rather than an id:
// it has a scheme ("https://…"), or begins with one of HubHosts followed
// by "/" ("hf.co/org/name"). An endpoint's host (endpoints are taken for
// the signature ParseModelRef shares) is read as the Hub's only with a
// scheme: "huggingface/name" is an id even when $HF_ENDPOINT is
// http://huggingface. A model id never has "://", and no organisation is
// named like a Hub host.
func IsModelURL(ref string, endpoints ...string) bool {
	if strings.Contains(ref, "://") {
		return true
	}
	host, _, ok := strings.Cut(ref, "/")
	return ok && isHubHost(host, nil)
}

// ParseModelRef parses a model as people paste it: an id ("org/name"),
// or the URL of its page on the Hub — https://huggingface.co/org/name,
// with or without the scheme, www. or a trailing "/", on hf.co or on the
// host of one of endpoints (base URLs such as $HF_ENDPOINT, whose path, if
// any, prefixes the model's); what follows the id (/tree/main,
// /blob/main/README.md, ?query, #fragment) is ignored, and
// /api/models/org/name is read too. One path segment is a single-name
// model (https://huggingface.co/gpt2): the Hub's URL of an organisation
// looks the same, and the command then says the model is not in the
// database. A URL's id may be one the Hub listed under older rules
// (old--org/legacy..name: ParseListedID, ASCII), as the CLI takes it typed.
// It refuses, wrapping ErrInvalidID, an id ParseModelID refuses, a URL on
// another host, a URL whose path begins with a Hub host (a URL pasted
// into another), and a URL that names something other than a model: a
// dataset, a Space, a page of the site (/docs, /models, …). Its errors
// quote ref without userinfo, query or fragment (RedactRef).
func ParseModelRef(ref string, endpoints ...string) (ModelID, error) {
	if !IsModelURL(ref, endpoints...) {
		return ParseModelID(ref)
	}
	shown := RedactRef(ref)
	raw := ref
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w %q: not a Hub URL (want https://huggingface.co/ORG/NAME)", ErrInvalidID, shown)
	}
	prefix, ok := hubPrefix(u.Host, endpoints)
	if !ok {
		return "", fmt.Errorf("%w %q: %s is not the Hub (want https://huggingface.co/ORG/NAME, hf.co or $HF_ENDPOINT's host)", ErrInvalidID, shown, u.Host)
	}
	path := strings.Trim(u.Path, "/")
	if prefix != "" {
		rest, ok := strings.CutPrefix(path+"/", prefix+"/")
		if !ok {
			return "", fmt.Errorf("%w %q: not under the endpoint's path /%s", ErrInvalidID, shown, prefix)
		}
		path = strings.Trim(rest, "/")
	}
	path = strings.TrimPrefix(path, "api/models/")
	segs := strings.Split(path, "/")
	switch {
	case path == "":
		return "", fmt.Errorf("%w %q: the Hub's home page names no model (want https://huggingface.co/ORG/NAME)", ErrInvalidID, shown)
	case segs[0] == "datasets":
		return "", fmt.Errorf("%w %q: a dataset's URL, not a model's", ErrInvalidID, shown)
	case segs[0] == "spaces":
		return "", fmt.Errorf("%w %q: a Space's URL, not a model's", ErrInvalidID, shown)
	case sitePages[segs[0]]:
		return "", fmt.Errorf("%w %q: a page of the Hub, not a model's (want https://huggingface.co/ORG/NAME)", ErrInvalidID, shown)
	case isHubHost(segs[0], nil):
		return "", fmt.Errorf("%w %q: its path begins with the Hub's host %s (a URL pasted into another?)", ErrInvalidID, shown, segs[0])
	}
	s := segs[0]
	// org/name[/tree/main…], or a single-name model's name/tree/main….
	if len(segs) > 1 && !(len(segs) > 2 && repoPages[segs[1]] && !repoPages[segs[2]]) {
		s += "/" + segs[1]
	}
	id, err := ParseTypedID(s)
	if err != nil {
		return "", fmt.Errorf("%w (from %q)", err, shown)
	}
	return id, nil
}

// RedactRef returns ref, a model or URL as given, fit to quote in a
// message: without the userinfo of a URL (https://user:TOKEN@host/…), its
// query and its fragment, which may hold secrets.
func RedactRef(ref string) string {
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	start := 0
	if i := strings.Index(ref, "://"); i >= 0 {
		start = i + 3
	}
	end := len(ref)
	if i := strings.IndexByte(ref[start:], '/'); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndexByte(ref[start:end], '@'); at >= 0 {
		ref = ref[:start] + ref[start+at+1:]
	}
	return ref
}

// ParseTypedID checks an id a person typed: today's rule (ParseModelID),
// or an id listed under older rules in plain ASCII (old--org/legacy..name:
// ParseListedID), which a database may hold. What it refuses, it refuses
// with ParseModelID's error.
func ParseTypedID(s string) (ModelID, error) {
	id, err := ParseModelID(s)
	if err != nil {
		if _, lerr := ParseListedID(s); lerr != nil || !isASCII(s) {
			return "", err
		}
		id = ModelID(s)
	}
	return id, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// sitePages are the first path segments of the Hub's own pages, which
// no organisation can take.
var sitePages = map[string]bool{
	"api": true, "blog": true, "chat": true, "collections": true, "docs": true, "enterprise": true,
	"join": true, "learn": true, "login": true, "models": true, "new": true, "notifications": true,
	"organizations": true, "papers": true, "posts": true, "pricing": true, "search": true,
	"settings": true, "tasks": true,
}

// repoPages are the path segments after a model's id that name one of
// its pages (/tree/main, /blob/main/README.md, …).
var repoPages = map[string]bool{
	"blame": true, "blob": true, "commit": true, "commits": true, "discussions": true,
	"edit": true, "raw": true, "resolve": true, "settings": true, "tree": true,
}

// isHubHost reports whether host (host[:port], any case) is one of
// HubHosts or an endpoint's.
func isHubHost(host string, endpoints []string) bool {
	_, ok := hubPrefix(host, endpoints)
	return ok
}

// hubPrefix reports whether host is the Hub's, and the path (without
// slashes) under which that host serves it: "" but for an endpoint with a
// path, such as a mirror at https://example.org/hub.
func hubPrefix(host string, endpoints []string) (string, bool) {
	host = strings.ToLower(host)
	for _, h := range HubHosts {
		if host == h {
			return "", true
		}
	}
	for _, e := range endpoints {
		u, err := url.Parse(strings.TrimSpace(e))
		if err != nil || u.Host == "" {
			continue
		}
		if strings.ToLower(u.Host) == host {
			return strings.Trim(u.Path, "/"), true
		}
	}
	return "", false
}
