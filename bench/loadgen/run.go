package main

import (
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const maxTags = 256

var epoch = time.Now()

// now is nanoseconds on the monotonic clock since the generator started: the clock of every stamp.
func now() int64 { return int64(time.Since(epoch)) }

func sleepUntil(t int64) {
	if d := t - now(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

type participant struct {
	idx  int // global sender index
	room int
	ws   *wsConn

	mu        sync.Mutex // held by the reader for each read chunk
	recvLive  [maxTags]int64
	recvOp    [maxTags]int64
	recvAck   [maxTags]int64
	liveBytes [maxTags]int64
	hLive     [maxTags]*hist
	hOp       [maxTags]*hist
	hAck      [maxTags]*hist
	from      []int64 // live frames of the measured tag received, per sender
	seen      map[[2]int64]int
	sentSeqs  []int64
	fromTag   int
	nacks     int64
	echoes    int64
	other     int64
	lastRecv  int64
	firstNack string

	// owned by the sender goroutine of a step (read after it ended)
	sentLive [maxTags]int64
	sentOp   [maxTags]int64
	lag      [maxTags]*hist

	closed   atomic.Bool
	closeMsg atomic.Value
}

type gen struct {
	cfg     *config
	d       dialect
	parts   []*participant
	rooms   [][]*participant
	nextTag int
	resets  int
	welcome int // bytes of the first welcome (Drawnet)
}

func (g *gen) roomName(r int) string {
	return fmt.Sprintf("%s-%d-r%d", g.cfg.session, g.resets, r)
}

// connect opens R×P connections (P at a time) and starts their readers.
func (g *gen) connect() error {
	g.parts, g.rooms = nil, make([][]*participant, g.cfg.rooms)
	for r := 0; r < g.cfg.rooms; r++ {
		for i := 0; i < g.cfg.participants; i++ {
			p := &participant{idx: len(g.parts), room: r}
			g.parts = append(g.parts, p)
			g.rooms[r] = append(g.rooms[r], p)
		}
	}
	sem := make(chan struct{}, 16)
	errs := make(chan error, len(g.parts))
	var wg sync.WaitGroup
	for _, p := range g.parts {
		wg.Add(1)
		sem <- struct{}{}
		go func(p *participant) {
			defer wg.Done()
			defer func() { <-sem }()
			w, err := dialWS(g.cfg.addrs[p.idx%len(g.cfg.addrs)], g.d.path(g.roomName(p.room)), 10*time.Second)
			if err != nil {
				errs <- fmt.Errorf("participant %d: %w", p.idx, err)
				return
			}
			n, err := g.d.setup(w, p.idx, g.roomName(p.room), time.Now().Add(30*time.Second))
			if err != nil {
				w.c.Close()
				errs <- fmt.Errorf("participant %d setup: %w", p.idx, err)
				return
			}
			if p.idx == 0 {
				g.welcome = n
			}
			p.ws = w
			go g.reader(p)
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		g.disconnect()
		return err
	}
	time.Sleep(200 * time.Millisecond) // let joins (socket.io rooms, uWS subscriptions) settle
	return nil
}

func (g *gen) disconnect() {
	for _, p := range g.parts {
		if p.ws != nil && !p.closed.Load() {
			p.closed.Store(true)
			p.closeMsg.Store("closed by the generator")
			p.ws.close()
		}
	}
}

func (g *gen) reader(p *participant) {
	for {
		if err := g.deliver(p, p.ws.pump); err != nil {
			return
		}
	}
}

// deliver runs one read (or parse) of a connection and accounts for every message it yields, under the
// participant's lock; a connection error marks it closed and is returned.
func (g *gen) deliver(p *participant, read func(func(byte, []byte)) error) error {
	d := g.d
	locked := false
	var t int64
	err := read(func(_ byte, pl []byte) {
		if !locked {
			p.mu.Lock()
			locked = true
			t = now()
		}
		k, s := d.classify(pl)
		if s.tag < 0 || s.tag >= maxTags {
			k = kindOther
		}
		switch k {
		case kindLive:
			if s.sender == p.idx {
				p.echoes++
				return
			}
			p.recvLive[s.tag]++
			p.liveBytes[s.tag] += int64(len(pl))
			if s.tag == p.fromTag && s.sender < len(p.from) {
				p.from[s.sender]++
				if debugLoss {
					p.seen[[2]int64{int64(s.sender), s.seq}]++
				}
			}
			if h := p.hLive[s.tag]; h != nil {
				h.record(t - s.ts)
			}
		case kindOp:
			p.recvOp[s.tag]++
			if h := p.hOp[s.tag]; h != nil {
				h.record(t - s.ts)
			}
		case kindAck:
			if s.sender == p.idx {
				p.recvAck[s.tag]++
				if h := p.hAck[s.tag]; h != nil {
					h.record(t - s.ts)
				}
			}
		case kindNack:
			p.nacks++
			if p.firstNack == "" {
				p.firstNack = string(pl[:min(len(pl), 300)])
			}
		case kindPing:
			_ = p.ws.writeMessage(opText, d.pong())
		default:
			p.other++
		}
	})
	if locked {
		p.lastRecv = t
		p.mu.Unlock()
	}
	if err != nil {
		if !p.closed.Swap(true) {
			p.closeMsg.Store(err.Error())
		}
	}
	return err
}

type opsResult struct {
	Sent           int64   `json:"sent"`
	Acked          int64   `json:"acked"`
	Nacked         int64   `json:"nacked"`
	FirstNack      string  `json:"first_nack,omitempty"`
	AckLatency     latency `json:"ack_latency"`
	FanoutExpected int64   `json:"fanout_expected"`
	FanoutReceived int64   `json:"fanout_received"`
	FanoutLatency  latency `json:"fanout_latency"`
}

type stepResult struct {
	TargetPerS     float64    `json:"target_deliveries_per_s"`
	LiveHz         float64    `json:"live_hz_per_participant"`
	OpHz           float64    `json:"op_hz_per_participant"`
	Seconds        float64    `json:"seconds"`
	Sent           int64      `json:"sent"`
	Expected       int64      `json:"expected"`
	Delivered      int64      `json:"delivered"`
	Lost           int64      `json:"lost"`
	Extra          int64      `json:"extra"`
	LossPct        float64    `json:"loss_pct"`
	DeliveriesPerS float64    `json:"deliveries_per_s"`
	FrameBytes     float64    `json:"frame_bytes"`
	Latency        latency    `json:"latency"`
	SendLag        latency    `json:"send_lag"`
	Ops            *opsResult `json:"ops,omitempty"`
	ServerCPU      float64    `json:"server_cpu_pct"`
	AuxCPU         float64    `json:"aux_cpu_pct"`
	GenCPU         float64    `json:"gen_cpu_pct"`
	Closed         int        `json:"closed"`
	CloseReasons   []string   `json:"close_reasons,omitempty"`
	Echoes         int64      `json:"echoes"`
	LostBySender   []string   `json:"lost_by_sender,omitempty"`
	DrainSeconds   float64    `json:"drain_seconds"`
	Pass           bool       `json:"pass"`
	Why            string     `json:"why,omitempty"`
}

// step runs one open-loop phase: every participant sends live frames at liveHz (and durable ops at opHz)
// for warmup+measure; only what was sent during `measure` is counted, after waiting for it to arrive.
func (g *gen) step(liveHz, opHz float64, warmup, measure time.Duration) stepResult {
	tagW, tagM := g.nextTag%maxTags, (g.nextTag+1)%maxTags
	g.nextTag += 2
	for _, p := range g.parts {
		p.mu.Lock()
		p.hLive[tagM], p.hOp[tagM], p.hAck[tagM] = newHist(), newHist(), newHist()
		p.recvLive[tagM], p.recvOp[tagM], p.recvAck[tagM], p.liveBytes[tagM] = 0, 0, 0, 0
		p.recvLive[tagW], p.recvOp[tagW], p.recvAck[tagW] = 0, 0, 0
		p.nacks, p.firstNack = 0, ""
		p.from, p.fromTag = make([]int64, len(g.parts)), tagM
		p.seen, p.sentSeqs = map[[2]int64]int{}, nil
		p.mu.Unlock()
		p.lag[tagM] = newHist()
		p.sentLive[tagM], p.sentOp[tagM], p.sentLive[tagW], p.sentOp[tagW] = 0, 0, 0, 0
	}
	t0 := now() + int64(20*time.Millisecond)
	t1 := t0 + int64(warmup)
	t2 := t1 + int64(measure)
	t3 := t2 + int64(g.cfg.cooldown) // traffic goes on, uncounted, so the window's last frames are not a burst's
	hard := t3 + int64(5*time.Second)
	var wg sync.WaitGroup
	for _, p := range g.parts {
		if p.closed.Load() {
			continue
		}
		wg.Add(1)
		go func(p *participant) {
			defer wg.Done()
			g.send(p, liveHz, opHz, tagW, tagM, t0, t1, t2, t3, hard)
		}(p)
	}
	sleepUntil(t1)
	meter := startCPU(g.cfg.serverPID, g.cfg.auxPID)
	sleepUntil(t2)
	cpus, genCPU := meter.stop()
	wg.Wait()

	res := stepResult{LiveHz: liveHz, OpHz: opHz, Seconds: measure.Seconds(),
		ServerCPU: cpus[0], AuxCPU: cpus[1], GenCPU: genCPU}
	res.TargetPerS = liveHz * float64(g.liveFanout())
	var expected, expOps, expAcks int64
	for _, room := range g.rooms {
		for _, p := range room {
			expected += p.sentLive[tagM] * int64(len(room)-1)
			expOps += p.sentOp[tagM] * int64(len(room))
			expAcks += p.sentOp[tagM]
			res.Sent += p.sentLive[tagM]
		}
	}
	// Drain: wait until everything sent in the window arrived, or nothing arrives any more.
	drainStart := now()
	lastTotal, lastChange := int64(-1), now()
	for {
		var total int64
		for _, p := range g.parts {
			p.mu.Lock()
			total += p.recvLive[tagM] + p.recvOp[tagM] + p.recvAck[tagM]
			p.mu.Unlock()
		}
		if total >= expected+expOps+expAcks {
			break
		}
		if total != lastTotal {
			lastTotal, lastChange = total, now()
		}
		if now()-lastChange > int64(g.cfg.drainIdle) || now()-drainStart > int64(g.cfg.drainMax) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	res.DrainSeconds = math.Round(float64(now()-drainStart)/1e6) / 1e3
	hl, ho, ha, lag := newHist(), newHist(), newHist(), newHist()
	ops := &opsResult{Sent: expAcks, FanoutExpected: expOps}
	var bytes int64
	reasons := map[string]int{}
	for _, p := range g.parts {
		p.mu.Lock()
		res.Delivered += p.recvLive[tagM]
		bytes += p.liveBytes[tagM]
		ops.Acked += p.recvAck[tagM]
		ops.FanoutReceived += p.recvOp[tagM]
		ops.Nacked += p.nacks
		if ops.FirstNack == "" {
			ops.FirstNack = p.firstNack
		}
		res.Echoes += p.echoes
		hl.merge(p.hLive[tagM])
		ho.merge(p.hOp[tagM])
		ha.merge(p.hAck[tagM])
		p.hLive[tagM], p.hOp[tagM], p.hAck[tagM] = nil, nil, nil
		p.mu.Unlock()
		lag.merge(p.lag[tagM])
		p.lag[tagM] = nil
		if p.closed.Load() {
			res.Closed++
			if m, ok := p.closeMsg.Load().(string); ok {
				reasons[m]++
			}
		}
	}
	for m, n := range reasons {
		res.CloseReasons = append(res.CloseReasons, fmt.Sprintf("%d× %s", n, m))
	}
	sort.Strings(res.CloseReasons)
	// Whose frames were lost, and how many of their receivers missed them (one frame missed by every
	// receiver was dropped on the way in; one receiver missing many is a slow or closed consumer).
	for _, room := range g.rooms {
		for _, sender := range room {
			var got int64
			missedBy := 0
			for _, r := range room {
				if r == sender {
					continue
				}
				r.mu.Lock()
				n := r.from[sender.idx]
				r.mu.Unlock()
				got += n
				if n < sender.sentLive[tagM] {
					missedBy++
				}
			}
			if want := sender.sentLive[tagM] * int64(len(room)-1); got < want && len(res.LostBySender) < 10 {
				res.LostBySender = append(res.LostBySender, fmt.Sprintf(
					"sender %d: %d of %d deliveries lost, %d receivers missed some", sender.idx, want-got, want, missedBy))
			}
		}
	}
	if debugLoss {
		g.dumpLoss(tagM, t1, t2)
	}
	res.Expected = expected
	if res.Delivered < expected {
		res.Lost = expected - res.Delivered
	} else {
		res.Extra = res.Delivered - expected
	}
	if expected > 0 {
		res.LossPct = math.Round(1e6*float64(res.Lost)/float64(expected)) / 1e4
	}
	res.DeliveriesPerS = math.Round(float64(res.Delivered) / measure.Seconds())
	if res.Delivered > 0 {
		res.FrameBytes = math.Round(10*float64(bytes)/float64(res.Delivered)) / 10
	}
	res.Latency = hl.summary()
	res.SendLag = lag.summary()
	if opHz > 0 {
		ops.AckLatency = ha.summary()
		ops.FanoutLatency = ho.summary()
		res.Ops = ops
	}
	limit := g.cfg.p99Limit.Seconds() * 1e3
	switch {
	case res.Closed > 0:
		res.Why = "connections closed"
	case res.Lost > 0:
		res.Why = "loss"
	case opHz > 0 && (ops.Acked < ops.Sent || ops.FanoutReceived < ops.FanoutExpected):
		res.Why = "ops lost"
	case ops.Nacked > 0:
		res.Why = "nacks"
	case res.Latency.P99Ms >= limit:
		res.Why = fmt.Sprintf("p99 %.1f ms >= %.0f ms", res.Latency.P99Ms, limit)
	case res.SendLag.P99Ms >= limit:
		res.Why = fmt.Sprintf("generator fell behind: send lag p99 %.1f ms", res.SendLag.P99Ms)
	default:
		res.Pass = true
	}
	return res
}

// liveFanout is how many deliveries one live frame per participant makes: Σ P×(P−1) over rooms.
func (g *gen) liveFanout() int {
	n := 0
	for _, room := range g.rooms {
		n += len(room) * (len(room) - 1)
	}
	return n
}

// send is one participant's open-loop schedule. Each frame is stamped with the time it is written (a
// frame due while an earlier write blocked is sent late, and that lateness is recorded as send lag).
func (g *gen) send(p *participant, liveHz, opHz float64, tagW, tagM int, t0, t1, t2, t3, hard int64) {
	n := int64(len(g.parts))
	inf := int64(math.MaxInt64)
	nextLive, nextOp := inf, inf
	var liveIv, opIv int64
	if liveHz > 0 {
		liveIv = int64(1e9 / liveHz)
		nextLive = t0 + liveIv*int64(p.idx)/n // spread the participants over one interval
	}
	if opHz > 0 {
		opIv = int64(1e9 / opHz)
		nextOp = t0 + opIv*int64(p.idx)/n
	}
	var seq int64
	buf := make([]byte, 0, 64<<10)
	payload := make([]byte, 0, 4096)
	for {
		due := min(nextLive, nextOp)
		if due >= t3 {
			return
		}
		t := now()
		if t > hard || p.closed.Load() {
			return
		}
		if due > t {
			time.Sleep(time.Duration(due - t))
			continue
		}
		buf = buf[:0]
		for k := 0; nextLive <= t && nextLive < t3 && k < 512; k++ {
			tag := tagW
			if nextLive >= t1 && nextLive < t2 {
				tag = tagM
				p.lag[tag].record(t - nextLive)
			}
			seq++
			payload = g.d.appendLive(payload[:0], stamp{tag: tag, sender: p.idx, seq: seq, ts: t})
			buf = appendFrame(buf, opText, payload, uint32(seq*2654435761))
			p.sentLive[tag]++
			if debugLoss && tag == tagM {
				p.sentSeqs = append(p.sentSeqs, seq, t)
			}
			nextLive += liveIv
		}
		for k := 0; nextOp <= t && nextOp < t3 && k < 64; k++ {
			tag := tagW
			if nextOp >= t1 && nextOp < t2 {
				tag = tagM
			}
			seq++
			payload = g.d.appendOp(payload[:0], stamp{tag: tag, sender: p.idx, seq: seq, ts: t})
			buf = appendFrame(buf, opText, payload, uint32(seq*2654435761))
			p.sentOp[tag]++
			nextOp += opIv
		}
		if err := p.ws.write(buf); err != nil {
			return
		}
	}
}

// quiesce waits until no frame arrived for `quiet` (at most `limit`): the backlog of a failed step.
func (g *gen) quiesce(quiet, limit time.Duration) {
	start := now()
	for now()-start < int64(limit) {
		var last int64
		for _, p := range g.parts {
			p.mu.Lock()
			last = max(last, p.lastRecv)
			p.mu.Unlock()
		}
		if now()-last > int64(quiet) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gen) anyClosed() bool {
	for _, p := range g.parts {
		if p.closed.Load() {
			return true
		}
	}
	return false
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
}

var debugLoss = os.Getenv("LOADGEN_DEBUG_LOSS") != ""

func (g *gen) dumpLoss(tagM int, t1, t2 int64) {
	for _, room := range g.rooms {
		for _, sender := range room {
			for i := 0; i < len(sender.sentSeqs); i += 2 {
				seq, ts := sender.sentSeqs[i], sender.sentSeqs[i+1]
				var missing []int
				for _, r := range room {
					if r != sender && r.seen[[2]int64{int64(sender.idx), seq}] == 0 {
						missing = append(missing, r.idx)
					}
				}
				if len(missing) > 0 {
					logf("lost: sender %d seq %d sent at %+.1f ms of the window (%.1f ms before its end), missed by %d: %v",
						sender.idx, seq, float64(ts-t1)/1e6, float64(t2-ts)/1e6, len(missing), missing[:min(len(missing), 8)])
				}
			}
		}
	}
}
