package cpu

import "testing"

func TestLevels(t *testing.T) {
	t.Logf("hardware %+v level %v, current %v", X86, HWLevel, Current())
	ls := Levels()
	if len(ls) == 0 || ls[0] != Generic || ls[len(ls)-1] != HWLevel {
		t.Fatalf("Levels() = %v, HWLevel %v", ls, HWLevel)
	}
	for _, l := range ls {
		restore := Force(l)
		if Current() != l {
			t.Errorf("Force(%v): Current() = %v", l, Current())
		}
		f := Active()
		if f.Level() != l {
			t.Errorf("Active().Level() = %v, want %v", f.Level(), l)
		}
		if l < AVX512 && (f.AVX512F || f.AVX512VNNI || f.AVX512BF16) {
			t.Errorf("level %v exposes AVX-512: %+v", l, f)
		}
		if l < AVX2 && (f.AVX2 || f.FMA) {
			t.Errorf("level %v exposes AVX2: %+v", l, f)
		}
		if l >= AVX2 && !(f.AVX2 && f.FMA) {
			t.Errorf("level %v lacks AVX2/FMA: %+v", l, f)
		}
		restore()
	}
	for _, s := range []string{"generic", "avx2", "avx512"} {
		l, ok := ParseLevel(s)
		if !ok || l.String() != s {
			t.Errorf("ParseLevel(%q) = %v, %v", s, l, ok)
		}
	}
}

func TestForceTooHighPanics(t *testing.T) {
	if HWLevel == AVX512 {
		t.Skip("nothing above AVX512")
	}
	defer func() {
		if recover() == nil {
			t.Error("Force above HWLevel did not panic")
		}
	}()
	Force(HWLevel + 1)
}
