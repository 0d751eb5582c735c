package main

import (
	"fmt"

	"github.com/hflineage/hflineage/graph"
)

func writeGrowthPlot(path string, s graph.Stats) error {
	return fmt.Errorf("stats --plot: not implemented yet")
}
