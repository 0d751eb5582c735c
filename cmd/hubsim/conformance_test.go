package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// conformanceDir holds the Node script and its pinned @huggingface/hub.
var conformanceDir = filepath.Join("..", "..", "crawler", "hubtest", "conformance")

// TestConformance runs the Hub's own JavaScript client against hubsim (the
// fake Hub its flags build, served by httptest) and checks each row of
// issue 14's table against the real Hub's behaviour: listModels with
// filters, additionalFields and paging; modelInfo on a plain, other-case,
// renamed, gated, private and missing model; expand, sort, full, skip,
// X-Request-Id and the Link scheme; and, when the recorded tree is at hand,
// a recorded world's gated and lastModified. The table is logged (go test
// -v shows it).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Node client")
	}
	script := nodeClient(t)
	t.Run("generated", func(t *testing.T) {
		runConformance(t, script, []string{"--models", "3000", "--page", "50"},
			"base-org-0/Base-Model-0", "base-org-1/Base-Model-1", "base-org-2/Base-Model-2", nil)
	})
	t.Run("recorded tree", func(t *testing.T) {
		path, ok := hubtest.Recording(filepath.Join("..", "..", "..", "shared", "hub-recordings", "model_metadata_analyses"),
			"Llama-2-7b_finetunes_20250422_180448.json")
		if !ok {
			t.Skip("no recorded tree (../shared absent or hidden)")
		}
		tr, err := hubtest.ReadTree(path)
		if err != nil {
			t.Fatal(err)
		}
		// A private model: a finetune of the root that has no children.
		private := ""
		for c, ps := range tr.Edges {
			if ps[tr.Root][graph.Finetune] && (private == "" || c < private) && !slices.ContainsFunc(
				keys(tr.Edges), func(k string) bool { _, has := tr.Edges[k][c]; return has }) {
				private = c
			}
		}
		runConformance(t, script, []string{"--world", path, "--page", "10"}, tr.Root, tr.Root, private,
			map[string]any{"id": tr.Root, "gated": "manual", "lastModified": "2024-04-17T08:12:44.000Z"})
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// runConformance starts hubsim's fake Hub with args plus a rename to
// plain, gated and private, and runs the script against it.
func runConformance(t *testing.T, script string, args []string, plain, gated, private string, tree map[string]any) {
	const renamed = "old-org/Renamed-Away"
	args = append(args, "--rename", renamed+"="+plain, "--private", private)
	if gated != plain || tree == nil {
		args = append(args, "--gated", gated)
	}
	c, hub, srv := serveHub(t, args...)

	// What the real Hub would answer, from the world itself.
	w := hub.World
	children, adapters, child := 0, 0, ""
	for _, id := range w.IDs() {
		m, _ := w.Get(id)
		if m.Private {
			continue
		}
		if slices.Contains(m.Tags, "base_model:"+plain) {
			children++
		}
		if slices.Contains(m.Tags, "base_model:adapter:"+plain) {
			adapters++
		}
		if child == "" && slices.Contains(m.Tags, "base_model:finetune:"+plain) && parentCount(m.Tags) == 1 {
			child = id
		}
	}
	if children <= c.page || child == "" {
		t.Fatalf("world too small for the test: %d children of %s, finetune %q", children, plain, child)
	}
	cfg := map[string]any{
		"plain": plain, "otherCase": strings.ToUpper(plain), "renamed": map[string]string{"old": renamed, "id": plain},
		"gated": gated, "private": private, "missing": "nobody-here/no-such-model",
		"child":   map[string]string{"id": child, "parent": plain, "relation": "finetune"},
		"family":  map[string]any{"parent": plain, "children": children, "adapters": adapters},
		"pageCap": c.page,
	}
	if tree != nil {
		cfg["tree"] = tree
	}
	raw, _ := json.Marshal(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "HUB_URL="+srv.URL, "CONFORMANCE="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("@huggingface/hub against hubsim %s:\n%s", strings.Join(args, " "), out.String())
	if err != nil {
		t.Errorf("conformance script: %v (rows marked DIFFERS above)", err)
	}
}

func parentCount(tags []string) int {
	seen := map[graph.ModelID]bool{}
	for _, tag := range tags {
		if _, id, ok := graph.ParseBaseModelTag(tag); ok {
			seen[id] = true
		}
	}
	return len(seen)
}

// npmCIEnv, set to 1, lets the conformance test run npm ci itself (it
// reaches the npm registry) when the client is not installed.
const npmCIEnv = "HFLINEAGE_NPM_CI"

// nodeClient returns the path of the conformance script beside an
// installed @huggingface/hub. A test touches no network beyond loopback, so
// the client is not installed here: it is the script's own directory once
// npm ci has run there (.ci/run runs it). Without it the test skips, unless
// HFLINEAGE_NPM_CI=1 asks it to run npm ci in a temporary copy (the npm
// registry is then reached). It skips too when Node or npm is missing or
// that install fails.
func nodeClient(t *testing.T) string {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: the conformance test needs Node (Debian: apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(conformanceDir, "node_modules", "@huggingface", "hub", "package.json")); err == nil {
		abs, err := filepath.Abs(filepath.Join(conformanceDir, "conformance.mjs"))
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	if os.Getenv(npmCIEnv) != "1" {
		t.Skipf("@huggingface/hub is not installed: run `npm ci` in crawler/hubtest/conformance (`.ci/run` does), or set %s=1 to let this test run it (it reaches the npm registry)", npmCIEnv)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not found and the conformance client is not installed: apt-get install npm, then npm ci in crawler/hubtest/conformance")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "conformance.mjs"} {
		b, err := os.ReadFile(filepath.Join(conformanceDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Skipf("npm ci took over 5 minutes (offline?): %s", out)
		}
		t.Skipf("npm ci failed (offline?), cannot install @huggingface/hub: %v\n%s", err, out)
	}
	return filepath.Join(dir, "conformance.mjs")
}

// TestNodeClientInstall: without node_modules the conformance test skips
// and runs no npm, unless HFLINEAGE_NPM_CI=1. Node and npm are stand-ins
// on PATH; the npm one records that it ran.
func TestNodeClientInstall(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell-script stand-ins for node and npm")
	}
	bin, src := t.TempDir(), t.TempDir()
	ran := filepath.Join(t.TempDir(), "npm-ran")
	for name, body := range map[string]string{
		"node": "#!/bin/sh\nexit 0\n",
		"npm":  "#!/bin/sh\necho \"$@\" >> '" + ran + "'\nexit 0\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"package.json", "package-lock.json", "conformance.mjs"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := conformanceDir
	conformanceDir = src
	t.Cleanup(func() { conformanceDir = old })
	t.Setenv("PATH", bin)

	try := func(name, env string) (script string, skipped bool) {
		t.Setenv(npmCIEnv, env)
		t.Run(name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			script = nodeClient(t)
		})
		return script, skipped
	}
	if _, skipped := try("not installed", ""); !skipped {
		t.Error("no node_modules, HFLINEAGE_NPM_CI unset: not skipped")
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("no node_modules, HFLINEAGE_NPM_CI unset: npm ran")
	}
	script, skipped := try("HFLINEAGE_NPM_CI=1", "1")
	b, _ := os.ReadFile(ran)
	if skipped || !strings.HasPrefix(string(b), "ci ") || filepath.Base(script) != "conformance.mjs" {
		t.Errorf("HFLINEAGE_NPM_CI=1: skipped %v, npm ran with %q, script %q", skipped, b, script)
	}

	// Installed: the script's own directory, npm not run.
	os.Remove(ran)
	if err := os.MkdirAll(filepath.Join(src, "node_modules", "@huggingface", "hub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "node_modules", "@huggingface", "hub", "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	script, skipped = try("installed", "")
	if _, err := os.Stat(ran); skipped || err == nil || script != filepath.Join(src, "conformance.mjs") {
		t.Errorf("installed: skipped %v, npm ran %v, script %q", skipped, err == nil, script)
	}
}
