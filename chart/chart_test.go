package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// probe is a vg.Canvas that draws nothing and records where text and
// straight lines land on the canvas, through every transform.
type probe struct {
	w, h  vg.Length
	m     affine
	stack []affine
	texts []placed
	lines [][2]vg.Point
}

// placed is a string drawn and the box it covers (axis-aligned, around the
// possibly turned text).
type placed struct {
	s    string
	box  vg.Rectangle
	quad [4]vg.Point // the text's own rectangle, turned: corners in order
}

// affine maps (x, y) to (a x + c y + e, b x + d y + f).
type affine struct{ a, b, c, d, e, f float64 }

func (m affine) apply(p vg.Point) vg.Point {
	x, y := float64(p.X), float64(p.Y)
	return vg.Point{X: vg.Length(m.a*x + m.c*y + m.e), Y: vg.Length(m.b*x + m.d*y + m.f)}
}

func (m affine) then(n affine) affine { // m × n: n applied first
	return affine{
		a: m.a*n.a + m.c*n.b, b: m.b*n.a + m.d*n.b,
		c: m.a*n.c + m.c*n.d, d: m.b*n.c + m.d*n.d,
		e: m.a*n.e + m.c*n.f + m.e, f: m.b*n.e + m.d*n.f + m.f,
	}
}

func newProbe(w, h vg.Length) *probe { return &probe{w: w, h: h, m: affine{a: 1, d: 1}} }

func (p *probe) Size() (vg.Length, vg.Length)        { return p.w, p.h }
func (p *probe) SetLineWidth(vg.Length)              {}
func (p *probe) SetLineDash([]vg.Length, vg.Length)  {}
func (p *probe) SetColor(color.Color)                {}
func (p *probe) Fill(vg.Path)                        {}
func (p *probe) DrawImage(vg.Rectangle, image.Image) {}
func (p *probe) Push()                               { p.stack = append(p.stack, p.m) }
func (p *probe) Pop()                                { p.m, p.stack = p.stack[len(p.stack)-1], p.stack[:len(p.stack)-1] }
func (p *probe) Translate(pt vg.Point) {
	p.m = p.m.then(affine{a: 1, d: 1, e: float64(pt.X), f: float64(pt.Y)})
}
func (p *probe) Rotate(r float64) {
	s, c := math.Sincos(r)
	p.m = p.m.then(affine{a: c, b: s, c: -s, d: c})
}
func (p *probe) Scale(x, y float64) { p.m = p.m.then(affine{a: x, d: y}) }

func (p *probe) Stroke(path vg.Path) {
	var prev vg.Point
	for i, comp := range path {
		pt := p.m.apply(comp.Pos)
		if comp.Type == vg.LineComp && i > 0 {
			p.lines = append(p.lines, [2]vg.Point{prev, pt})
		}
		prev = pt
	}
}

func (p *probe) FillString(f font.Face, pt vg.Point, s string) {
	ext := f.Extents()
	w := f.Width(s)
	corners := [4]vg.Point{
		{X: pt.X, Y: pt.Y - ext.Descent}, {X: pt.X + w, Y: pt.Y - ext.Descent},
		{X: pt.X + w, Y: pt.Y + ext.Ascent}, {X: pt.X, Y: pt.Y + ext.Ascent},
	}
	box := vg.Rectangle{Min: vg.Point{X: math.MaxFloat32, Y: math.MaxFloat32}, Max: vg.Point{X: -math.MaxFloat32, Y: -math.MaxFloat32}}
	for i, c := range corners {
		c = p.m.apply(c)
		corners[i] = c
		box.Min.X, box.Min.Y = min(box.Min.X, c.X), min(box.Min.Y, c.Y)
		box.Max.X, box.Max.Y = max(box.Max.X, c.X), max(box.Max.Y, c.Y)
	}
	p.texts = append(p.texts, placed{s, box, corners})
}

