// Package chart draws simple line charts as standalone SVG: axes with
// rounded ticks, category labels, a title and a legend. It is what
// hflineage uses to picture a family's growth without any plotting tool.
package chart

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Series is one line.
type Series struct {
	Name   string
	Values []float64 // one per X label; NaN leaves a gap
}

// Chart is a line chart over categories (months, runs).
type Chart struct {
	Title  string
	XLabel string
	YLabel string
	X      []string
	Series []Series
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

const (
	width, height                      = 900, 480
	left, right, top, bottom           = 80, 30, 60, 90
	plotW, plotH                       = width - left - right, height - top - bottom
	fontFamily                         = "Helvetica, Arial, sans-serif"
	maxXLabels                         = 16
	legendRowHeight, legendSwatchWidth = 18, 22
)

// WriteSVG draws c on w.
func (c Chart) WriteSVG(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	maxY := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				maxY = math.Max(maxY, v)
			}
		}
	}
	step, ticks := niceTicks(maxY)
	yTop := step * float64(ticks)
	n := len(c.X)
	xAt := func(i int) float64 {
		if n <= 1 {
			return left + plotW/2
		}
		return left + float64(i)*plotW/float64(n-1)
	}
	yAt := func(v float64) float64 { return top + plotH - v/yTop*plotH }

	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s">`+"\n", width, height, width, height, fontFamily)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="30" font-size="18" font-weight="bold">%s</text>`+"\n", left, esc(c.Title))
	// Grid and y ticks.
	for i := 0; i <= ticks; i++ {
		v := step * float64(i)
		y := yAt(v)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", left, y, left+plotW, y)
		p(`<text x="%d" y="%.1f" font-size="12" text-anchor="end" fill="#333">%s</text>`+"\n", left-8, y+4, formatNumber(v))
	}
	// Axes.
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, top, left, top+plotH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	// X labels, thinned to at most maxXLabels.
	every := max(1, (n+maxXLabels-1)/maxXLabels)
	for i, label := range c.X {
		if i%every != 0 && i != n-1 {
			continue
		}
		x := xAt(i)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/>`+"\n", x, top+plotH, x, top+plotH+5)
		p(`<text x="%.1f" y="%d" font-size="12" text-anchor="end" transform="rotate(-40 %.1f %d)" fill="#333">%s</text>`+"\n",
			x, top+plotH+18, x, top+plotH+18, esc(label))
	}
	p(`<text x="%d" y="%d" font-size="13" text-anchor="middle" fill="#333">%s</text>`+"\n", left+plotW/2, height-10, esc(c.XLabel))
	p(`<text x="18" y="%d" font-size="13" text-anchor="middle" fill="#333" transform="rotate(-90 18 %d)">%s</text>`+"\n",
		top+plotH/2, top+plotH/2, esc(c.YLabel))
	// Lines.
	for si, s := range c.Series {
		color := palette[si%len(palette)]
		path := ""
		pen := "M"
		for i, v := range s.Values {
			if i >= n {
				break
			}
			if math.IsNaN(v) {
				pen = "M"
				continue
			}
			path += fmt.Sprintf("%s%.1f,%.1f ", pen, xAt(i), yAt(v))
			pen = "L"
		}
		p(`<path d="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"/>`+"\n", path, color)
		if n <= 40 {
			for i, v := range s.Values {
				if i < n && !math.IsNaN(v) {
					p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s</title></circle>`+"\n", xAt(i), yAt(v), color, esc(c.X[i]), formatNumber(v))
				}
			}
		}
	}
	// Legend, top left inside the plot.
	for si, s := range c.Series {
		y := top + 12 + si*legendRowHeight
		color := palette[si%len(palette)]
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", left+12, y, left+12+legendSwatchWidth, y, color)
		p(`<text x="%d" y="%d" font-size="13" fill="#222">%s</text>`+"\n", left+12+legendSwatchWidth+6, y+4, esc(s.Name))
	}
	p("</svg>\n")
	return b.Flush()
}

// niceTicks picks a round step so that about 5 steps cover maxY.
func niceTicks(maxY float64) (step float64, ticks int) {
	if maxY <= 0 {
		return 1, 1
	}
	raw := maxY / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	if step < 1 {
		step = 1
	}
	return step, int(math.Ceil(maxY / step))
}

func formatNumber(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }
