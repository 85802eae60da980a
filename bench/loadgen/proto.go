package main

// The three wire dialects the generator speaks. Every live frame carries a stamp
// "<tag>.<sender>.<seq>.<ns>" (tag: the run phase, sender: a global participant index, ns: the send time
// on the generator's monotonic clock) so that receivers compute latency and count deliveries per phase
// without any shared state. In the Drawnet protocol the stamp is the stroke id (ids allow [A-Za-z0-9_.:-]).

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type kind int

const (
	kindOther kind = iota
	kindLive       // a live frame from another participant
	kindOp         // a committed durable op (fan-out, the author included)
	kindAck        // the author's ack
	kindNack       // a refused op
	kindPing       // an application-level ping (socket.io "2")
)

type stamp struct {
	tag    int
	sender int
	seq    int64
	ts     int64
}

func appendStamp(dst []byte, s stamp) []byte {
	dst = strconv.AppendInt(dst, int64(s.tag), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(s.sender), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, s.seq, 10)
	dst = append(dst, '.')
	return strconv.AppendInt(dst, s.ts, 10)
}

// parseStamp reads a stamp at the start of b (it ends at the first byte that is neither digit nor dot).
func parseStamp(b []byte) (stamp, bool) {
	var v [4]int64
	field, digits := 0, 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			v[field] = v[field]*10 + int64(c-'0')
			digits++
			continue
		}
		if c == '.' && field < 3 && digits > 0 {
			field++
			digits = 0
			continue
		}
		break
	}
	if field != 3 || digits == 0 {
		return stamp{}, false
	}
	return stamp{tag: int(v[0]), sender: int(v[1]), seq: v[2], ts: v[3]}, true
}

type dialect interface {
	name() string
	path(room string) string
	// setup runs after the WebSocket opened and before traffic: hello/welcome, socket.io connect...
	// It returns the size of the welcome (Drawnet) or 0.
	setup(w *wsConn, participant int, room string, deadline time.Time) (int, error)
	appendLive(dst []byte, s stamp) []byte
	appendOp(dst []byte, s stamp) []byte // nil when the dialect has no durable ops
	classify(payload []byte) (kind, stamp)
	pong() []byte // answer to kindPing
}

// points returns a JSON array of n points "[[x,y,p],...]" whose numbers survive a float round trip
// unchanged (so the room's re-encoding keeps the size).
func points(n int, seed int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d.5,%d.25,0.5]", 100+(seed*7+i*3)%800, 100+(seed*13+i*5)%600)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// ------------------------------------------------------------------------------------------ Drawnet

type drawnet struct {
	livePrefix, liveSuffix []byte
	opPrefix, opSuffix     []byte
	token                  string
	signer                 *signer
	run                    string
}

const stampLen = 24 // typical "3.12.4567.12345678901234"

func newDrawnet(size, opPoints int, token, run string) *drawnet {
	d := &drawnet{token: token, run: run}
	d.livePrefix = []byte(`{"t":"points","stroke":"`)
	// Pick the number of points so the frame the others receive (with "by") is about `size` bytes.
	byLen := len(`,"by":"p123-abcd"`)
	n := 1
	for {
		pts := points(n+1, 1)
		if len(d.livePrefix)+stampLen+len(`","pts":`)+len(pts)+1+byLen > size {
			break
		}
		n++
		if n >= 256 {
			break
		}
	}
	d.liveSuffix = append(append([]byte(`","pts":`), points(n, 1)...), '}')
	d.opPrefix = []byte(`{"t":"op","op":{"kind":"stroke","id":"`)
	d.opSuffix = append(append([]byte(`","tool":"pen","color":"#3366cc","width":3.0,"opacity":1.0,"pts":`),
		points(opPoints, 2)...), '}', '}')
	return d
}

func (d *drawnet) name() string            { return "drawnet" }
func (d *drawnet) path(room string) string { return "/rooms/" + url.PathEscape(room) }
func (d *drawnet) pong() []byte            { return nil }

func (d *drawnet) setup(w *wsConn, participant int, room string, deadline time.Time) (int, error) {
	hello := fmt.Sprintf(`{"t":"hello","v":1,"client":"lg-%s-%d","name":"loadgen %d","color":"#3366cc","since":0`,
		d.run, participant, participant)
	token := d.token
	if d.signer != nil {
		token = d.signer.token(fmt.Sprintf("bench:%s:%d", d.run, participant), fmt.Sprintf("loadgen %d", participant), room)
	}
	if token != "" {
		hello += `,"token":` + strconv.Quote(token)
	}
	hello += "}"
	if err := w.writeMessage(opText, []byte(hello)); err != nil {
		return 0, err
	}
	for {
		msg, err := w.readMessage(deadline)
		if err != nil {
			return 0, err
		}
		if bytes.HasPrefix(msg, []byte(`{"t":"welcome"`)) {
			return len(msg), nil
		}
	}
}

func (d *drawnet) appendLive(dst []byte, s stamp) []byte {
	dst = append(dst, d.livePrefix...)
	dst = appendStamp(dst, s)
	return append(dst, d.liveSuffix...)
}

func (d *drawnet) appendOp(dst []byte, s stamp) []byte {
	dst = append(dst, d.opPrefix...)
	dst = appendStamp(dst, s)
	return append(dst, d.opSuffix...)
}

var (
	keyStroke    = []byte(`"stroke":"`)
	keyID        = []byte(`"id":"`)
	keyOpObject  = []byte(`"op":{`)
	prefixPoints = []byte(`{"t":"points",`)
	prefixOp     = []byte(`{"t":"op",`)
	prefixAck    = []byte(`{"t":"ack",`)
	prefixNack   = []byte(`{"t":"nack",`)
)

// valueAfter finds key in b and parses the stamp right after it (tolerates any field order).
func valueAfter(b, key []byte) (stamp, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return stamp{}, false
	}
	return parseStamp(b[i+len(key):])
}

func (d *drawnet) classify(p []byte) (kind, stamp) {
	switch {
	case bytes.HasPrefix(p, prefixPoints):
		// Fast path: the room encodes `stroke` right after the tag.
		if bytes.HasPrefix(p[len(prefixPoints):], keyStroke) {
			if s, ok := parseStamp(p[len(prefixPoints)+len(keyStroke):]); ok {
				return kindLive, s
			}
		}
		if s, ok := valueAfter(p, keyStroke); ok {
			return kindLive, s
		}
	case bytes.HasPrefix(p, prefixOp):
		if i := bytes.Index(p, keyOpObject); i >= 0 {
			if s, ok := valueAfter(p[i:], keyID); ok {
				return kindOp, s
			}
		}
	case bytes.HasPrefix(p, prefixAck):
		if s, ok := valueAfter(p, keyID); ok {
			return kindAck, s
		}
	case bytes.HasPrefix(p, prefixNack):
		s, _ := valueAfter(p, keyID)
		return kindNack, s
	}
	return kindOther, stamp{}
}

// ------------------------------------------------------------------------------------------ bare relay

// bare: text frames of exactly `size` bytes, relayed as they are to everyone else in the room.
type bare struct{ size int }

func (b *bare) name() string                                       { return "bare" }
func (b *bare) path(room string) string                            { return "/" + url.PathEscape(room) }
func (b *bare) setup(*wsConn, int, string, time.Time) (int, error) { return 0, nil }
func (b *bare) appendOp([]byte, stamp) []byte                      { return nil }
func (b *bare) pong() []byte                                       { return nil }
func (b *bare) appendLive(dst []byte, s stamp) []byte {
	return pad(appendStamp(dst, s), len(dst)+b.size)
}
func (b *bare) classify(p []byte) (kind, stamp) {
	if s, ok := parseStamp(p); ok {
		return kindLive, s
	}
	return kindOther, stamp{}
}

func pad(dst []byte, to int) []byte {
	dst = append(dst, ';')
	for len(dst) < to {
		dst = append(dst, 'x')
	}
	return dst
}

// ------------------------------------------------------------------------------------------ socket.io

// socketIO speaks socket.io v4 over a raw WebSocket (engine.io protocol 4): `0{...}` open, `40`
// connect to the main namespace, events `42["draw","<stamp>;xxx"]`, pings `2` answered with `3`.
// The relay joins the room named in the handshake query.
type socketIO struct{ size int }

var prefixDraw = []byte(`42["draw","`)

func (s *socketIO) name() string { return "socketio" }
func (s *socketIO) path(room string) string {
	return "/socket.io/?EIO=4&transport=websocket&room=" + url.QueryEscape(room)
}
func (s *socketIO) appendOp([]byte, stamp) []byte { return nil }
func (s *socketIO) pong() []byte                  { return []byte("3") }

func (s *socketIO) setup(w *wsConn, _ int, _ string, deadline time.Time) (int, error) {
	msg, err := w.readMessage(deadline)
	if err != nil {
		return 0, err
	}
	if len(msg) == 0 || msg[0] != '0' {
		return 0, fmt.Errorf("socket.io: expected open packet, got %.60q", msg)
	}
	if err := w.writeMessage(opText, []byte("40")); err != nil {
		return 0, err
	}
	for {
		msg, err := w.readMessage(deadline)
		if err != nil {
			return 0, err
		}
		switch {
		case strings.HasPrefix(string(msg), "40"):
			return 0, nil
		case strings.HasPrefix(string(msg), "44"):
			return 0, fmt.Errorf("socket.io connect refused: %s", msg)
		case string(msg) == "2":
			if err := w.writeMessage(opText, []byte("3")); err != nil {
				return 0, err
			}
		}
	}
}

func (s *socketIO) appendLive(dst []byte, st stamp) []byte {
	start := len(dst)
	dst = append(dst, prefixDraw...)
	dst = pad(appendStamp(dst, st), start+s.size-2)
	return append(dst, '"', ']')
}

func (s *socketIO) classify(p []byte) (kind, stamp) {
	if bytes.HasPrefix(p, prefixDraw) {
		if st, ok := parseStamp(p[len(prefixDraw):]); ok {
			return kindLive, st
		}
	}
	if len(p) == 1 && p[0] == '2' {
		return kindPing, stamp{}
	}
	return kindOther, stamp{}
}

func newDialect(proto string, size, opPoints int, token string, sign *signer, run string) (dialect, error) {
	switch proto {
	case "drawnet":
		d := newDrawnet(size, opPoints, token, run)
		d.signer = sign
		return d, nil
	case "bare":
		return &bare{size: size}, nil
	case "socketio":
		return &socketIO{size: size}, nil
	}
	return nil, errors.New("unknown protocol " + proto + " (drawnet, bare, socketio)")
}
