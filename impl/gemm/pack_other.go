//go:build !amd64 || purego

package gemm

func packRowsAsm(dst, src []float32, lds, k, w int) bool                { return false }
func packTAsm(dst, src []float32, lds, k, nr int) int                   { return 0 }
func qpackBAsm(dst, src []byte, ldb, k, nr int, flip byte) int          { return 0 }
func qpackBOffAsm(dst, src []byte, off []int, k, nr int, flip byte) int { return 0 }

func qpackBOffPermAsm(dst, src []byte, off []int, k int, flip byte, idx *[64]byte) int {
	return 0
}

func packRowsOffAsm(dst, src []float32, off []int, k, w int) bool { return false }

func packRowsOff2Asm(dst, src []float32, off []int, k, w, a, b, split int) bool { return false }

func packRowsOff2Avail() bool { return false }
