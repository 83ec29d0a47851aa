package posit

import (
	"math"
	"math/bits"

	"github.com/frugal-ml/frugal/arith/round"
)

// Quire is the exact fixed-point accumulator of a posit format: a two's
// complement integer whose least significant bit weighs minpos^2 and whose
// integer part holds maxpos^2 plus 31 carry bits, so up to 2^31 products can
// be added without loss. For es = 2 its width is 16n bits as in the 2022
// standard (rounded up to whole 64-bit words).
type Quire struct {
	c     Config
	lsb   int      // the bit of weight 2^0 is bit lsb
	w     []uint64 // little-endian words
	nar   bool
	carry uint64 // scratch
}

// NewQuire returns a zeroed quire for format c.
func NewQuire(c Config) *Quire {
	lsb := 2 * c.MaxScale()
	width := 2*lsb + 1 + 31
	return &Quire{c: c, lsb: lsb, w: make([]uint64, (width+63)/64)}
}

// Bits is the quire width in bits.
func (q *Quire) Bits() int { return 64 * len(q.w) }

// Reset clears the quire to zero.
func (q *Quire) Reset() {
	clear(q.w)
	q.nar = false
}

// add adds (or subtracts) v * 2^pos, pos relative to the quire's bit 0.
func (q *Quire) add(v uint64, pos int, neg bool) {
	if pos < 0 { // the dropped bits are zero for any exact posit product
		v >>= uint(-pos)
		pos = 0
	}
	i, off := pos/64, uint(pos%64)
	lo := v << off
	var hi uint64
	if off > 0 {
		hi = v >> (64 - off)
	}
	var c uint64
	if !neg {
		q.w[i], c = bits.Add64(q.w[i], lo, 0)
		j := i + 1
		if j < len(q.w) {
			q.w[j], c = bits.Add64(q.w[j], hi, c)
			for j++; c != 0 && j < len(q.w); j++ {
				q.w[j], c = bits.Add64(q.w[j], 0, c)
			}
		}
		return
	}
	q.w[i], c = bits.Sub64(q.w[i], lo, 0)
	j := i + 1
	if j < len(q.w) {
		q.w[j], c = bits.Sub64(q.w[j], hi, c)
		for j++; c != 0 && j < len(q.w); j++ {
			q.w[j], c = bits.Sub64(q.w[j], 0, c)
		}
	}
}

// AddProduct adds a*b exactly (the standard's qMulAdd).
func (q *Quire) AddProduct(a, b uint32) {
	c := q.c
	if c.IsNaR(a) || c.IsNaR(b) {
		q.nar = true
		return
	}
	if a&c.Mask() == 0 || b&c.Mask() == 0 {
		return
	}
	na, sa, ma := c.Parts(a)
	nb, sb, mb := c.Parts(b)
	// significands have at most 30 significant bits; keep 32 of each.
	prod := (ma >> 32) * (mb >> 32) // < 2^64; value = prod * 2^(sa+sb-62)
	q.add(prod, sa+sb-62+q.lsb, na != nb)
}

// SubProduct subtracts a*b exactly (qMulSub): negating a posit is exact.
func (q *Quire) SubProduct(a, b uint32) {
	q.AddProduct(-a&q.c.Mask(), b)
}

// Add adds the posit a exactly (a * 1).
func (q *Quire) Add(a uint32) {
	c := q.c
	if c.IsNaR(a) {
		q.nar = true
		return
	}
	if a&c.Mask() == 0 {
		return
	}
	n, s, m := c.Parts(a)
	q.add(m>>32, s-31+q.lsb, n)
}

// IsNaR reports whether a NaR was accumulated.
func (q *Quire) IsNaR() bool { return q.nar }

// Posit rounds the quire's exact value to the nearest posit (once).
func (q *Quire) Posit() uint32 {
	if q.nar {
		return q.c.NaR()
	}
	neg := q.w[len(q.w)-1]>>63 != 0
	mag := q.w
	if neg {
		mag = make([]uint64, len(q.w))
		var b uint64
		for i, w := range q.w {
			mag[i], b = bits.Sub64(0, w, b)
		}
	}
	top := len(mag) - 1
	for top >= 0 && mag[top] == 0 {
		top--
	}
	if top < 0 {
		return 0
	}
	lz := bits.LeadingZeros64(mag[top])
	msb := top*64 + 63 - lz // bit index of the leading one
	// the 64 bits after the leading one, and whether anything lies below.
	var frac uint64
	sticky := false
	get := func(i int) uint64 {
		if i < 0 || i >= len(mag) {
			return 0
		}
		return mag[i]
	}
	// bits [msb-64, msb) form frac
	start := msb - 64
	wi, off := floorDiv(start, 64), start-floorDiv(start, 64)*64
	if off == 0 {
		frac = get(wi)
	} else {
		frac = get(wi)>>uint(off) | get(wi+1)<<uint(64-off)
	}
	if start > 0 {
		for i := 0; i < wi && !sticky; i++ {
			sticky = mag[i] != 0
		}
		if wi >= 0 && off > 0 && get(wi)<<uint(64-off) != 0 {
			sticky = true
		}
	}
	scale := msb - q.lsb
	return q.c.encodeParts(neg, scale, frac, sticky, round.RNE, 0, math.NaN())
}

func floorDiv(a, b int) int {
	d := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		d--
	}
	return d
}

// Dot returns the exactly rounded dot product of two posit vectors.
func (c Config) Dot(a, b []uint32) uint32 {
	q := NewQuire(c)
	for i := range a {
		q.AddProduct(a[i], b[i])
	}
	return q.Posit()
}

// DotNaive rounds after every multiply and every add, as a posit unit
// without a quire would (each step correctly rounded); compare it with Dot
// to see what the quire buys.
func (c Config) DotNaive(a, b []uint32) uint32 {
	var acc uint32
	q := NewQuire(c)
	for i := range a {
		q.Reset()
		q.AddProduct(a[i], b[i])
		p := q.Posit()
		q.Reset()
		q.Add(acc)
		q.Add(p)
		acc = q.Posit()
	}
	return acc
}

// Mul returns the correctly rounded product a*b.
func (c Config) Mul(a, b uint32) uint32 {
	q := NewQuire(c)
	q.AddProduct(a, b)
	return q.Posit()
}

// Add returns the correctly rounded sum a+b.
func (c Config) Add(a, b uint32) uint32 {
	q := NewQuire(c)
	q.Add(a)
	q.Add(b)
	return q.Posit()
}
