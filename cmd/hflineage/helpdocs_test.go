package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// helpFlag is a flag line of a command's --help: "  --name VALUE".
var helpFlag = regexp.MustCompile(`(?m)^  (-{1,2})([a-z][a-z0-9-]*)`)

// TestHelpMatchesReference: every command's --help spells its flags as
// docs/reference.md and the README do (--name; -o for a one-letter name),
// and every flag it lists is in the command's section of docs/reference.md
// (crawl's shared flags in crawl's), so that the two cannot drift apart.
func TestHelpMatchesReference(t *testing.T) {
	shared := referenceSection(t, "crawl")
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, help, _ := cli(t, c.name, "--help")
			if code != 0 {
				t.Fatalf("--help: exit %d", code)
			}
			section := sectionOf(t, c.name)
			flags := helpFlag.FindAllStringSubmatch(help, -1)
			if len(flags) == 0 {
				t.Fatalf("no flags in --help:\n%s", help)
			}
			for _, f := range flags {
				dashes, name := f[1], f[2]
				if want := dashed(name); dashes+name != want {
					t.Errorf("--help lists %s%s, want %s", dashes, name, want)
				}
				if name == "db" || name == "json" || name == "h" {
					continue // documented once for all commands
				}
				doc := dashed(name)
				if !strings.Contains(section, doc) && !(strings.Contains(section, "crawl's flags") && strings.Contains(shared, doc)) {
					t.Errorf("%s is not in the %q section of docs/reference.md", doc, c.name)
				}
			}
		})
	}
}

// sectionOf is the reference section documenting command name: its own,
// or the one it shares ("### history, diff").
func sectionOf(t *testing.T, name string) string {
	t.Helper()
	for _, heading := range []string{name, "history, diff"} {
		if heading != name && !strings.Contains(heading, name) {
			continue
		}
		if s, ok := tryReferenceSection(heading); ok {
			return s
		}
	}
	t.Fatalf("docs/reference.md has no section for %s", name)
	return ""
}

// TestModeHelpSaysAuto: the help does not read as if walk were the
// default mode (the flag package takes a back-quoted word as the value's
// name: "`walk`, scan or auto" showed "--mode walk").
func TestModeHelpSaysAuto(t *testing.T) {
	for _, cmd := range []string{"crawl", "schedule", "serve"} {
		_, help, _ := cli(t, cmd, "--help")
		if !strings.Contains(help, "--mode MODE") || !strings.Contains(help, `(default "auto")`) {
			t.Errorf("%s --help:\n%s\nwant --mode MODE … (default \"auto\")", cmd, help)
		}
	}
}

// tryReferenceSection is referenceSection without failing the test.
func tryReferenceSection(name string) (string, bool) {
	reference, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		return "", false
	}
	_, section, ok := strings.Cut(string(reference), "\n### "+name+"\n")
	section, _, _ = strings.Cut(section, "\n### ")
	return section, ok
}
