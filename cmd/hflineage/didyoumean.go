package main

import (
	"flag"
	"strings"
)

// nearest returns the candidate a mistyped word most likely meant: the
// one fewest edits away (a transposition is one edit), when that is at
// most 1 for a word of 3 letters and 2 for a longer one; or else the only
// candidate the word begins. "" when none is near enough, and for words
// of fewer than 3 letters (-f is as near -o as it is to anything). Ties go
// to the first candidate.
func nearest(word string, candidates []string) string {
	w := strings.ToLower(word)
	n := len([]rune(w))
	if n < 3 {
		return ""
	}
	limit := 2
	if n == 3 {
		limit = 1
	}
	best, bestD := "", limit+1
	var prefixed []string
	for _, c := range candidates {
		if c == word {
			continue
		}
		lc := strings.ToLower(c)
		if d := editDistance(w, lc); d < bestD {
			best, bestD = c, d
		}
		if strings.HasPrefix(lc, w) {
			prefixed = append(prefixed, c)
		}
	}
	if best == "" && len(prefixed) == 1 {
		best = prefixed[0]
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// the fewest insertions, deletions, substitutions and swaps of adjacent
// characters that turn one into the other.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// unknownCommand is the usage error for a command name that is not one,
// suggesting the nearest command.
func unknownCommand(name string) error {
	names := []string{"help", "version"}
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if s := nearest(name, names); s != "" {
		return usagef("unknown command %q — did you mean %q?", name, s)
	}
	return usagef("unknown command %q", name)
}

// unknownFlag words the error for a flag fs does not define, suggesting
// the nearest one it does.
func unknownFlag(fs *flag.FlagSet, name string) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	msg := "unknown flag " + dashed(name)
	if s := nearest(name, names); s != "" {
		msg += " — did you mean " + dashed(s) + "?"
	}
	return msg
}
