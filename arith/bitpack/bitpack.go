// Package bitpack stores codes of any width from 1 to 32 bits densely,
// little-endian and LSB-first (code i occupies bits [i*w, (i+1)*w) of the
// byte stream), the layout ggml and the MX reference use for sub-byte data.
package bitpack

import "fmt"

// Size is the number of bytes n codes of width w occupy.
func Size(n, w int) int { return (n*w + 7) / 8 }

// Append packs codes (each masked to w bits) onto dst.
func Append(dst []byte, codes []uint32, w int) []byte {
	var acc uint64
	nb := 0
	mask := uint64(1)<<w - 1
	for _, c := range codes {
		acc |= (uint64(c) & mask) << nb
		nb += w
		for nb >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	if nb > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

// Unpack reads len(codes) codes of width w from src.
func Unpack(codes []uint32, src []byte, w int) error {
	if w < 1 || w > 32 {
		return fmt.Errorf("bitpack: width %d out of range 1..32", w)
	}
	if need := Size(len(codes), w); len(src) < need {
		return fmt.Errorf("bitpack: %d bytes for %d codes of %d bits, need %d", len(src), len(codes), w, need)
	}
	var acc uint64
	nb := 0
	p := 0
	mask := uint64(1)<<w - 1
	for i := range codes {
		for nb < w {
			acc |= uint64(src[p]) << nb
			p++
			nb += 8
		}
		codes[i] = uint32(acc & mask)
		acc >>= w
		nb -= w
	}
	return nil
}
