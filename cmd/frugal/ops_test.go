package main

import (
	"os"
	"testing"

	"github.com/frugal-ml/frugal/impl/ops"
)

// TestOpsTableUpToDate keeps docs/ops.md equal to the registry's table;
// regenerate with: go run ./cmd/frugal ops --markdown > docs/ops.md
func TestOpsTableUpToDate(t *testing.T) {
	b, err := os.ReadFile("../../docs/ops.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := ops.SupportMarkdown(); string(b) != want {
		t.Fatal("docs/ops.md is stale: regenerate it with `go run ./cmd/frugal ops --markdown > docs/ops.md`")
	}
}
