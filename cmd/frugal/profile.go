package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	frt "github.com/frugal-ml/frugal/impl/runtime"
)

// opShare is the time one (operator, kernel) pair takes per run.
type opShare struct {
	Op       string  `json:"op"`
	Kernel   string  `json:"kernel"`
	Nodes    int     `json:"nodes"`
	MsPerRun float64 `json:"ms_per_run"`
	Share    float64 `json:"share"` // of all profiled node time
}

// opShares groups a session's node times by operator and kernel.
func opShares(nodes []frt.NodeTime, runs int) []opShare {
	type key struct{ op, kernel string }
	sum := map[key]*opShare{}
	var total time.Duration
	for _, n := range nodes {
		k := key{n.Op, n.Kernel}
		if sum[k] == nil {
			sum[k] = &opShare{Op: n.Op, Kernel: n.Kernel}
		}
		sum[k].Nodes++
		sum[k].MsPerRun += float64(n.Total) / 1e6 / float64(runs)
		total += n.Total
	}
	out := make([]opShare, 0, len(sum))
	for _, v := range sum {
		if total > 0 {
			v.Share = float64(v.MsPerRun) * float64(runs) * 1e6 / float64(total)
		}
		out = append(out, *v)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].MsPerRun != out[b].MsPerRun {
			return out[a].MsPerRun > out[b].MsPerRun
		}
		return out[a].Op < out[b].Op
	})
	return out
}

// writeProfile prints the operator table and the ten slowest nodes.
func writeProfile(w io.Writer, ops []opShare, nodes []frt.NodeTime, runs int) {
	var total float64
	for _, o := range ops {
		total += o.MsPerRun
	}
	fmt.Fprintf(w, "\ntime by operator (%.3f ms per run inside nodes):\n", total)
	fmt.Fprintf(w, "  %-28s %-16s %6s %10s %7s\n", "op", "kernel", "nodes", "ms/run", "share")
	for _, o := range ops {
		fmt.Fprintf(w, "  %-28s %-16s %6d %10.3f %6.1f%%\n", o.Op, o.Kernel, o.Nodes, o.MsPerRun, 100*o.Share)
	}
	fmt.Fprintf(w, "\nslowest nodes:\n")
	for i, n := range nodes {
		if i == 10 {
			break
		}
		fmt.Fprintf(w, "  %-40s %-22s %-16s %8.3f ms\n", n.Node, n.Op, n.Kernel, float64(n.Total)/1e6/float64(runs))
	}
}

// nodeTime is one node's time per run, for --json.
type nodeTime struct {
	Node     string  `json:"node"`
	Op       string  `json:"op"`
	Kernel   string  `json:"kernel"`
	MsPerRun float64 `json:"ms_per_run"`
}

func nodeTimes(nodes []frt.NodeTime, runs int) []nodeTime {
	out := make([]nodeTime, len(nodes))
	for i, n := range nodes {
		out[i] = nodeTime{n.Node, n.Op, n.Kernel, float64(n.Total) / 1e6 / float64(runs)}
	}
	return out
}
