package main

// CPU and memory of other processes (the server under test) from /proc, and of ourselves.

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var clockTicks = 100.0 // USER_HZ: 100 on every Linux we run on

// procCPU is the CPU time (user + system, all threads, dead ones included) of pid, in seconds.
func procCPU(pid int) (float64, bool) {
	if pid <= 0 {
		return 0, false
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// fields after ')': state(3) ppid(4) ... utime(14) stime(15): index 11 and 12 here.
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clockTicks, true
}

// procRSS is the resident set of pid in KiB.
func procRSS(pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// cpuMeter samples the server, an auxiliary process (nats-server) and ourselves.
type cpuMeter struct {
	pids  []int
	start []float64
	self  float64
	t     time.Time
}

func startCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: make([]float64, len(pids)), self: selfCPU(), t: time.Now()}
	for i, p := range pids {
		m.start[i], _ = procCPU(p)
	}
	return m
}

// stop returns each pid's CPU use, then ours, in per cent of one core (-1 for a pid not given).
func (m *cpuMeter) stop() ([]float64, float64) {
	wall := time.Since(m.t).Seconds()
	out := make([]float64, len(m.pids))
	for i, p := range m.pids {
		v, ok := procCPU(p)
		if !ok {
			out[i] = -1
			continue
		}
		out[i] = round1(100 * (v - m.start[i]) / wall)
	}
	return out, round1(100 * (selfCPU() - m.self) / wall)
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
