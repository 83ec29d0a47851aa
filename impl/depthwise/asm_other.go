//go:build !amd64 || purego

package depthwise

import "github.com/frugal-ml/frugal/impl/cpu"

type asmKind int8

const asmNone asmKind = 0

const haveAsm = false

func asmFor(cpu.Level, *plan) asmKind { return asmNone }

func (pl *plan) runAsm(x, wts, bias, out []float32, planes int) {
	panic("depthwise: no assembly kernels in this build")
}

func (pl *plan) runAsmRows(x, wts, bias, out []float32, planes, r0, r1 int) {
	panic("depthwise: no assembly kernels in this build")
}
