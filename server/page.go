package server

import (
	"bytes"
	"html"
	"net"
	"net/http"
	"strconv"
)

// tokenMeta is where index.html carries the session token for the page's
// own POSTs: filled in only for the server's owner (ownerOf), and readable
// by no other origin's page (the same-origin policy; the Host check stops
// a page that rebinds its name to this machine).
var tokenMeta = []byte(`<meta name="hflineage-token" content="">`)

// hubMeta is where index.html names the Hub the server crawls, for the
// page's links to it ("on the Hub ↗"): the endpoint only, never a token.
var hubMeta = []byte(`<meta name="hflineage-hub" content="https://huggingface.co">`)

// page serves the explorer's index.html, with the session token when the
// browser asking runs as the user the server runs as, on this machine, and
// did not come from another site's page.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, err := webFiles.ReadFile("web/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	b = bytes.Replace(b, hubMeta, []byte(`<meta name="hflineage-hub" content="`+html.EscapeString(s.hubBase())+`">`), 1)
	if site := r.Header.Get("Sec-Fetch-Site"); (site == "" || site == "same-origin" || site == "none") && s.ownerOf(r) {
		b = bytes.Replace(b, tokenMeta, []byte(`<meta name="hflineage-token" content="`+s.session+`">`), 1)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// ownerOf reports whether a request comes, over loopback, from a process
// of the user this server runs as (peerUID: read from the kernel's socket
// table; false where it cannot be told).
func (s *Server) ownerOf(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok || !local.IP.IsLoopback() {
		return false
	}
	remote, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil || !remote.IP.IsLoopback() {
		return false
	}
	uid, ok := peerUID(local, remote)
	return ok && uid == ownUID()
}
