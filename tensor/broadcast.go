package tensor

import "fmt"

// BroadcastShapes returns the NumPy/ONNX multidirectional broadcast of the
// given shapes: dimensions are aligned from the right, and each pair must be
// equal or contain a 1.
func BroadcastShapes(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		if len(s) > rank {
			rank = len(s)
		}
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case o == d || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v are not broadcast-compatible (dimension %d: %d vs %d)", shapes, off+i-rank, o, d)
			}
		}
	}
	return out, nil
}

// BroadcastStrides returns strides that walk a tensor of shape `in` as if it
// had shape `out` (stride 0 along broadcast dimensions). `in` must be
// broadcastable to `out`.
func BroadcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	inSt := Strides(in)
	off := len(out) - len(in)
	for i := range in {
		if in[i] != 1 {
			st[off+i] = inSt[i]
		}
	}
	return st
}

// BroadcastIndex fills idx[k] with the flat index into a tensor whose
// broadcast strides are st, for each flat output position k of shape out.
// It is the generic path; kernels special-case equal shapes and scalars.
func BroadcastIndex(out []int, st []int, idx []int) {
	n := NumElems(out)
	if len(out) == 0 {
		if n > 0 {
			idx[0] = 0
		}
		return
	}
	rank := len(out)
	ctr := make([]int, rank)
	cur := 0
	for k := 0; k < n; k++ {
		idx[k] = cur
		for d := rank - 1; d >= 0; d-- {
			ctr[d]++
			cur += st[d]
			if ctr[d] < out[d] {
				break
			}
			cur -= st[d] * ctr[d]
			ctr[d] = 0
		}
	}
}

// Binary applies f elementwise with broadcasting: out[i] = f(a[ia], b[ib]).
// It takes fast paths for equal shapes, scalar operands, and a trailing
// vector (the bias-add case); others go through index tables.
func Binary[A, B, O any](a []A, as []int, b []B, bs []int, f func(A, B) O) ([]O, []int, error) {
	os, err := BroadcastShapes(as, bs)
	if err != nil {
		return nil, nil, err
	}
	n := NumElems(os)
	out := make([]O, n)
	BinaryInto(out, os, a, as, b, bs, f)
	return out, os, nil
}

// BinaryInto is Binary writing into a preallocated out of shape os (which
// must be the broadcast shape of as and bs).
func BinaryInto[A, B, O any](out []O, os []int, a []A, as []int, b []B, bs []int, f func(A, B) O) {
	n := len(out)
	switch {
	case len(a) == n && len(b) == n:
		for i := range out {
			out[i] = f(a[i], b[i])
		}
		return
	case len(b) == 1 && len(a) == n:
		bv := b[0]
		for i := range out {
			out[i] = f(a[i], bv)
		}
		return
	case len(a) == 1 && len(b) == n:
		av := a[0]
		for i := range out {
			out[i] = f(av, b[i])
		}
		return
	}
	if n == 0 {
		return
	}
	// Trailing-block fast path: b repeats every len(b) elements of a.
	if len(a) == n && len(b) > 0 && TrailingMatch(bs, os) {
		m := len(b)
		for i := 0; i < n; i += m {
			oo, aa := out[i:i+m], a[i:i+m]
			for j := range oo {
				oo[j] = f(aa[j], b[j])
			}
		}
		return
	}
	ia := make([]int, n)
	ib := make([]int, n)
	BroadcastIndex(os, BroadcastStrides(as, os), ia)
	BroadcastIndex(os, BroadcastStrides(bs, os), ib)
	for i := range out {
		out[i] = f(a[ia[i]], b[ib[i]])
	}
}

// TrailingMatch reports whether s (with leading 1s stripped) equals the
// trailing dimensions of o, so that a value of shape s repeats every
// NumElems(s) elements of one of shape o (a bias over the last axes).
func TrailingMatch(s, o []int) bool {
	i := 0
	for i < len(s) && s[i] == 1 {
		i++
	}
	s = s[i:]
	if len(s) > len(o) {
		return false
	}
	off := len(o) - len(s)
	for j := range s {
		if s[j] != o[off+j] {
			return false
		}
	}
	return true
}
