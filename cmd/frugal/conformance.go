package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/frugal-ml/frugal/conformance"
	"github.com/spf13/cobra"
)

func init() { addCommand(newConformanceCmd) }

func newConformanceCmd() *cobra.Command {
	var asJSON, verbose, showReasons bool
	var runPat string
	var timeout time.Duration
	var threads int
	var minRate float64
	cmd := &cobra.Command{
		Use:   "conformance DIR [--json] [--run REGEX]",
		Short: "run an ONNX backend test suite (node/, simple/, pytorch-*/) and report failures",
		Long: `conformance runs every test folder under DIR (laid out like ONNX's
onnx/backend/test/data: DIR/node/<test>/model.onnx with test_data_set_0/input_i.pb
and output_j.pb) and compares the outputs with ONNX's rule: exact shapes and
dtypes, strings equal, |got-want| <= 1e-3*|want| + 1e-7 elementwise, NaN equal
to NaN. It prints one line per failure with the reason and ends with
"N passed, M failed, K skipped". Skipped tests use value types frugal does not
represent (complex, maps, sparse tensors).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := conformance.Options{Timeout: timeout, Threads: threads}
			if runPat != "" {
				re, err := regexp.Compile(runPat)
				if err != nil {
					return fmt.Errorf("--run: %w", err)
				}
				opts.Run = re
			}
			w := cmd.OutOrStdout()
			if verbose && !asJSON {
				opts.Progress = func(done, total int, r conformance.Result) {
					fmt.Fprintf(cmd.ErrOrStderr(), "[%d/%d] %s %s (%s)\n", done, total, strings.ToUpper(string(r.Status)), r.Name, r.Duration.Round(time.Millisecond))
				}
			}
			s, err := conformance.RunSuite(args[0], opts)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(s); err != nil {
					return err
				}
			} else {
				for _, r := range s.Results {
					switch r.Status {
					case conformance.Fail:
						fmt.Fprintf(w, "FAIL %s: %s\n", r.Name, r.Reason)
					case conformance.Skip:
						if verbose {
							fmt.Fprintf(w, "SKIP %s: %s\n", r.Name, r.Reason)
						}
					}
				}
				if showReasons {
					printReasons(cmd, s)
				}
				for _, suite := range conformance.Suites {
					p, f, k := s.Count(suite + "/")
					if p+f+k > 0 {
						fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped\n", suite, p, f, k)
					}
				}
				fmt.Fprintln(w, s.Line())
			}
			if minRate > 0 {
				total := s.Passed + s.Failed + s.Skipped
				if total > 0 && float64(s.Passed) < minRate/100*float64(total) {
					return fmt.Errorf("pass rate %.1f%% is below --min-pass-rate %.1f%%", 100*float64(s.Passed)/float64(total), minRate)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	cmd.Flags().StringVar(&runPat, "run", "", "run only tests whose suite/name matches this regular expression")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "time limit per test")
	cmd.Flags().IntVar(&threads, "threads", 0, "intra-op threads (0 = all cores)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print progress to stderr and list skipped tests")
	cmd.Flags().BoolVar(&showReasons, "reasons", false, "group failures by reason (most common first)")
	cmd.Flags().Float64Var(&minRate, "min-pass-rate", 0, "exit with an error when fewer than this percentage of tests pass")
	return cmd
}

// printReasons groups failures by a normalised reason.
func printReasons(cmd *cobra.Command, s conformance.Summary) {
	counts := map[string]int{}
	for _, r := range s.Results {
		if r.Status == conformance.Fail {
			counts[conformance.ReasonClass(r.Reason)]++
		}
	}
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range counts {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].v != l[j].v {
			return l[i].v > l[j].v
		}
		return l[i].k < l[j].k
	})
	w := cmd.OutOrStdout()
	fmt.Fprintln(w, "failure reasons:")
	for _, e := range l {
		fmt.Fprintf(w, "%5d  %s\n", e.v, e.k)
	}
}
