package arith

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/frugal-ml/frugal/arith/convert"
	"github.com/frugal-ml/frugal/arith/fixed"
	"github.com/frugal-ml/frugal/arith/lns"
	"github.com/frugal-ml/frugal/arith/minifloat"
	"github.com/frugal-ml/frugal/arith/mx"
	"github.com/frugal-ml/frugal/arith/posit"
)

// Minifloat adapts a minifloat spec to a ScalarFormat.
func Minifloat(s minifloat.Spec) ScalarFormat {
	f := &scalar{name: s.Name, bits: s.Bits(), desc: minifloatDesc(s),
		enc: s.Encode, dec: func(c uint32) float64 { return s.Decode(c) }}
	switch s {
	case minifloat.FP32:
		f.kernels = []string{"native"}
		f.fast = func(dst, src []float32) { copy(dst, src) }
	case minifloat.FP16:
		f.kernels = []string{"convert.F32ToF16/F16ToF32 (" + convert.Impl() + ")"}
		f.fast = fastVia(convert.F32ToF16, convert.F16ToF32)
	case minifloat.BF16:
		f.kernels = []string{"convert.F32ToBF16/BF16ToF32 (" + convert.Impl() + ")"}
		f.fast = fastVia(convert.F32ToBF16, convert.BF16ToF32)
	}
	return f
}

func minifloatDesc(s minifloat.Spec) string {
	ov := map[minifloat.NaNStyle]string{minifloat.IEEE: "overflow -> Inf", minifloat.FN: "no Inf, one NaN, overflow -> NaN (or saturate)", minifloat.NoNaN: "no Inf/NaN, saturates"}[s.NaN]
	return fmt.Sprintf("1 sign, %d exponent (bias %d), %d mantissa bits; max %g, min subnormal %g; %s",
		s.ExpBits, s.Bias, s.ManBits, s.MaxFinite(), s.MinSubnormal(), ov)
}

// Posit adapts a posit config.
func Posit(c posit.Config) ScalarFormat {
	return &scalar{name: c.Name(), bits: c.N, enc: c.Encode, dec: c.Decode,
		kernels: []string{"posit.Quire (exact dot)"},
		desc: fmt.Sprintf("posit<%d,%d> (2022 standard%s): maxpos 2^%d, minpos 2^-%d, NaR; quire %d bits",
			c.N, c.ES, map[bool]string{true: "", false: " layout, es != 2"}[c.ES == 2], c.MaxScale(), c.MaxScale(), posit.NewQuire(c).Bits())}
}

// Fixed adapts a Qm.n format.
func Fixed(q fixed.Q) ScalarFormat {
	lo, hi := q.Range()
	return &scalar{name: q.Name(), bits: q.Bits(), enc: q.Encode, dec: q.Decode,
		desc: fmt.Sprintf("signed Q%d.%d, %d bits, step 2^-%d, range [%g, %g], saturating", q.M, q.N, q.Bits(), q.N, q.DecodeInt(lo), q.DecodeInt(hi))}
}

// LNS adapts a logarithmic format.
func LNS(f lns.Format) ScalarFormat {
	return &scalar{name: f.Name(), bits: f.B, enc: f.Encode, dec: f.Decode,
		desc: fmt.Sprintf("sign + %d-bit two's complement log2 with %d fraction bits; range 2^±%g", f.B-1, f.F, float64(int64(1)<<(f.B-2)-1)/float64(int64(1)<<f.F))}
}

// MX adapts an MX or BFP codec.
func MX(c mx.Codec) Format {
	var desc string
	switch c := c.(type) {
	case mx.Format:
		el := "INT8 (scale 2^-6)"
		if !c.Int8 {
			el = c.Elem.String()
		}
		desc = fmt.Sprintf("OCP MX: 32 x %s + E8M0 scale, shared exp = floor(log2 amax) - %d, elements saturate", el, c.EmaxElem())
	case mx.BFP:
		desc = fmt.Sprintf("block floating point: %d x (sign + %d-bit magnitude) + 8-bit shared exponent", c.Block, c.Man)
	}
	return &block{c: c, desc: desc}
}

var named = map[string]func() Format{}

func init() {
	for _, s := range minifloat.All {
		named[s.Name] = func() Format { return Minifloat(s) }
	}
	for _, f := range mx.All {
		named[f.Name()] = func() Format { return MX(f) }
	}
	named["binary"] = func() Format { return &binTer{false} }
	named["ternary"] = func() Format { return &binTer{true} }
}

