// Command loadgen drives hundreds of WebSocket participants against a relay (the Drawnet room, or a
// baseline relay) from one core, and reports deliveries per second, end-to-end latency, loss and the
// CPU of the server, of an auxiliary process (nats-server) and of itself, as JSON on stdout.
//
// Modes:
//
//	steady   R rooms × P participants × F Hz live frames (+ durable ops at -op-hz) for -seconds
//	ramp     find the highest delivery rate with no loss and p99 < -p99 (geometric steps, then bisection)
//	idle     open R×P connections that stay quiet: server CPU and RSS per idle connection
//	join     time hello → welcome for a late joiner, -joins times, in room -room
//	blast    (ceiling test) a WebSocket server that floods every client with ready-made points frames
//	ceiling  (ceiling test) receive from `blast` for -seconds: the generator's own receive ceiling
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"
)

type config struct {
	mode, proto, addr, session, token, room, listen, signKey, ns string
	rooms, participants, size, opPoints, joins                   int
	liveHz, opHz                                                 float64
	warmup, seconds, cooldown, drainIdle, drainMax               time.Duration
	p99Limit                                                     time.Duration
	rampStart, rampFactor, rampMax                               float64
	rampBisect, blastFrames                                      int
	serverPID, auxPID                                            int
	retry                                                        bool
	addrs                                                        []string // every -url (room replicas)
}

func main() {
	cfg := &config{}
	var rawURL string
	flag.StringVar(&cfg.mode, "mode", "steady", "steady | ramp | idle | join | blast | ceiling")
	flag.StringVar(&cfg.proto, "proto", "drawnet", "drawnet | bare | socketio")
	flag.StringVar(&rawURL, "url", "ws://127.0.0.1:8001", "server base URL (ws://host:port); several, comma-separated: participant i joins the (i mod n)-th (room replicas)")
	flag.StringVar(&cfg.session, "session", "", "room name prefix (default: bench-<pid>)")
	flag.StringVar(&cfg.token, "token", "", "join token to put in hello (Drawnet)")
	flag.StringVar(&cfg.signKey, "sign-key", "", "kid:secret: sign a join token per participant (Drawnet)")
	flag.StringVar(&cfg.ns, "ns", "default", "namespace in the join tokens")
	flag.StringVar(&cfg.room, "room", "", "join mode: the room to join")
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "blast mode: address to listen on")
	flag.IntVar(&cfg.rooms, "rooms", 1, "R: rooms")
	flag.IntVar(&cfg.participants, "participants", 50, "P: participants per room")
	flag.IntVar(&cfg.size, "size", 200, "S: bytes per live frame as delivered")
	flag.IntVar(&cfg.opPoints, "op-points", 64, "points per durable stroke op")
	flag.IntVar(&cfg.joins, "joins", 4, "join mode: how many joins")
	flag.Float64Var(&cfg.liveHz, "hz", 30, "F: live frames per second per participant (steady)")
	flag.Float64Var(&cfg.opHz, "op-hz", 0, "durable stroke ops per second per participant")
	flag.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "traffic before measuring")
	flag.DurationVar(&cfg.seconds, "seconds", 3*time.Second, "measurement window (ramp: per step)")
	flag.DurationVar(&cfg.cooldown, "cooldown", 0, "uncounted traffic after the window (steady state: the window's last frames are not a burst's)")
	flag.DurationVar(&cfg.drainIdle, "drain-idle", 500*time.Millisecond, "stop waiting for stragglers after this long without progress")
	flag.DurationVar(&cfg.drainMax, "drain-max", 3*time.Second, "longest wait for stragglers")
	flag.DurationVar(&cfg.p99Limit, "p99", 100*time.Millisecond, "a step passes with p99 below this and no loss")
	flag.Float64Var(&cfg.rampStart, "ramp-start", 5000, "ramp: first rate, deliveries/s")
	flag.Float64Var(&cfg.rampFactor, "ramp-factor", 2, "ramp: rate multiplier per passing step")
	flag.Float64Var(&cfg.rampMax, "ramp-max", 4e6, "ramp: highest rate tried")
	flag.IntVar(&cfg.rampBisect, "ramp-bisect", 3, "ramp: bisection steps between the last pass and the first failure")
	flag.BoolVar(&cfg.retry, "ramp-retry", true, "ramp: try a failing rate once more before calling it failed")
	flag.IntVar(&cfg.blastFrames, "blast-frames", 0, "blast mode: frames per write (0: 256 KiB writes)")
	flag.IntVar(&cfg.serverPID, "server-pid", 0, "pid of the server (CPU, RSS)")
	flag.IntVar(&cfg.auxPID, "aux-pid", 0, "pid of an auxiliary process to measure (nats-server)")
	flag.Parse()
	debug.SetGCPercent(400)
	if cfg.session == "" {
		cfg.session = "bench-" + strconv.Itoa(os.Getpid())
	}
	for _, one := range strings.Split(rawURL, ",") {
		u, err := url.Parse(one)
		if err != nil || u.Host == "" {
			fatal(fmt.Errorf("bad -url %q", one))
		}
		cfg.addrs = append(cfg.addrs, u.Host)
	}
	cfg.addr = cfg.addrs[0]
	sign, err := newSigner(cfg.signKey, cfg.ns)
	if err != nil {
		fatal(err)
	}
	d, err := newDialect(cfg.proto, cfg.size, cfg.opPoints, cfg.token, sign, cfg.session)
	if err != nil {
		fatal(err)
	}
	g := &gen{cfg: cfg, d: d}

	var out any
	switch cfg.mode {
	case "steady":
		out, err = runSteady(g)
	case "ramp":
		out, err = runRamp(g)
	case "idle":
		out, err = runIdle(g)
	case "join":
		out, err = runJoin(g)
	case "blast":
		err = runBlast(cfg)
	case "ceiling":
		out, err = runCeiling(g)
	default:
		err = fmt.Errorf("unknown -mode %q", cfg.mode)
	}
	if err != nil {
		fatal(err)
	}
	if out != nil {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
	os.Exit(1)
}

