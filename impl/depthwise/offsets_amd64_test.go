//go:build amd64 && !purego

package depthwise

import (
	"reflect"
	"testing"
)

// TestArgsLayout checks dwArgs against the offsets the assembly uses.
func TestArgsLayout(t *testing.T) {
	rt := reflect.TypeOf(dwArgs{})
	if rt.NumField() != len(dwOffsets) {
		t.Fatalf("dwArgs has %d fields, the assembly knows %d", rt.NumField(), len(dwOffsets))
	}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if off, ok := dwOffsets[f.Name]; !ok || off != f.Offset {
			t.Errorf("dwArgs.%s at %d, assembly uses %d (%v)", f.Name, f.Offset, off, ok)
		}
	}
}

// TestQ8ArgsLayout checks q8Args against the offsets q8_amd64.s uses.
func TestQ8ArgsLayout(t *testing.T) {
	rt := reflect.TypeOf(q8Args{})
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Name == "_" {
			continue
		}
		if off, ok := q8Offsets[f.Name]; !ok || off != f.Offset {
			t.Errorf("q8Args.%s at %d, assembly uses %d (%v)", f.Name, f.Offset, off, ok)
		}
	}
}

// TestHWCArgsLayout checks hwcArgs and hwcGroup against the offsets
// hwc3_amd64.s uses.
func TestHWCArgsLayout(t *testing.T) {
	rt := reflect.TypeOf(hwcArgs{})
	if rt.NumField() != len(hwcOffsets) {
		t.Fatalf("hwcArgs has %d fields, the assembly knows %d", rt.NumField(), len(hwcOffsets))
	}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if off, ok := hwcOffsets[f.Name]; !ok || off != f.Offset {
			t.Errorf("hwcArgs.%s at %d, assembly uses %d (%v)", f.Name, f.Offset, off, ok)
		}
	}
	g := reflect.TypeOf(hwcGroup{})
	if g.NumField() != len(hwcGroupOffsets) {
		t.Fatalf("hwcGroup has %d fields, the assembly knows %d", g.NumField(), len(hwcGroupOffsets))
	}
	for i := 0; i < g.NumField(); i++ {
		f := g.Field(i)
		if off, ok := hwcGroupOffsets[f.Name]; !ok || off != f.Offset {
			t.Errorf("hwcGroup.%s at %d, assembly uses %d (%v)", f.Name, f.Offset, off, ok)
		}
	}
	if g.Size() != hwcGroupBytes {
		t.Errorf("hwcGroup is %d bytes, the assembly steps %d", g.Size(), hwcGroupBytes)
	}
}