var (
	rePosit = regexp.MustCompile(`^posit(\d+)_(\d+)$`)
	reFixed = regexp.MustCompile(`^fixed(\d+)_(\d+)$`)
	reInt   = regexp.MustCompile(`^(u?)int(\d+)$`)
	reLNS   = regexp.MustCompile(`^lns(\d+)(?:_(\d+))?$`)
	reBFP   = regexp.MustCompile(`^bfp_m(\d+)_b(\d+)$`)
)

func atoi(s string) int {
	if len(s) > 4 {
		return 1 << 20 // out of every range below
	}
	n, _ := strconv.Atoi(s)
	return n
}

// Lookup returns the format with the given name (see Table and Families).
func Lookup(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if f, ok := named[n]; ok {
		return f(), nil
	}
	if m := rePosit.FindStringSubmatch(n); m != nil {
		c, err := posit.New(atoi(m[1]), atoi(m[2]))
		if err != nil {
			return nil, err
		}
		return Posit(c), nil
	}
	if m := reFixed.FindStringSubmatch(n); m != nil {
		q, err := fixed.New(atoi(m[1]), atoi(m[2]))
		if err != nil {
			return nil, err
		}
		return Fixed(q), nil
	}
	if m := reInt.FindStringSubmatch(n); m != nil {
		b := atoi(m[2])
		if b < 1 || b > 8 {
			return nil, fmt.Errorf("%s: integer formats have 1 to 8 bits", name)
		}
		if m[1] == "" && b < 2 {
			return nil, fmt.Errorf("%s: symmetric int needs at least 2 bits (use uint1 or binary)", name)
		}
		return &integer{bits: b, sym: m[1] == ""}, nil
	}
	if m := reLNS.FindStringSubmatch(n); m != nil {
		b := atoi(m[1])
		fr := lns.DefaultFrac(b)
		if m[2] != "" {
			fr = atoi(m[2])
		}
		f, err := lns.New(b, fr)
		if err != nil {
			return nil, err
		}
		return LNS(f), nil
	}
	if m := reBFP.FindStringSubmatch(n); m != nil {
		c, err := mx.NewBFP(atoi(m[2]), atoi(m[1]))
		if err != nil {
			return nil, err
		}
		return MX(c), nil
	}
	return nil, fmt.Errorf("unknown format %q (try `frugal formats list`)", name)
}

// Families documents the parametric names Lookup accepts.
var Families = []string{
	"posit<N>_<ES>   2 <= N <= 32, 0 <= ES <= 4 (2022 standard: ES = 2)",
	"fixed<M>_<N>    signed Qm.n, 1+M+N <= 32 bits (sign not counted in M)",
	"int<B>, uint<B> per-tensor affine, B = 1..8 (int: symmetric, uint: asymmetric)",
	"lns<B>[_<F>]    logarithmic, B = 2..32 bits, F fraction bits of the log",
	"bfp_m<M>_b<K>   block floating point, M magnitude bits, K elements per block",
}

// TableNames is the canonical list of rows shown by Table.
var TableNames = []string{
	"fp32", "tf32", "bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "fp6_e3m2", "fp6_e2m3", "fp4_e2m1",
	"mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8", "bfp_m7_b16",
	"posit8_2", "posit16_2", "posit32_2", "posit16_1", "fixed7_8", "fixed0_15",
	"int8", "uint8", "int4", "int2", "binary", "ternary", "lns8", "lns16",
}

// Row is a line of the format table.
type Row struct {
	Name           string
	Kind           Kind
	Bits           int     // element code bits
	Block          int     // elements per scale: 1 scalar, 0 whole tensor
	BitsPerElement float64 // stored, per element (for 1024 elements)
	Kernels        []string
	Describe       string
}

// Table returns one row per format in TableNames.
func Table() []Row {
	var rows []Row
	for _, n := range TableNames {
		f, err := Lookup(n)
		if err != nil {
			panic(err) // TableNames is a constant list; covered by tests
		}
		rows = append(rows, Row{f.Name(), f.Kind(), f.Bits(), f.BlockSize(), BitsPerElement(f, 1024), f.Kernels(), f.Describe()})
	}
	return rows
}