type header struct {
	Mode         string `json:"mode"`
	Proto        string `json:"proto"`
	Rooms        int    `json:"rooms"`
	Participants int    `json:"participants"`
	Size         int    `json:"size"`
	WelcomeBytes int    `json:"welcome_bytes,omitempty"`
}

func (g *gen) header() header {
	return header{g.cfg.mode, g.cfg.proto, g.cfg.rooms, g.cfg.participants, g.cfg.size, g.welcome}
}

func runSteady(g *gen) (any, error) {
	if err := g.connect(); err != nil {
		return nil, err
	}
	defer g.disconnect()
	r := g.step(g.cfg.liveHz, g.cfg.opHz, g.cfg.warmup, g.cfg.seconds)
	if r.Ops != nil {
		logf("ops %s: %d sent, %d acked (p50 %.2f p99 %.2f max %.2f ms), fan-out %d/%d (p99 %.2f ms), %d nacked %s",
			g.cfg.proto, r.Ops.Sent, r.Ops.Acked, r.Ops.AckLatency.P50Ms, r.Ops.AckLatency.P99Ms, r.Ops.AckLatency.MaxMs,
			r.Ops.FanoutReceived, r.Ops.FanoutExpected, r.Ops.FanoutLatency.P99Ms, r.Ops.Nacked, r.Ops.FirstNack)
	}
	logf("steady %s: %.0f/s delivered, p50 %.2f p99 %.2f max %.2f ms, lost %d, server %.1f%%, aux %.1f%%, gen %.1f%% %s",
		g.cfg.proto, r.DeliveriesPerS, r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.MaxMs, r.Lost, r.ServerCPU,
		r.AuxCPU, r.GenCPU, strings.Join(r.CloseReasons, "; "))
	return struct {
		header
		Result stepResult `json:"result"`
	}{g.header(), r}, nil
}

