package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestHelpOnStdout: --help writes the usage to the help writer (stdout in
// main), whole, and a bad flag prints nothing but its one-line error.
func TestHelpOnStdout(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if !strings.HasPrefix(help.String(), "Usage: hubsim") || !strings.Contains(help.String(), "-world") {
		t.Errorf("--help wrote:\n%s", help.String())
	}
	help.Reset()
	_, err := parseFlags([]string{"--nope"}, &help)
	if !errors.As(err, new(usageError)) || help.Len() != 0 || !strings.Contains(err.Error(), "see hubsim --help") {
		t.Errorf("--nope: %v, wrote %q; want a usage error pointing to --help, nothing written", err, help.String())
	}
	if helpOut == nil {
		t.Error("helpOut is nil")
	}
}
