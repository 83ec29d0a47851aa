//go:build !amd64 || purego

package vmath

func expVec(dst, src []float32) int            { return 0 }
func erfVec(dst, src []float32) int            { return 0 }
func geluVec(dst, src []float32) int           { return 0 }
func softmaxVec(dst, src []float32, n int) int { return 0 }

func scaleInt32Vec(dst []float32, acc []int32, mult, bias []float32) int { return 0 }

func layerNormVec(y, x, g, b []float32, n int, eps float32) int { return 0 }