func runRamp(g *gen) (any, error) {
	if err := g.connect(); err != nil {
		return nil, err
	}
	defer func() { g.disconnect() }()
	fan := float64(g.liveFanout())
	var steps []stepResult
	var best *stepResult
	var try func(rate float64) bool
	retried := map[float64]bool{}
	try = func(rate float64) bool {
		r := g.step(rate/fan, g.cfg.opHz, g.cfg.warmup, g.cfg.seconds)
		r.TargetPerS = math.Round(rate)
		steps = append(steps, r)
		logf("ramp %s: target %.0f/s → %.0f/s, p99 %.2f ms, max %.1f ms, lost %d, server %.0f%%, gen %.0f%%: %v %s",
			g.cfg.proto, rate, r.DeliveriesPerS, r.Latency.P99Ms, r.Latency.MaxMs, r.Lost, r.ServerCPU, r.GenCPU, r.Pass, r.Why)
		if r.Pass {
			b := r
			best = &b
			return true
		}
		// Let the backlog of a failed step drain; start over with fresh connections if any was closed.
		g.quiesce(300*time.Millisecond, 5*time.Second)
		if g.anyClosed() {
			g.disconnect()
			g.resets++
			if err := g.connect(); err != nil {
				logf("reconnect failed: %v", err)
				return false
			}
		}
		// One more try at the same rate: on a shared machine one stall should not decide a capacity.
		if g.cfg.retry && !retried[rate] {
			retried[rate] = true
			return try(rate)
		}
		return false
	}
	rate, fail := g.cfg.rampStart, 0.0
	for rate <= g.cfg.rampMax {
		if !try(rate) {
			fail = rate
			break
		}
		rate *= g.cfg.rampFactor
	}
	// The first rate already failed: come down until one passes.
	for down := 0; best == nil && fail > 0 && down < 4; down++ {
		rate = fail / g.cfg.rampFactor
		if try(rate) {
			break
		}
		fail = rate
	}
	if fail > 0 && best != nil {
		lo, hi := best.TargetPerS, fail
		for i := 0; i < g.cfg.rampBisect; i++ {
			mid := math.Sqrt(lo * hi)
			if try(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].TargetPerS < steps[j].TargetPerS })
	return struct {
		header
		Best  *stepResult  `json:"best"`
		Steps []stepResult `json:"steps"`
	}{g.header(), best, steps}, nil
}

type idleResult struct {
	header
	Conns          int     `json:"connections"`
	ConnectSeconds float64 `json:"connect_seconds"`
	RSSBeforeKiB   int64   `json:"rss_before_kib"`
	RSSAfterKiB    int64   `json:"rss_after_kib"`
	RSSPerConnKiB  float64 `json:"rss_per_connection_kib"`
	CPUNoConnsPct  float64 `json:"server_cpu_no_connections_pct"`
	CPUIdlePct     float64 `json:"server_cpu_idle_connections_pct"`
	AuxCPUIdlePct  float64 `json:"aux_cpu_idle_pct"`
	GenCPUIdlePct  float64 `json:"gen_cpu_idle_pct"`
}

func runIdle(g *gen) (any, error) {
	pid := g.cfg.serverPID
	res := idleResult{}
	m := startCPU(pid, g.cfg.auxPID)
	time.Sleep(g.cfg.seconds / 2)
	c, _ := m.stop()
	res.CPUNoConnsPct = c[0]
	res.RSSBeforeKiB = procRSS(pid)
	start := time.Now()
	if err := g.connect(); err != nil {
		return nil, err
	}
	defer g.disconnect()
	res.ConnectSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	res.Conns = len(g.parts)
	time.Sleep(time.Second)
	m = startCPU(pid, g.cfg.auxPID)
	time.Sleep(g.cfg.seconds)
	c, self := m.stop()
	res.CPUIdlePct, res.AuxCPUIdlePct, res.GenCPUIdlePct = c[0], c[1], self
	res.RSSAfterKiB = procRSS(pid)
	res.RSSPerConnKiB = math.Round(10*float64(res.RSSAfterKiB-res.RSSBeforeKiB)/float64(res.Conns)) / 10
	res.header = g.header()
	if g.anyClosed() {
		return nil, fmt.Errorf("connections were closed while idle")
	}
	logf("idle %s: %d connections, %.1f KiB each, server CPU %.1f%% (no connections: %.1f%%)",
		g.cfg.proto, res.Conns, res.RSSPerConnKiB, res.CPUIdlePct, res.CPUNoConnsPct)
	return res, nil
}

type joinSample struct {
	Ms           float64 `json:"ms"`
	ServerCPUMs  float64 `json:"server_cpu_ms"`
	WelcomeBytes int     `json:"welcome_bytes"`
}

