package ops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/frugal-ml/frugal/tensor"
)

// SupportEntry summarises the implementations registered for one op.
type SupportEntry struct {
	Domain, Op string
	// Since and Until bound the opsets some implementation accepts (0 =
	// unbounded).
	Since, Until int64
	DTypes       []tensor.DType
	Impls        []string // "name (priority p)" best first
}

// Support groups Registered() by op, for the generated support table.
func Support() []SupportEntry {
	var out []SupportEntry
	idx := map[string]int{}
	regs := Registered()
	sort.SliceStable(regs, func(a, b int) bool {
		x, y := regs[a], regs[b]
		if x.Domain != y.Domain {
			return x.Domain < y.Domain
		}
		if x.Op != y.Op {
			return x.Op < y.Op
		}
		if x.Priority != y.Priority {
			return x.Priority > y.Priority
		}
		return x.Name < y.Name
	})
	for _, im := range regs {
		if im.Domain == "test.conformance" {
			continue
		}
		k := key(im.Domain, im.Op)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, SupportEntry{Domain: im.Domain, Op: im.Op, Since: im.SinceVersion, Until: im.UntilVersion})
		}
		e := &out[i]
		if im.SinceVersion == 0 || (e.Since != 0 && im.SinceVersion < e.Since) {
			e.Since = im.SinceVersion
		}
		if im.UntilVersion == 0 || (e.Until != 0 && im.UntilVersion > e.Until) {
			e.Until = im.UntilVersion
		}
		for _, d := range im.DTypes {
			dup := false
			for _, x := range e.DTypes {
				dup = dup || x == d
			}
			if !dup {
				e.DTypes = append(e.DTypes, d)
			}
		}
		name := im.Name
		if im.Priority != 0 {
			name = fmt.Sprintf("%s (priority %d)", name, im.Priority)
		}
		e.Impls = append(e.Impls, name)
	}
	for i := range out {
		sort.Slice(out[i].DTypes, func(a, b int) bool { return out[i].DTypes[a] < out[i].DTypes[b] })
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Domain != out[b].Domain {
			return out[a].Domain < out[b].Domain
		}
		return out[a].Op < out[b].Op
	})
	return out
}

func dtypeName(d tensor.DType) string {
	switch d {
	case Float8E8M0:
		return "float8e8m0"
	case Uint2:
		return "uint2"
	case Int2:
		return "int2"
	}
	return d.String()
}

// SupportMarkdown renders Support() as the Markdown table committed in
// docs/ops.md.
func SupportMarkdown() string {
	var b strings.Builder
	entries := Support()
	b.WriteString("# Supported operators\n\n")
	b.WriteString("Generated from the kernel registry by `go run ./cmd/frugal ops --markdown`; do not edit by hand\n")
	b.WriteString("(a test fails when this file and the registry disagree).\n\n")
	b.WriteString("Opsets: the range of the node's domain opset that an implementation accepts (`1+` = every\n")
	b.WriteString("version; kernels read the node's opset where ONNX changed an op's semantics, e.g. attributes\n")
	b.WriteString("that became inputs). Types: element types of the main input. Implementations are listed\n")
	b.WriteString("best first; the runtime picks the first whose dtype/attribute match accepts the node.\n")
	b.WriteString("Sequence and optional values are supported by the sequence/optional ops and control flow;\n")
	b.WriteString("maps, sparse tensors and complex numbers are not.\n\n")
	fmt.Fprintf(&b, "%d operators.\n\n", len(entries))
	b.WriteString("| Op | Domain | Opsets | Types | Implementations |\n|---|---|---|---|---|\n")
	for _, e := range entries {
		dom := e.Domain
		if dom == "" {
			dom = "ai.onnx"
		}
		ops := "1+"
		switch {
		case e.Since > 0 && e.Until > 0:
			ops = fmt.Sprintf("%d-%d", e.Since, e.Until)
		case e.Since > 0:
			ops = fmt.Sprintf("%d+", e.Since)
		case e.Until > 0:
			ops = fmt.Sprintf("1-%d", e.Until)
		}
		var dts []string
		for _, d := range e.DTypes {
			dts = append(dts, dtypeName(d))
		}
		types := strings.Join(dts, ", ")
		if types == "" {
			types = "any"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e.Op, dom, ops, types, strings.Join(e.Impls, ", "))
	}
	return b.String()
}