// draw lays c out on a probe of its size.
func (c Chart) probe(t *testing.T) (*probe, layout) {
	t.Helper()
	w, h := c.Size()
	p := newProbe(w, h)
	l, err := c.drawLayout(draw.New(p))
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

func (p *probe) find(s string) []placed {
	var out []placed
	for _, x := range p.texts {
		if x.s == s {
			out = append(out, x)
		}
	}
	return out
}

func overlap(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

// collide reports whether two convex quadrilaterals overlap (by more than
// a hair), by the separating axis theorem.
func collide(a, b [4]vg.Point) bool {
	for _, q := range [][4]vg.Point{a, b} {
		for i := range q {
			e := vg.Point{X: q[(i+1)%4].X - q[i].X, Y: q[(i+1)%4].Y - q[i].Y}
			n := vg.Point{X: -e.Y, Y: e.X}
			proj := func(r [4]vg.Point) (lo, hi float64) {
				lo, hi = math.Inf(1), math.Inf(-1)
				for _, p := range r {
					d := float64(p.X*n.X + p.Y*n.Y)
					lo, hi = math.Min(lo, d), math.Max(hi, d)
				}
				return lo, hi
			}
			alo, ahi := proj(a)
			blo, bhi := proj(b)
			hair := 0.5 * math.Hypot(float64(n.X), float64(n.Y))
			if ahi <= blo+hair || bhi <= alo+hair {
				return false
			}
		}
	}
	return true
}

func months(from string, n int) []string {
	var out []string
	y, m := 0, 0
	fmt.Sscanf(from, "%d-%d", &y, &m)
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("%04d-%02d", y+(m-1+i)/12, (m-1+i)%12+1))
	}
	return out
}

func series(name string, n int, f func(i int) float64, c color.Color) Series {
	s := Series{Name: name, Color: c}
	for i := 0; i < n; i++ {
		s.Values = append(s.Values, f(i))
	}
	return s
}

func testCharts() map[string]Chart {
	blue, grey := color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.Gray{0x22}
	growth := Chart{Title: "Growth of base-org-0/Base-Model-0", XLabel: "month of creation (Hub createdAt)", YLabel: "descendants", X: months("2023-01", 45)}
	monthly := series("new that month", 45, func(i int) float64 { return float64(i % 7 * 13) }, blue)
	monthly.Bars = true
	growth.Series = []Series{monthly, series("family size (cumulative)", 45, func(i int) float64 { return float64(i * i * 3) }, grey)}

	history := Chart{Title: "Family of base-org-0/Base-Model-0 over crawl runs", XLabel: "run (finished, UTC)", YLabel: "descendants"}
	for i := 1; i <= 6; i++ {
		history.X = append(history.X, fmt.Sprintf("run %d · 2026-11-%02d 03:00", i, i))
	}
	// The total rises to the top left corner, where a legend inside the plot would sit.
	history.Series = []Series{series("total", 6, func(i int) float64 { return float64(2000 - i*100) }, grey)}
	for k, name := range []string{"adapter", "finetune", "merge", "quantized"} {
		history.Series = append(history.Series, series(name, 6, func(i int) float64 { return float64(100*k + 10*i) }, blue))
	}

	many := Chart{Title: "many runs", XLabel: "run", YLabel: "descendants", MaxLabels: 60, X: months("2020-01", 200)}
	many.Series = []Series{series("total", 200, func(i int) float64 { return float64(i) }, grey)}
	gaps := Chart{Title: "gaps", XLabel: "x", YLabel: "y", X: []string{"a", "b", "c", "d"},
		Series: []Series{{Name: "with a gap", Values: []float64{1, math.NaN(), 3, 4}, Color: grey}}}
	return map[string]Chart{
		"growth": growth, "history": history, "many runs": many, "gaps": gaps,
		"one category": {Title: "one", XLabel: "x", YLabel: "y", X: []string{"2025-01"}, Series: []Series{{Name: "s", Values: []float64{5}, Color: grey}}},
		"empty":        {Title: "nothing yet", XLabel: "x", YLabel: "y"},
	}
}

