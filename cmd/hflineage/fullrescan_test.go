package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// danglingOf runs stats --json on db and returns its dangling parents.
func danglingOf(t *testing.T, db string) (int, graph.DanglingCounts) {
	t.Helper()
	code, stdout, stderr := cli(t, "stats", "--db", db, "--json")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, stderr)
	}
	var s graph.Stats
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	return s.Models, s.Dangling
}

// lateListedHub is a fake Hub (one model per page) where user/child names
// org/hidden, private for now, whose lastModified is older than the other
// models', with two models between it and the rest: an incremental scan
// stops at the first page older than the last scan's watermark, and the
// page size of 1 keeps that page apart from org/hidden's.
func lateListedHub(t *testing.T) (*hubtest.World, *hubtest.Server) {
	t.Helper()
	old := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	world := hubtest.NewWorld()
	world.Add(hubtest.Model{ID: "org/base", Tags: []string{"transformers"}})
	world.Add(hubtest.Model{ID: "org/hidden", Private: true, LastModified: old, CreatedAt: old,
		Tags: hubtest.ParentTags(pt("org/base", "finetune"))})
	world.Add(hubtest.Model{ID: "user/child", Tags: hubtest.ParentTags(pt("org/hidden", "finetune"))})
	for _, id := range []string{"org/older-1", "org/older-2"} {
		world.Add(hubtest.Model{ID: id, LastModified: old.AddDate(0, 6, 0), CreatedAt: old, Tags: []string{"transformers"}})
	}
	srv := hubtest.NewUnstartedServer(world)
	srv.MaxPageSize = 1
	srv.Start()
	t.Cleanup(srv.Close)
	return world, srv
}

// A model made public after a complete scan, with a lastModified older
// than that scan's watermark, is missed by every incremental scan: its
// child's parent stays "not listed by a complete scan", and stats says
// which full scan that verdict rests on. A scheduled scan whose last full
// one is older than --full-every lists the whole Hub and finds it; with
// the default (7d) a scan right after a full one stays incremental.
func TestScheduledFullRescanFindsLateListedModel(t *testing.T) {
	world, srv := lateListedHub(t)
	db := filepath.Join(t.TempDir(), "db")

	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all")
	models, d := danglingOf(t, db)
	if models != 4 || d.NotListedByScan != 1 || d.ScanRun != 1 || d.ScanDate.IsZero() ||
		len(d.Top) != 1 || d.Top[0].Model != "org/hidden" || d.Top[0].ScanRun != 1 || !d.Top[0].ScanDate.Equal(d.ScanDate) {
		t.Fatalf("after the first scan: %d models, dangling %+v; want org/hidden not listed by run 1", models, d)
	}
	code, stdout, _ := cli(t, "stats", "--db", db)
	if code != 0 || !strings.Contains(stdout, "not listed: as of the full scan of run 1, ") ||
		!strings.Contains(stdout, "not on the Hub (not listed by the full scan of run 1, "+d.ScanDate.Format(time.DateOnly)+")") {
		t.Errorf("stats does not name the full scan:\n%s", stdout)
	}

	// Made public, its lastModified as old as ever.
	if !world.Update("org/hidden", func(m *hubtest.Model) { m.Private = false }) {
		t.Fatal("no org/hidden")
	}
	for _, tc := range []struct {
		fullEvery    string
		run          uint64
		found        bool
		wantScanRun  uint64
		wantFullLine bool
	}{
		{"0", 2, false, 1, false},  // never full: incremental, misses it
		{"7d", 3, false, 1, false}, // the default: the last full scan is seconds old
		{"1ns", 4, true, 0, true},  // due: lists the whole Hub
		{"1ns", 5, true, 0, true},  // and again (each run is due)
		{"7d", 6, true, 0, false},  // incremental again, the verdict gone
	} {
		args := []string{"schedule", "--every", "1s", "--runs", "1", "--json", "--db", db, "--endpoint", srv.URL, "--all"}
		if tc.fullEvery != "7d" {
			args = append(args, "--full-every", tc.fullEvery)
		}
		code, stdout, stderr := cli(t, args...)
		if code != 0 {
			t.Fatalf("--full-every %s: exit %d: %s", tc.fullEvery, code, stderr)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("--full-every %s: %v: %q", tc.fullEvery, err, stdout)
		}
		if out["run"] != float64(tc.run) || out["complete"] != true {
			t.Errorf("--full-every %s: %s, want run %d complete", tc.fullEvery, stdout, tc.run)
		}
		if got := strings.Contains(stderr, "full rescan"); got != tc.wantFullLine {
			t.Errorf("--full-every %s: full rescan said %v, want %v:\n%s", tc.fullEvery, got, tc.wantFullLine, stderr)
		}
		models, d := danglingOf(t, db)
		if found := models == 5 && d.NotListedByScan == 0; found != tc.found || d.ScanRun != tc.wantScanRun {
			t.Errorf("--full-every %s (run %d): %d models, dangling %+v; want org/hidden found %v, verdict on run %d", tc.fullEvery, tc.run, models, d, tc.found, tc.wantScanRun)
		}
	}
}

