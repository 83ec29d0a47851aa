package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/frugal-ml/frugal/arith"
	"github.com/frugal-ml/frugal/arith/errstat"
	"github.com/frugal-ml/frugal/arith/round"
	"github.com/spf13/cobra"
)

func init() { addCommand(newFormatsCmd) }

// newFormatsCmd is `frugal formats`: list, encode, decode and measure the
// number formats of the arithmetic level (package arith).
func newFormatsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "formats",
		Short: "number formats: list, encode, decode, measure quantization error",
		Long: "Number formats of the arithmetic level: IEEE fp32/fp16/bf16/tf32, OCP FP8/FP6/FP4,\n" +
			"OCP MX block formats, block floating point, posits, fixed point, integer affine,\n" +
			"binary/ternary and logarithmic numbers. Every format is bit-exact emulation;\n" +
			"`formats list` shows which also have fast kernels.",
	}
	cmd.AddCommand(newFormatsListCmd(), newFormatsEncodeCmd(), newFormatsDecodeCmd(), newFormatsErrorCmd(), newFormatsGemmCmd())
	return cmd
}

func newFormatsListCmd() *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "print the format table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tBITS\tBLOCK\tBITS/ELEM\tFAST KERNELS")
			for _, r := range arith.Table() {
				block := strconv.Itoa(r.Block)
				if r.Block == 0 {
					block = "tensor"
				}
				k := strings.Join(r.Kernels, ", ")
				if k == "" {
					k = "- (emulated)"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%.4g\t%s\n", r.Name, r.Kind, r.Bits, block, r.BitsPerElement, k)
				if long {
					fmt.Fprintf(w, "\t%s\t\t\t\t\n", r.Describe)
				}
			}
			w.Flush()
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "\nparametric families:")
			for _, f := range arith.Families {
				fmt.Fprintln(out, "  "+f)
			}
			fmt.Fprintln(out, "\nBITS/ELEM is storage per element for 1024 elements, shared scales included.")
			fmt.Fprintf(out, "accumulators for GEMM/dot: %s\n", strings.Join(arith.Accumulators, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, "also describe each format's layout")
	return cmd
}

type roundFlags struct {
	mode     string
	seed     uint64
	saturate bool
}

func (r *roundFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.mode, "rounding", "rne", "rounding mode: rne (nearest even), rtz (toward zero) or sr (stochastic)")
	cmd.Flags().Uint64Var(&r.seed, "seed", 1, "seed for stochastic rounding (same seed, same result)")
	cmd.Flags().BoolVar(&r.saturate, "saturate", false, "clamp overflow to the largest finite value instead of Inf/NaN")
}

func (r *roundFlags) options() (round.Options, error) {
	m, err := round.ParseMode(r.mode)
	if err != nil {
		return round.Options{}, err
	}
	return round.Options{Mode: m, Seed: r.seed, Saturate: r.saturate}, nil
}

func hexCode(c uint32, bits int) string {
	return fmt.Sprintf("0x%0*x", (bits+3)/4, c)
}