// TestLayout checks where things land, not pixels: every text inside the
// canvas; a label for every category (or MaxLabels of them, first and last
// included), none over the x axis title; the legend beside the data area,
// so it covers no line; both axes drawn along the data area.
func TestLayout(t *testing.T) {
	for name, c := range testCharts() {
		t.Run(name, func(t *testing.T) {
			p, l := c.probe(t)
			canvas := vg.Rectangle{Max: vg.Point{X: p.w, Y: p.h}}
			for _, x := range p.texts {
				if x.box.Min.X < canvas.Min.X || x.box.Min.Y < canvas.Min.Y || x.box.Max.X > canvas.Max.X || x.box.Max.Y > canvas.Max.Y {
					t.Errorf("%q at %v is outside the canvas %v", x.s, x.box, canvas)
				}
			}
			for _, want := range []string{c.Title, c.XLabel, c.YLabel} {
				if len(p.find(want)) != 1 {
					t.Errorf("%q drawn %d times", want, len(p.find(want)))
				}
			}
			xTitle := p.find(c.XLabel)[0].box
			labelled := 0
			var prev *placed
			for i, label := range c.X {
				got := p.find(label)
				if !c.label(i) {
					continue
				}
				labelled++
				if len(got) != 1 {
					t.Errorf("category %q labelled %d times", label, len(got))
					continue
				}
				if overlap(got[0].box, xTitle) {
					t.Errorf("label %q %v covers the axis title %v", label, got[0].box, xTitle)
				}
				if got[0].box.Max.Y > l.data.Min.Y {
					t.Errorf("label %q %v reaches into the data area %v", label, got[0].box, l.data)
				}
				if prev != nil && collide(prev.quad, got[0].quad) {
					t.Errorf("labels %q and %q overlap", prev.s, label)
				}
				prev = &got[0]
			}
			if c.MaxLabels == 0 && labelled != len(c.X) {
				t.Errorf("%d of %d categories labelled", labelled, len(c.X))
			}
			if len(c.X) > 0 && (!c.label(0) || !c.label(len(c.X)-1) || labelled > max(c.MaxLabels, len(c.X)*map[bool]int{true: 0, false: 1}[c.MaxLabels > 0])) {
				t.Errorf("%d labels (max %d), first %v, last %v", labelled, c.MaxLabels, c.label(0), c.label(len(c.X)-1))
			}
			for _, s := range c.Series {
				got := p.find(s.Name)
				if len(got) != 1 {
					t.Errorf("legend entry %q drawn %d times", s.Name, len(got))
					continue
				}
				if got[0].box.Min.X <= l.data.Max.X {
					t.Errorf("legend entry %q %v is over the data area %v", s.Name, got[0].box, l.data)
				}
			}
			var xAxis, yAxis bool
			const tol = 2
			for _, ln := range p.lines {
				a, b := ln[0], ln[1]
				if math.Abs(float64(a.Y-b.Y)) < 0.01 && math.Abs(float64(a.Y-l.data.Min.Y)) < tol &&
					math.Abs(float64(min(a.X, b.X)-l.data.Min.X)) < tol && math.Abs(float64(max(a.X, b.X)-l.data.Max.X)) < tol {
					xAxis = true
				}
				if math.Abs(float64(a.X-b.X)) < 0.01 && math.Abs(float64(a.X-l.data.Min.X)) < tol &&
					math.Abs(float64(min(a.Y, b.Y)-l.data.Min.Y)) < tol && math.Abs(float64(max(a.Y, b.Y)-l.data.Max.Y)) < tol {
					yAxis = true
				}
			}
			if !xAxis || !yAxis {
				t.Errorf("axes along the data area %v: x %v, y %v", l.data, xAxis, yAxis)
			}
		})
	}
}

// TestWrite: the SVG is well-formed XML whose texts hold the title, every
// category label and every legend entry; the PNG decodes at the chart's size.
func TestWrite(t *testing.T) {
	c := testCharts()["growth"]
	var svg bytes.Buffer
	if err := c.Write(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	texts := map[string]int{}
	dec := xml.NewDecoder(&svg)
	var inText bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts[strings.TrimSpace(string(tok))]++
			}
		case xml.EndElement:
			inText = false
		}
	}
	for _, want := range append(append([]string{c.Title, c.XLabel, c.YLabel}, c.X...), c.Series[0].Name, c.Series[1].Name) {
		if texts[want] != 1 {
			t.Errorf("SVG has %d texts %q", texts[want], want)
		}
	}

	var b bytes.Buffer
	if err := c.Write(&b, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	w, h := c.Size()
	if got, want := img.Bounds().Size(), (image.Point{int(w.Dots(pngDPI) + 0.5), int(h.Dots(pngDPI) + 0.5)}); got != want {
		t.Errorf("PNG is %v, want %v", got, want)
	}
	if err := c.Write(io.Discard, "gif"); err == nil {
		t.Error("gif: no error")
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]string{"g.png": "png", "G.PNG": "png", "g.svg": "svg", "g": "svg", "png": "svg", "-": "svg"} {
		if got := FormatOf(path); got != want {
			t.Errorf("FormatOf(%q) = %s, want %s", path, got, want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 250: "250", 9500: "9500", 12000: "12k", 2.5e6: "2.5M"} {
		if got := formatCount(v); got != want {
			t.Errorf("formatCount(%v) = %s, want %s", v, got, want)
		}
	}
}
