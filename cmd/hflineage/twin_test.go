package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestREADMEGeneratedTwin runs the examples of the README's "Without the
// recordings" section — the tour's twin for a clone without ../shared — on
// the Hub `hubsim --models 20000` serves (seed 1), after the section's
// `crawl --all`, and compares their output byte for byte (dates aside; an
// example ending in "…" with the lines it shows). It needs no recording.
func TestREADMEGeneratedTwin(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### Without the recordings\n")
	if !ok {
		t.Fatal(`README has no "### Without the recordings" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	if !strings.Contains(section, "hubsim --models 20000") || !strings.Contains(section, "hflineage crawl --all") {
		t.Fatal("the section no longer starts hubsim --models 20000 and crawl --all: update this test")
	}
	examples := regexp.MustCompile("(?s)```\n\\$ hflineage ([^\n]*)\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(examples) < 2 {
		t.Fatalf("the section shows %d examples", len(examples))
	}
	srv := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 20000, Seed: 1}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all")
	for _, ex := range examples {
		command, want := ex[1], ex[2]
		t.Run(command, func(t *testing.T) {
			args := strings.Fields(strings.ReplaceAll(command, "'", ""))
			code, got, stderr := cli(t, append(args, "--db", db)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, want = dates.ReplaceAllString(got, "DATE"), dates.ReplaceAllString(want, "DATE")
			if shown, cut := strings.CutSuffix(want, "…\n"); cut {
				got = got[:min(len(got), len(shown))]
				want = shown
			}
			if got != want {
				t.Errorf("README shows\n%s\nthe command prints\n%s", want, got)
			}
		})
	}
}