func fmtVal(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// splitNumbers separates arguments that are numbers (including negative
// ones, which cobra would take for flags) from flag arguments.
func splitNumbers(args []string) (nums, flags []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			nums = append(nums, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") {
			if _, err := strconv.ParseFloat(a, 64); err == nil {
				nums = append(nums, a)
				continue
			}
			flags = append(flags, a)
			// a flag's separate value: "--format fp16"
			if !strings.Contains(a, "=") && i+1 < len(args) && a != "--saturate" && a != "-h" && a != "--help" {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		nums = append(nums, a)
	}
	return
}

func newFormatsEncodeCmd() *cobra.Command {
	var name string
	var rf roundFlags
	cmd := &cobra.Command{
		Use:   "encode --format NAME [--rounding rne|rtz|sr --seed S] VALUES...",
		Short: "encode values: prints input, code bits in hex, decoded value",
		Long: "Encode decimal VALUES in a format. Each line shows the input, the code in hex and\n" +
			"the value it decodes to. Block formats (MX, BFP) encode the VALUES as one vector,\n" +
			"in blocks, and print each block's shared scale; tensor formats (int<B>, binary,\n" +
			"ternary) print the scale chosen for the whole vector. Negative values need no quoting.",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			nums, flagArgs := splitNumbers(args)
			if err := cmd.Flags().Parse(flagArgs); err != nil {
				return err
			}
			if h, _ := cmd.Flags().GetBool("help"); h {
				return cmd.Help()
			}
			nums = append(nums, cmd.Flags().Args()...)
			if name == "" {
				return fmt.Errorf("encode: --format is required (see `frugal formats list`)")
			}
			if len(nums) == 0 {
				return fmt.Errorf("encode: no VALUES given")
			}
			f, err := arith.Lookup(name)
			if err != nil {
				return err
			}
			o, err := rf.options()
			if err != nil {
				return err
			}
			xs := make([]float32, len(nums))
			in := make([]float64, len(nums))
			for i, s := range nums {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil && !isRangeErr(err) {
					return fmt.Errorf("encode: %q is not a number", s)
				}
				in[i], xs[i] = v, float32(v)
			}
			out := cmd.OutOrStdout()
			w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			defer w.Flush()
			if sf, ok := f.(arith.ScalarFormat); ok {
				// scalar formats encode the float64 input directly (fp32 and
				// wider inputs keep their precision).
				fmt.Fprintln(w, "INPUT\tBITS\tDECODED")
				for i, v := range in {
					c := sf.EncodeValue(v, o, o.R(i))
					fmt.Fprintf(w, "%s\t%s\t%s\n", nums[i], hexCode(c, f.Bits()), fmtVal(sf.DecodeValue(c)))
				}
				return nil
			}
			e, err := f.Encode(xs, o)
			if err != nil {
				return err
			}
			for k, sc := range e.Scales {
				start, end := k*e.BlockSize, min((k+1)*e.BlockSize, len(xs))
				if e.BlockSize == 0 {
					start, end = 0, len(xs)
				}
				zp := ""
				if f.Kind() == arith.Tensor && strings.Contains(f.Name(), "int") {
					zp = fmt.Sprintf(", zero point %d", sc.ZeroPoint)
				}
				if f.Kind() == arith.Tensor {
					fmt.Fprintf(w, "tensor scale (float32 bits) %s = %s%s\n", hexCode(sc.Code, sc.CodeBits), fmtVal(sc.Value), zp)
				} else {
					fmt.Fprintf(w, "block %d (elements %d..%d): shared scale %s = %s\n", k, start, end-1, hexCode(sc.Code, sc.CodeBits), fmtVal(sc.Value))
				}
				fmt.Fprintln(w, "INPUT\tBITS\tDECODED")
				for i := start; i < end; i++ {
					fmt.Fprintf(w, "%s\t%s\t%s\n", nums[i], hexCode(e.Codes[i], f.Bits()), fmtVal(float64(e.Values[i])))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "format", "f", "", "format name (see: frugal formats list)")
	rf.add(cmd)
	return cmd
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func newFormatsDecodeCmd() *cobra.Command {
	var name, scaleCode string
	var scale float64
	var zp int32
	cmd := &cobra.Command{
		Use:   "decode --format NAME [--scale-code 0xNN | --scale S --zero-point Z] 0xBITS...",
		Short: "decode code bits (hex like 0x3c00, or decimal) to values",
		Long: "Decode codes of a format. Block formats (MX, BFP) need the block's shared scale\n" +
			"byte (--scale-code, default 0x7f = 2^0); tensor formats (int<B>, binary, ternary)\n" +
			"take --scale and --zero-point.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return fmt.Errorf("decode: --format is required (see `frugal formats list`)")
			}
			f, err := arith.Lookup(name)
			if err != nil {
				return err
			}
			sc, err := strconv.ParseUint(scaleCode, 0, 8)
			if err != nil {
				return fmt.Errorf("decode: --scale-code %q is not a byte (0..0xff)", scaleCode)
			}
			codes := make([]uint32, len(args))
			for i, a := range args {
				c, err := strconv.ParseUint(a, 0, 32)
				if err != nil {
					return fmt.Errorf("decode: %q is not a code (want hex like 0x3c00 or decimal, at most 32 bits)", a)
				}
				codes[i] = uint32(c)
			}
			vals, err := arith.DecodeCodes(f, codes, arith.DecodeParams{ScaleCode: uint8(sc), Scale: scale, ZeroPoint: zp})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			defer w.Flush()
			if f.Kind() == arith.Block {
				fmt.Fprintf(w, "scale code %s\n", hexCode(uint32(sc), 8))
			}
			fmt.Fprintln(w, "BITS\tVALUE")
			for i, c := range codes {
				fmt.Fprintf(w, "%s\t%s\n", hexCode(c, f.Bits()), fmtVal(vals[i]))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "format", "f", "", "format name")
	cmd.Flags().StringVar(&scaleCode, "scale-code", "0x7f", "block formats: the shared E8M0 scale byte")
	cmd.Flags().Float64Var(&scale, "scale", 1, "tensor formats: the scale")
	cmd.Flags().Int32Var(&zp, "zero-point", 0, "integer formats: the zero point")
	return cmd
}

func newFormatsErrorCmd() *cobra.Command {
	var names, dist string
	var n int
	var seed uint64
	var mul float64
	var rf roundFlags
	cmd := &cobra.Command{
		Use:   "error --format NAME[,NAME...] --dist normal|uniform|laplace|FILE",
		Short: "measure quantization error of formats on a distribution or a file of numbers",
		Long: "Quantize data with each format and print SQNR, MSE, max absolute and relative error,\n" +
			"bias, quantiles of the absolute error and (for one format) a histogram of the signed\n" +
			"error. --dist is a distribution name or a text file of numbers separated by spaces,\n" +
			"commas or newlines ('#' starts a comment); use ./normal for a file named normal.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if names == "" {
				return fmt.Errorf("error: --format is required (see `frugal formats list`)")
			}
			o, err := rf.options()
			if err != nil {
				return err
			}
			xs, what, err := loadDist(dist, n, seed)
			if err != nil {
				return err
			}
			if mul != 1 {
				for i := range xs {
					xs[i] *= float32(mul)
				}
				what += fmt.Sprintf(" x %g", mul)
			}
			var fs []arith.Format
			for _, nm := range strings.Split(names, ",") {
				f, err := arith.Lookup(nm)
				if err != nil {
					return err
				}
				fs = append(fs, f)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "data: %s, %d values; rounding %s\n\n", what, len(xs), o.Mode)
			w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			hdr := "FORMAT\tBITS/ELEM\tSQNR dB\tMSE\tMAX ABS\tMAX REL\tBIAS"
			for _, p := range errstat.Ps[:len(errstat.Ps)-1] {
				hdr += fmt.Sprintf("\tP%g|err|", 100*p)
			}
			fmt.Fprintln(w, hdr+"\tOVERFLOW\t")
			var last errstat.Stats
			for _, f := range fs {
				q := make([]float32, len(xs))
				if err := f.Quantize(q, xs, o); err != nil {
					return err
				}
				s, err := errstat.Analyze(xs, q)
				if err != nil {
					return err
				}
				last = s
				row := fmt.Sprintf("%s\t%.4g\t%.2f\t%.3g\t%.3g\t%.3g\t%.2g", f.Name(), arith.BitsPerElement(f, len(xs)), s.SQNR, s.MSE, s.MaxAbs, s.MaxRel, s.MeanErr)
				for _, qq := range s.Quantiles[:len(s.Quantiles)-1] {
					row += fmt.Sprintf("\t%.3g", qq.Abs)
				}
				fmt.Fprintf(w, "%s\t%d\t\n", row, s.NonFinite)
			}
			w.Flush()
			if len(fs) == 1 {
				printHist(out, last)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&names, "format", "f", "", "format name, or a comma-separated list to compare")
	cmd.Flags().StringVar(&dist, "dist", "normal", "normal, uniform, laplace, or a file of numbers")
	cmd.Flags().IntVarP(&n, "n", "n", 1<<16, "how many values to draw from a distribution")
	cmd.Flags().Uint64Var(&seed, "data-seed", 1, "seed of the generated data")
	cmd.Flags().Float64Var(&mul, "mul", 1, "multiply the data by this factor (probe range and overflow)")
	rf.add(cmd)
	return cmd
}

func loadDist(dist string, n int, seed uint64) ([]float32, string, error) {
	switch strings.ToLower(dist) {
	case "normal", "gaussian", "uniform", "laplace":
		if n < 1 || n > 1<<26 {
			return nil, "", fmt.Errorf("error: -n %d out of range 1..%d", n, 1<<26)
		}
		xs, err := errstat.Generate(dist, n, seed)
		return xs, dist + " distribution", err
	}
	fh, err := os.Open(dist)
	if err != nil {
		return nil, "", fmt.Errorf("--dist %q is neither normal, uniform, laplace nor a readable file: %v", dist, err)
	}
	defer fh.Close()
	xs, err := errstat.ReadNumbers(fh)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", dist, err)
	}
	return xs, "file " + dist, nil
}

func printHist(out io.Writer, s errstat.Stats) {
	if s.N == 0 {
		return
	}
	fmt.Fprintln(out, "\nsigned error histogram:")
	total := 0
	peak := 0
	for _, c := range s.Hist.Counts {
		total += c
		peak = max(peak, c)
	}
	width := (s.Hist.Hi - s.Hist.Lo) / float64(len(s.Hist.Counts))
	for i, c := range s.Hist.Counts {
		lo := s.Hist.Lo + float64(i)*width
		bar := 0
		if peak > 0 {
			bar = int(math.Round(40 * float64(c) / float64(peak)))
		}
		fmt.Fprintf(out, "  [%+10.3g, %+10.3g) %6.2f%% %s\n", lo, lo+width, 100*float64(c)/float64(total), strings.Repeat("#", bar))
	}
}

func newFormatsGemmCmd() *cobra.Command {
	var names, accs, dist string
	var m, k, n int
	var seed uint64
	var rf roundFlags
	cmd := &cobra.Command{
		Use:   "gemm --format NAME[,NAME...] --acc fp32,fp16,... [--m M --k K --n N --dist D]",
		Short: "measure GEMM error of formats with chosen accumulators",
		Long: "Multiply random A (m x k) and B (k x n) with the operands quantized to each format and\n" +
			"the sums kept in each accumulator (fp64, fp32, tf32, bf16, fp16, quire, int32, format).\n" +
			"Prints the error of C against the fp64 product of the original data (total) and\n" +
			"against the fp64 product of the quantized data (the accumulator's own share).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if names == "" {
				return fmt.Errorf("gemm: --format is required")
			}
			if m < 1 || k < 1 || n < 1 || m*k > 1<<22 || k*n > 1<<22 || m*n*k > 1<<26 {
				return fmt.Errorf("gemm: sizes %dx%dx%d out of range (each >= 1, m*n*k <= 2^26)", m, k, n)
			}
			o, err := rf.options()
			if err != nil {
				return err
			}
			switch strings.ToLower(dist) {
			case "normal", "gaussian", "uniform", "laplace":
			default:
				return fmt.Errorf("gemm: --dist %q: want normal, uniform or laplace", dist)
			}
			a, _ := errstat.Generate(dist, m*k, seed)
			b, _ := errstat.Generate(dist, k*n, seed+1)
			exact, err := arith.GEMM(mustLookup("fp32"), "fp64", a, b, m, k, n, round.RNE)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "C = A(%dx%d) * B(%dx%d), %s data; rounding %s\n\n", m, k, k, n, dist, o.Mode)
			w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			var skipped []string
			fmt.Fprintln(w, "FORMAT\tACC\tSQNR dB (total)\tMAX REL (total)\tSQNR dB (accumulator only)\tMAX ABS (accumulator only)\t")
			for _, nm := range strings.Split(names, ",") {
				f, err := arith.Lookup(nm)
				if err != nil {
					return err
				}
				ref, err := arith.GEMM(f, "fp64", a, b, m, k, n, o)
				if err != nil {
					return err
				}
				for _, acc := range strings.Split(accs, ",") {
					c, err := arith.GEMM(f, acc, a, b, m, k, n, o)
					if err != nil {
						skipped = append(skipped, err.Error())
						continue
					}
					tot, _ := errstat.Analyze(exact, c)
					own, _ := errstat.Analyze(ref, c)
					fmt.Fprintf(w, "%s\t%s\t%.2f\t%.3g\t%.2f\t%.3g\t\n", f.Name(), acc, tot.SQNR, tot.MaxRel, own.SQNR, own.MaxAbs)
				}
			}
			w.Flush()
			if len(skipped) > 0 {
				fmt.Fprintln(out, "\nnot applicable:")
				for _, s := range skipped {
					fmt.Fprintln(out, "  "+s)
				}
			}
			fmt.Fprintln(out, "\nC is returned as float32; quire and int32 round once at the end, so their")
			fmt.Fprintln(out, "accumulator-only error is that final rounding.")
			return nil
		},
	}
	cmd.Flags().StringVarP(&names, "format", "f", "", "operand format(s), comma-separated")
	cmd.Flags().StringVar(&accs, "acc", "fp64,fp32,fp16", "accumulator(s), comma-separated")
	cmd.Flags().StringVar(&dist, "dist", "normal", "normal, uniform or laplace")
	cmd.Flags().IntVar(&m, "m", 16, "rows of A")
	cmd.Flags().IntVar(&k, "k", 1024, "inner dimension")
	cmd.Flags().IntVar(&n, "n", 16, "columns of B")
	cmd.Flags().Uint64Var(&seed, "data-seed", 1, "seed of the generated data")
	rf.add(cmd)
	return cmd
}

func mustLookup(name string) arith.Format {
	f, err := arith.Lookup(name)
	if err != nil {
		panic(err) // constant names only
	}
	return f
}
