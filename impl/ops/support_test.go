package ops

import (
	"strings"
	"testing"
)

func TestSupportTable(t *testing.T) {
	md := SupportMarkdown()
	for _, want := range []string{"| Conv | ai.onnx |", "| LabelEncoder | ai.onnx.ml |", "| FlexAttention | ai.onnx.preview |", "im2col-gemm"} {
		if !strings.Contains(md, want) {
			t.Errorf("support table lacks %q", want)
		}
	}
	seen := map[string]bool{}
	for _, e := range Support() {
		k := e.Domain + ":" + e.Op
		if seen[k] {
			t.Errorf("op %s listed twice", k)
		}
		seen[k] = true
		if len(e.Impls) == 0 {
			t.Errorf("op %s has no implementation", k)
		}
	}
	if md != SupportMarkdown() {
		t.Error("support table is not deterministic")
	}
}