// scannedThenPublic returns a database that scanned lateListedHub's Hub
// once, after which org/hidden was made public (with its old
// lastModified), and that Hub.
func scannedThenPublic(t *testing.T) (string, *hubtest.Server) {
	t.Helper()
	world, srv := lateListedHub(t)
	db := filepath.Join(t.TempDir(), "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all")
	world.Update("org/hidden", func(m *hubtest.Model) { m.Private = false })
	return db, srv
}

// serve's scheduled scans take --full-every too: with a full scan older
// than it, the scheduled scan lists the whole Hub (and says so in the log).
func TestServeScheduledFullRescan(t *testing.T) {
	db, srv := scannedThenPublic(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, serveErr, done := background(ctx, "serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", srv.URL,
		"--every", "1h", "--all", "--full-every", "1ns")
	waitUntil(t, "the scheduled crawl", func() bool { return strings.Contains(serveErr.String(), "crawl finished") })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d: %s", code, serveErr)
	}
	if !strings.Contains(serveErr.String(), "full rescan: the last scan that listed the whole Hub (run 1, ") {
		t.Errorf("serve's log does not say the scan was full:\n%s", serveErr)
	}
	if models, d := danglingOf(t, db); models != 5 || d.NotListedByScan != 0 {
		t.Errorf("after serve's scheduled scan: %d models, dangling %+v; want org/hidden found", models, d)
	}
}

// schedule hands its crawls to a serve that holds the database, with its
// --full-every: the server's crawl of a due scan lists the whole Hub.
func TestScheduleViaServeFullRescan(t *testing.T) {
	db, srv := scannedThenPublic(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, serveErr, done := background(ctx, "serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", srv.URL)
	waitUntil(t, "the server", func() bool { return strings.Contains(serveErr.String(), "serve: listening on") })

	for i, tc := range []struct {
		fullEvery string
		added     float64 // org/hidden, found by a full scan only
	}{
		{"7d", 0},  // the default: the last full scan is seconds old
		{"1ns", 1}, // due
	} {
		code, stdout, stderr := cli(t, "schedule", "--every", "1s", "--runs", "1", "--json", "--db", db, "--all", "--full-every", tc.fullEvery)
		if code != 0 {
			t.Fatalf("--full-every %s: exit %d: %s", tc.fullEvery, code, stderr)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(stdout), &out); err != nil || out["complete"] != true {
			t.Fatalf("--full-every %s: %v: %q", tc.fullEvery, err, stdout)
		}
		if out["run"] != float64(2+i) || out["models_added"] != tc.added {
			t.Errorf("--full-every %s: %s, want run %d adding %v", tc.fullEvery, stdout, 2+i, tc.added)
		}
		if want := fmt.Sprintf(`msg="crawl finished" crawl=%d run=%d`, i+1, i+2); !strings.Contains(serveErr.String(), want) {
			t.Errorf("--full-every %s: the server did not run the crawl (no %q):\n%s", tc.fullEvery, want, serveErr)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d: %s", code, serveErr)
	}
	if models, d := danglingOf(t, db); models != 5 || d.NotListedByScan != 0 {
		t.Errorf("after the due scan: %d models, dangling %+v; want org/hidden found", models, d)
	}
}
