// Package chart draws hflineage's charts over categories (a family's growth
// by month, its size after each crawl run) with gonum.org/v1/plot, as SVG or
// PNG. It adds what the charts need on top of gonum/plot: a tick and a
// label for every category, labels turned so that they stay inside the
// canvas and clear of the axis title, and the legend beside the plot, where
// it covers no line. Colours are the caller's (relations take theirs from
// graph.RelationColor).
package chart

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Series is one line (or row of bars) of a chart.
type Series struct {
	Name   string
	Values []float64 // one per category; missing ones are left undrawn
	Color  color.Color
	// Bars draws the series as bars rather than a line.
	Bars bool
}

// Chart is a chart over categories (months, runs), drawn in order.
type Chart struct {
	Title  string
	XLabel string
	YLabel string
	X      []string // the categories' labels
	Series []Series
	// MaxLabels, if above 0, labels at most this many categories, evenly
	// spaced, the first and last always; the others keep their tick.
	// 0 labels every category.
	MaxLabels int
}

// Formats are the file formats Write draws.
var Formats = []string{"svg", "png"}

// FormatOf returns the format a file name asks for: png for a name ending
// in .png (any case), else svg.
func FormatOf(path string) string {
	if strings.HasSuffix(strings.ToLower(path), ".png") {
		return "png"
	}
	return "svg"
}

// Sizes, in points.
const (
	chartHeight vg.Length = 400
	minWidth    vg.Length = 720
	perCategory vg.Length = 15 // room for one turned label
	margin      vg.Length = 8
	pngDPI                = 96
)

var (
	sans    = font.Font{Typeface: "Liberation", Variant: "Sans"}
	inkText = color.Gray{0x22}
	inkAxis = color.Gray{0x44}
	inkGrid = color.Gray{0xe5}
)

// Size is the size of the drawing: wide enough for every category's label.
func (c Chart) Size() (w, h vg.Length) {
	return max(minWidth, 180+vg.Length(c.labelled())*perCategory+c.legendWidth()), chartHeight
}

// labelled is the number of categories labelled.
func (c Chart) labelled() int {
	if c.MaxLabels > 0 {
		return min(len(c.X), c.MaxLabels)
	}
	return len(c.X)
}

// label reports whether category i is labelled.
func (c Chart) label(i int) bool {
	n, k := len(c.X), c.labelled()
	if k >= n || i == n-1 {
		return true
	}
	if k <= 1 {
		return i == 0
	}
	every := (n - 1 + k - 2) / (k - 1) // ⌈(n-1)/(k-1)⌉: k labels at most, the last included
	return i%every == 0 && n-1-i >= every
}

// Write draws c on w as format (svg or png).
func (c Chart) Write(w io.Writer, format string) error {
	width, height := c.Size()
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch format {
	case "svg":
		canvas = vgsvg.New(width, height)
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(pngDPI))}
	default:
		return fmt.Errorf("chart: unknown format %q (want %s)", format, strings.Join(Formats, " or "))
	}
	if err := c.draw(draw.New(canvas)); err != nil {
		return err
	}
	_, err := canvas.WriteTo(w)
	return err
}

// layout is where draw put the parts of a chart, for tests.
type layout struct {
	data   vg.Rectangle // the data area, inside the axes
	legend vg.Rectangle
}

func (c Chart) draw(dc draw.Canvas) error {
	_, err := c.drawLayout(dc)
	return err
}

