package e2e

import (
	"bufio"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMark is a reading of the CPU time used so far: by this process (the
// service and the benchmark's clients), and by the whole host, from
// /proc/stat, busy and in all. A field that cannot be read is zero.
type cpuMark struct {
	at         time.Time
	process    time.Duration
	hostBusy   uint64 // clock ticks
	hostAll    uint64
	hostTicked bool
}

func readCPU() cpuMark {
	m := cpuMark{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	m.hostBusy, m.hostAll, m.hostTicked = hostTicks()
	return m
}

// hostTicks reads the first line of /proc/stat: the ticks of all CPUs,
// and those not idle and not waiting for I/O.
func hostTicks() (busy, all uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, false
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal (guest time is
	// counted in user already)
	for i, s := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		all += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, all, true
}

// cpuUse is what the process and the host used between two readings: the
// process's CPU seconds, and the host's busy share of its CPUs in cores.
func cpuUse(from, to cpuMark, cpus int) (processSec, hostCores float64) {
	processSec = (to.process - from.process).Seconds()
	if from.hostTicked && to.hostTicked && to.hostAll > from.hostAll {
		hostCores = float64(to.hostBusy-from.hostBusy) / float64(to.hostAll-from.hostAll) * float64(cpus)
	}
	return processSec, hostCores
}

// heapAfterGC runs a full collection (runtime.GC) and returns what stays
// live: the objects and their bytes. Every mark phase of the collector
// while the orders flow has at least this to mark.
func heapAfterGC() (objects, live uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/objects:objects"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		objects = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		live = s[1].Value.Uint64()
	}
	return objects, live
}
