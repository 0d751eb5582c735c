package server

import (
	"fmt"
	"net/http"
	"strconv"
)

// runParam reads GET /api/v1/diff's optional ?run=N: 0 when absent (the
// last run). As diff --run, a run is numbered from 1: run=0 or less is
// refused (400), not read as the last run.
func runParam(r *http.Request) (uint64, error) {
	v := r.URL.Query().Get("run")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return 0, badParam("run", fmt.Sprintf("must be a run number, not %q", v))
	case n < 1:
		return 0, badParam("run", fmt.Sprintf("%d: runs are numbered from 1 (leave run out for the last run)", n))
	}
	return uint64(n), nil
}
