package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/orders/kafka"
)

// serveStats is what serve's /stats reports.
type serveStats struct {
	Engine     dispatch.Stats       `json:"engine"`
	Intake     *kafka.ConsumerStats `json:"intake"`
	Locations  *kafka.ConsumerStats `json:"locations"`
	Partitions []int                `json:"partitions"`
}

type sample struct {
	at time.Time
	serveStats
}

// statsPoller reads serve's /stats and keeps what it read.
type statsPoller struct {
	url    string
	client http.Client

	mu      sync.Mutex
	samples []sample
}

func (p *statsPoller) get(ctx context.Context) (serveStats, error) {
	var st serveStats
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return st, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", p.url, resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// waitReady waits until serve answers with every rider of the fleet on
// shift and the intake holding its partitions, or fails when serve stops
// or readyStall passes with no more riders on shift. A large fleet takes
// minutes to start (each shift and health card is a commit of its own),
// so the wait is bounded by progress, not by a fixed time.
func (p *statsPoller) waitReady(ctx context.Context, svc *service, riders int, progress func(n int)) error {
	deadline := time.Now().Add(readyStall)
	var st serveStats
	var err error
	most := -1
	for {
		if st, err = p.get(ctx); err == nil {
			progress(st.Engine.Riders)
			if st.Engine.Riders >= riders && len(st.Partitions) > 0 {
				return nil
			}
			if st.Engine.Riders > most {
				most, deadline = st.Engine.Riders, time.Now().Add(readyStall)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("e2e: serve not ready: no progress for %v (%d of %d riders on shift, intake partitions %v, last error %v)",
				readyStall, st.Engine.Riders, riders, st.Partitions, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-svc.done:
			return fmt.Errorf("e2e: serve stopped before it was ready: %v", svc.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readyStall is how long waitReady waits for serve to put another rider
// on shift, or to take its intake partitions once the fleet is on shift.
const readyStall = time.Minute

// poll samples /stats every interval until ctx is done.
func (p *statsPoller) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if st, err := p.get(ctx); err == nil {
			p.mu.Lock()
			p.samples = append(p.samples, sample{time.Now(), st})
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// last returns the last sample's figures.
func (p *statsPoller) last() serveStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) == 0 {
		return serveStats{}
	}
	return p.samples[len(p.samples)-1].serveStats
}

// pingRate returns the pings handed to the engine per second, from the
// sample before the consumer's count first grew to the one after which it
// grew no more.
func (p *statsPoller) pingRate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return rate(p.samples, func(s sample) int64 {
		if s.Locations == nil {
			return 0
		}
		return s.Locations.Handled
	})
}

// rate returns how fast count grew across the samples while it grew.
func rate(ss []sample, count func(sample) int64) float64 {
	first, last := -1, -1
	for i := 1; i < len(ss); i++ {
		if count(ss[i]) > count(ss[i-1]) {
			if first < 0 {
				first = i - 1
			}
			last = i
		}
	}
	if first < 0 {
		return 0
	}
	d := ss[last].at.Sub(ss[first].at).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(count(ss[last])-count(ss[first])) / d
}
