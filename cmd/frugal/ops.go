package main

import (
	"fmt"
	"strings"

	"github.com/frugal-ml/frugal/impl/ops"
	"github.com/spf13/cobra"
)

func init() { addCommand(newOpsCmd) }

func newOpsCmd() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "ops [--markdown]",
		Short: "list the operators the runtime implements (docs/ops.md is generated with --markdown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if markdown {
				fmt.Fprint(w, ops.SupportMarkdown())
				return nil
			}
			for _, e := range ops.Support() {
				dom := e.Domain
				if dom == "" {
					dom = "ai.onnx"
				}
				fmt.Fprintf(w, "%-28s %-26s %s\n", e.Op, dom, strings.Join(e.Impls, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the Markdown support table (docs/ops.md)")
	return cmd
}
