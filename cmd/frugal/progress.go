package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// progressBar wraps a terminal progress bar that stays quiet when stderr is
// not a terminal (CI logs), so long work shows progress only where a person
// is watching.
type progressBar struct {
	bar *progressbar.ProgressBar
}

func newProgressBar(w io.Writer, total int, label string) *progressBar {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		return &progressBar{}
	}
	return &progressBar{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("samples"),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30))}
}

// Set moves the bar to n.
func (p *progressBar) Set(n int) {
	if p.bar != nil {
		p.bar.Set(n)
	}
}

// Describe updates the label (e.g. with the running loss).
func (p *progressBar) Describe(s string) {
	if p.bar != nil {
		p.bar.Describe(s)
	}
}

// Finish clears the bar.
func (p *progressBar) Finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
