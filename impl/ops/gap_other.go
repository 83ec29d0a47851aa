//go:build !amd64 || purego

package ops

// sumRows sets dst[i] to the sum of row i of src (len(dst) rows of n).
func sumRows(dst, src []float32, n int) { sumRowsGo(dst, src, n) }