func (c Chart) drawLayout(dc draw.Canvas) (layout, error) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	p := plot.New()
	p.BackgroundColor = color.Transparent
	p.Title.Text = c.Title
	p.Title.TextStyle.Font = font.Font{Typeface: sans.Typeface, Variant: sans.Variant, Weight: xfont.WeightBold, Size: 14}
	p.Title.TextStyle.Color = inkText
	p.Title.Padding = margin
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.Font{Typeface: sans.Typeface, Variant: sans.Variant, Size: 11}
		a.Label.TextStyle.Color = inkText
		a.Tick.Label.Font = font.Font{Typeface: sans.Typeface, Variant: sans.Variant, Size: 9}
		a.Tick.Label.Color = inkText
		a.Color, a.Tick.Color = inkAxis, inkAxis
		a.Label.Padding = margin / 2
		a.Padding = 0 // the axes meet at the origin
	}
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel

	// A tick and a label for every category, turned 40° and anchored at
	// their right end under the tick: they hang below the axis, over the
	// axis title's padding and never over the title itself.
	ticks := make([]plot.Tick, len(c.X))
	for i, label := range c.X {
		ticks[i] = plot.Tick{Value: float64(i)}
		if c.label(i) {
			ticks[i].Label = label
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Label.Rotation = 40 * math.Pi / 180
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YTop
	p.X.Min, p.X.Max = -0.5, math.Max(0.5, float64(len(c.X))-0.5)
	p.Y.Tick.Marker = countTicks{}
	p.Y.Min = 0
	p.Y.Max = 1
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				p.Y.Max = math.Max(p.Y.Max, v*1.05)
			}
		}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = inkGrid
	p.Add(grid)

	width, _ := c.Size()
	step := (width - 180 - c.legendWidth()) / vg.Length(max(1, len(c.X)))
	legend := plot.NewLegend()
	legend.TextStyle.Font = font.Font{Typeface: sans.Typeface, Variant: sans.Variant, Size: 10}
	legend.TextStyle.Color = inkText
	legend.Top, legend.Left = true, true
	legend.Padding = margin / 2
	for _, s := range c.Series {
		thumb, err := c.add(p, s, step)
		if err != nil {
			return layout{}, err
		}
		legend.Add(s.Name, thumb)
	}

	// The plot on the left, the legend in a column of its own on the right.
	inner := draw.Crop(dc, margin, -margin, margin, -margin)
	plotArea := draw.Crop(inner, 0, -c.legendWidth(), 0, 0)
	p.Draw(plotArea)
	data := p.DataCanvas(plotArea)
	legendArea := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: plotArea.Max.X + margin, Y: data.Min.Y},
		Max: vg.Point{X: inner.Max.X, Y: data.Max.Y},
	}}
	legend.Draw(legendArea)
	return layout{data: data.Rectangle, legend: legend.Rectangle(legendArea)}, nil
}

// add draws s on p and returns its legend thumbnail.
func (c Chart) add(p *plot.Plot, s Series, step vg.Length) (plot.Thumbnailer, error) {
	if s.Bars {
		values := make(plotter.Values, len(c.X))
		for i := range values {
			if i < len(s.Values) && !math.IsNaN(s.Values[i]) {
				values[i] = s.Values[i]
			}
		}
		bars, err := plotter.NewBarChart(values, max(1, step*0.6))
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", s.Name, err)
		}
		bars.Color = s.Color
		bars.LineStyle.Width = 0
		p.Add(bars)
		return bars, nil
	}
	style := draw.LineStyle{Color: s.Color, Width: vg.Points(2.25)}
	var thumb plot.Thumbnailer
	// A line through each run of values; NaN leaves a gap.
	var run plotter.XYs
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		line, points, err := plotter.NewLinePoints(run)
		if err != nil {
			return fmt.Errorf("chart: %s: %w", s.Name, err)
		}
		line.LineStyle = style
		points.Shape = draw.CircleGlyph{}
		points.Color = s.Color
		points.Radius = vg.Points(2.5)
		p.Add(line)
		if len(c.X) <= 40 {
			p.Add(points)
		}
		thumb, run = line, nil
		return nil
	}
	for i, v := range s.Values {
		if i >= len(c.X) {
			break
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		run = append(run, plotter.XY{X: float64(i), Y: v})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if thumb == nil { // nothing to draw: the legend still shows the style
		thumb = &plotter.Line{LineStyle: style}
	}
	return thumb, nil
}

// legendWidth is the room the legend column takes.
func (c Chart) legendWidth() vg.Length {
	style := plot.NewLegend().TextStyle
	style.Font = font.Font{Typeface: sans.Typeface, Variant: sans.Variant, Size: 10}
	w := vg.Length(0)
	for _, s := range c.Series {
		w = max(w, style.Width(s.Name))
	}
	return w + plot.NewLegend().ThumbnailWidth + 3*margin
}

// countTicks marks the y axis at round counts (whole numbers, with k and M
// for thousands and millions).
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
		if t.Value != math.Trunc(t.Value) {
			continue // no fractional counts
		}
		if t.Label != "" {
			t.Label = formatCount(t.Value)
		}
		out = append(out, t)
	}
	return out
}

func formatCount(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case math.Abs(v) >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
