package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// bar is a progress bar on the error stream. Its total is known from the
// first report; it is safe for concurrent use.
type bar struct {
	w    io.Writer
	desc string
	unit string

	mu  sync.Mutex
	pb  *progressbar.ProgressBar
	max int64
}

func newBar(w io.Writer, desc, unit string) *bar {
	return &bar{w: w, desc: desc, unit: unit}
}

// set reports done units of total.
func (b *bar) set(done, total float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pb == nil {
		b.max = int64(math.Max(1, math.Ceil(total)))
		// On a terminal the bar redraws itself several times a second; in
		// a log file every redraw stays, so there it is drawn every 10 s.
		every := 10 * time.Second
		if f, ok := b.w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			every = 150 * time.Millisecond
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(b.desc),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(every),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
		}
		if b.unit != "" {
			opts = append(opts, progressbar.OptionSetItsString(b.unit))
		}
		b.pb = progressbar.NewOptions64(b.max, opts...)
	}
	_ = b.pb.Set64(min(b.max, int64(done)))
}

// add reports one more unit done of total.
func (b *bar) add(total int) {
	b.mu.Lock()
	created := b.pb != nil
	b.mu.Unlock()
	if !created {
		b.set(0, float64(total))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Add(1)
}

// finish completes the bar, if it was ever drawn.
func (b *bar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pb != nil && !b.pb.IsFinished() {
		_ = b.pb.Finish()
	}
}
