package main

import (
	"flag"
	"fmt"
	"strings"
)

// printFlags lists fs's flags as the README and docs/reference.md spell
// them — --name, and -o for a one-letter name — each with its value's name
// and its default, in the flag package's layout (flag.PrintDefaults writes
// a single dash for every flag).
func printFlags(fs *flag.FlagSet) {
	out := fs.Output()
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		b.WriteString("  " + dashed(f.Name))
		value, usage := flag.UnquoteUsage(f)
		if value != "" {
			b.WriteString(" " + value)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		if d := shownDefault(f); d != "" {
			fmt.Fprintf(&b, " (default %s)", d)
		}
		fmt.Fprintln(out, b.String())
	})
}

// shownDefault is a flag's default as help shows it: "" for a zero value
// (nothing to say), quoted for text.
func shownDefault(f *flag.Flag) string {
	switch d := f.DefValue; {
	case d == "" || d == "false" || d == "0" || d == "0s" || d == "[]":
		return ""
	case fmt.Sprintf("%T", f.Value) == "*flag.stringValue":
		return fmt.Sprintf("%q", d)
	default:
		return d
	}
}
