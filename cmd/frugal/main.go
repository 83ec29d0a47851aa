// Command frugal trains, imports, compresses, re-encodes, runs and measures
// neural networks in one pure-Go binary. Each subcommand lives in its own
// file and registers itself with addCommand from an init function.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var commands []func() *cobra.Command

// addCommand registers a subcommand constructor; files call it from init.
func addCommand(f func() *cobra.Command) { commands = append(commands, f) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "frugal",
		Short:         "resource-efficient deep learning in pure Go",
		Long:          "frugal trains, imports (ONNX), compresses, re-encodes and runs neural networks,\nand measures what each technique bought: size, MACs, memory, latency, accuracy.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, f := range commands {
		root.AddCommand(f())
	}
	return root
}

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "frugal:", err)
		os.Exit(1)
	}
}