func runJoin(g *gen) (any, error) {
	if g.cfg.room == "" {
		return nil, fmt.Errorf("join mode needs -room")
	}
	var samples []joinSample
	for i := 0; i < g.cfg.joins; i++ {
		c0, _ := procCPU(g.cfg.serverPID)
		t := time.Now()
		w, err := dialWS(g.cfg.addr, g.d.path(g.cfg.room), 10*time.Second)
		if err != nil {
			return nil, err
		}
		n, err := g.d.setup(w, 1_000_000+i, g.cfg.room, time.Now().Add(60*time.Second))
		el := time.Since(t)
		c1, _ := procCPU(g.cfg.serverPID)
		w.close()
		if err != nil {
			return nil, err
		}
		samples = append(samples, joinSample{Ms: math.Round(el.Seconds()*1e5) / 100,
			ServerCPUMs: math.Round((c1 - c0) * 1000), WelcomeBytes: n})
		logf("join %d: welcome of %d bytes in %.1f ms (server CPU %.0f ms)", i, n, el.Seconds()*1e3, (c1-c0)*1e3)
		time.Sleep(300 * time.Millisecond)
	}
	return struct {
		Mode  string       `json:"mode"`
		Room  string       `json:"room"`
		Joins []joinSample `json:"joins"`
	}{"join", g.cfg.room, samples}, nil
}

// ------------------------------------------------------------------------------------- ceiling test

// runBlast serves WebSockets that receive, as fast as the kernel takes them, ready-made Drawnet points
// frames of -size bytes; prints its address, then runs for -seconds after the first client connects.
func runBlast(cfg *config) error {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	d := newDrawnet(cfg.size, 1, "", "blast")
	var chunk []byte
	for i := 0; len(chunk) < 256<<10 && (cfg.blastFrames == 0 || i < cfg.blastFrames); i++ {
		p := d.appendLive(nil, stamp{tag: 1, sender: 999_999, seq: int64(i), ts: 0})
		p = append(p[:len(p)-1], []byte(`,"by":"p1-abcd"}`)...)
		chunk = appendServerFrame(chunk, p)
	}
	deadline := time.Now().Add(cfg.seconds + 30*time.Second) // the listener gives up if nobody comes
	_ = ln.(*net.TCPListener).SetDeadline(deadline)
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func(c net.Conn) {
			defer c.Close()
			if err := serverHandshake(c); err != nil {
				return
			}
			end := time.Now().Add(cfg.seconds + 2*time.Second)
			for time.Now().Before(end) {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}(c)
	}
}

func runCeiling(g *gen) (any, error) {
	g.d = &ceilingDialect{newDrawnet(g.cfg.size, 1, "", "ceiling")}
	if err := g.connect(); err != nil {
		return nil, err
	}
	defer g.disconnect()
	for _, p := range g.parts {
		p.mu.Lock()
		p.hLive[1] = newHist()
		p.recvLive[1] = 0
		p.mu.Unlock()
	}
	m := startCPU(g.cfg.serverPID)
	var before int64
	for _, p := range g.parts {
		p.mu.Lock()
		before += p.recvLive[1]
		p.mu.Unlock()
	}
	time.Sleep(g.cfg.seconds)
	var after, bytes int64
	for _, p := range g.parts {
		p.mu.Lock()
		after += p.recvLive[1]
		bytes += p.liveBytes[1]
		p.mu.Unlock()
	}
	c, self := m.stop()
	n := after - before
	rate := math.Round(float64(n) / g.cfg.seconds.Seconds())
	logf("ceiling: %.0f frames/s received over %d connections at %.0f%% of a core (sender %.0f%%)",
		rate, len(g.parts), self, c[0])
	return map[string]any{"mode": "ceiling", "connections": len(g.parts), "frames_per_s": rate,
		"frame_bytes": math.Round(float64(bytes) / float64(max(after, 1))), "gen_cpu_pct": self,
		"sender_cpu_pct": c[0]}, nil
}

// ceilingDialect parses like Drawnet but needs no hello: the blaster starts at once.
type ceilingDialect struct{ *drawnet }

func (c *ceilingDialect) path(string) string                                 { return "/blast" }
func (c *ceilingDialect) setup(*wsConn, int, string, time.Time) (int, error) { return 0, nil }
