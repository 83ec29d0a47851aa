package bitpack

import (
	"math/rand/v2"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for w := 1; w <= 32; w++ {
		for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 100} {
			codes := make([]uint32, n)
			for i := range codes {
				codes[i] = rng.Uint32() & uint32(uint64(1)<<w-1)
			}
			b := Append(nil, codes, w)
			if len(b) != Size(n, w) {
				t.Fatalf("w=%d n=%d: %d bytes want %d", w, n, len(b), Size(n, w))
			}
			got := make([]uint32, n)
			if err := Unpack(got, b, w); err != nil {
				t.Fatal(err)
			}
			for i := range codes {
				if got[i] != codes[i] {
					t.Fatalf("w=%d n=%d i=%d: %#x want %#x", w, n, i, got[i], codes[i])
				}
			}
		}
	}
	// LSB-first layout: two 4-bit codes 0x1, 0x2 -> byte 0x21.
	if b := Append(nil, []uint32{1, 2}, 4); b[0] != 0x21 {
		t.Fatalf("layout %#x", b[0])
	}
	if err := Unpack(make([]uint32, 3), []byte{1}, 4); err == nil {
		t.Fatal("short input accepted")
	}
}
