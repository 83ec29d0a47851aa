package minifloat

import "sync"

// Table returns the decoded float32 value of every code for formats of at
// most 16 bits (nil otherwise); it is built once per format and shared.
func (s Spec) Table() []float32 {
	if s.Bits() > 16 {
		return nil
	}
	tabMu.Lock()
	defer tabMu.Unlock()
	if t, ok := tables[s]; ok {
		return t
	}
	t := make([]float32, 1<<s.Bits())
	for c := range t {
		t[c] = float32(s.Decode(uint32(c)))
	}
	tables[s] = t
	return t
}

var (
	tabMu  sync.Mutex
	tables = map[Spec][]float32{}
)
