package main

// A minimal RFC 6455 client (and, for the ceiling test, server): text frames, no extensions. The hot
// path parses frames in place from one large read buffer per connection, without allocating, so one
// core can take in millions of frames per second.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA

	readBufSize = 256 << 10
	wsGUID      = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// closedError is a close frame from the server: its code and reason.
type closedError struct {
	code   int
	reason string
}

func (e *closedError) Error() string { return fmt.Sprintf("closed by server: %d %q", e.code, e.reason) }

type wsConn struct {
	c      net.Conn
	rbuf   []byte
	rstart int
	rend   int
	frag   []byte // a fragmented message being assembled (rare)
	fragOp byte

	wmu  sync.Mutex
	ctrl []byte // control frames written by the reader (pong)
	mask uint64 // xorshift state for masking keys
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func dialWS(addr, path string, timeout time.Duration) (*wsConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	w := &wsConn{c: c, rbuf: make([]byte, readBufSize), mask: binary.LittleEndian.Uint64(raw[:8]) | 1}
	for {
		if i := bytes.Index(w.rbuf[:w.rend], []byte("\r\n\r\n")); i >= 0 {
			head := string(w.rbuf[:i])
			w.rstart = i + 4
			if !strings.HasPrefix(head, "HTTP/1.1 101") {
				c.Close()
				return nil, fmt.Errorf("upgrade refused: %s", strings.SplitN(head, "\r\n", 2)[0])
			}
			if !strings.Contains(strings.ToLower(head), strings.ToLower(acceptKey(key))) {
				c.Close()
				return nil, errors.New("upgrade: bad Sec-WebSocket-Accept")
			}
			break
		}
		if w.rend == len(w.rbuf) {
			c.Close()
			return nil, errors.New("upgrade: response too long")
		}
		n, err := c.Read(w.rbuf[w.rend:])
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("upgrade: %w", err)
		}
		w.rend += n
	}
	_ = c.SetDeadline(time.Time{})
	return w, nil
}

func (w *wsConn) nextMask() uint32 {
	x := w.mask
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	w.mask = x
	return uint32(x)
}

// appendFrame appends one masked client frame (FIN set) to dst. Not safe for concurrent use of the same
// connection's mask state: senders hold their own, the reader uses wmu.
func appendFrame(dst []byte, op byte, payload []byte, key uint32) []byte {
	n := len(payload)
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], key)
	dst = append(dst, k[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	maskBytes(dst[start:], k)
	return dst
}

func maskBytes(b []byte, k [4]byte) {
	k32 := binary.LittleEndian.Uint32(k[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= k[i&3]
	}
}

// write sends bytes already framed; safe to call from the sender and the reader at once.
func (w *wsConn) write(frames []byte) error {
	w.wmu.Lock()
	_, err := w.c.Write(frames)
	w.wmu.Unlock()
	return err
}

// writeMessage frames and sends one message (setup, control, or low-rate traffic).
func (w *wsConn) writeMessage(op byte, payload []byte) error {
	w.wmu.Lock()
	w.ctrl = appendFrame(w.ctrl[:0], op, payload, w.nextMask())
	_, err := w.c.Write(w.ctrl)
	w.wmu.Unlock()
	return err
}

// pump does one read from the socket and calls fn for every complete data message now buffered; the
// payload slice is only valid during the call. Control frames are handled here: pings are answered,
// a close frame ends the connection with a *closedError.
func (w *wsConn) pump(fn func(op byte, payload []byte)) error {
	w.prepare()
	n, err := w.c.Read(w.rbuf[w.rend:])
	return w.consume(n, err, fn)
}

// prepare makes room in the read buffer for the next read.
func (w *wsConn) prepare() {
	if w.rstart == w.rend {
		w.rstart, w.rend = 0, 0
	} else if len(w.rbuf)-w.rend < 4096 && w.rstart > 0 {
		w.rend = copy(w.rbuf, w.rbuf[w.rstart:w.rend])
		w.rstart = 0
	}
	if w.rend == len(w.rbuf) {
		bigger := make([]byte, 2*len(w.rbuf))
		w.rend = copy(bigger, w.rbuf[w.rstart:w.rend])
		w.rstart = 0
		w.rbuf = bigger
	}
}

// consume takes n freshly read bytes and delivers every complete message.
func (w *wsConn) consume(n int, err error, fn func(op byte, payload []byte)) error {
	if n > 0 {
		w.rend += n
	}
	if perr := w.parse(fn); perr != nil {
		return perr
	}
	if n <= 0 && err != nil {
		return err
	}
	return nil
}

// parse consumes every complete frame in the buffer (already-buffered bytes need no read).
func (w *wsConn) parse(fn func(op byte, payload []byte)) error {
	for {
		b := w.rbuf[w.rstart:w.rend]
		if len(b) < 2 {
			return nil
		}
		fin := b[0]&0x80 != 0
		op := b[0] & 0x0F
		masked := b[1]&0x80 != 0
		n := int(b[1] & 0x7F)
		h := 2
		switch n {
		case 126:
			if len(b) < 4 {
				return nil
			}
			n = int(binary.BigEndian.Uint16(b[2:]))
			h = 4
		case 127:
			if len(b) < 10 {
				return nil
			}
			n = int(binary.BigEndian.Uint64(b[2:]))
			h = 10
		}
		if masked {
			h += 4
		}
		if len(b) < h+n {
			if h+n > len(w.rbuf) { // make room for a large frame
				bigger := make([]byte, h+n+readBufSize)
				w.rend = copy(bigger, b)
				w.rstart = 0
				w.rbuf = bigger
			}
			return nil
		}
		payload := b[h : h+n]
		if masked {
			var k [4]byte
			copy(k[:], b[h-4:h])
			maskBytes(payload, k)
		}
		w.rstart += h + n
		switch {
		case op == opPing:
			if err := w.writeMessage(opPong, payload); err != nil {
				return err
			}
		case op == opPong:
		case op == opClose:
			ce := &closedError{code: 1005}
			if len(payload) >= 2 {
				ce.code = int(binary.BigEndian.Uint16(payload))
				ce.reason = string(payload[2:])
			}
			_ = w.writeMessage(opClose, payload[:min(2, len(payload))])
			return ce
		case op == opCont:
			w.frag = append(w.frag, payload...)
			if fin {
				fn(w.fragOp, w.frag)
				w.frag = w.frag[:0]
			}
		case !fin:
			w.fragOp = op
			w.frag = append(w.frag[:0], payload...)
		default:
			fn(op, payload)
		}
	}
}

// readMessage blocks until one data message arrives (setup only: allocates a copy).
func (w *wsConn) readMessage(deadline time.Time) ([]byte, error) {
	_ = w.c.SetReadDeadline(deadline)
	defer w.c.SetReadDeadline(time.Time{})
	var got []byte
	for got == nil {
		// First parse what is already buffered, one message at a time.
		err := w.parseOne(func(_ byte, p []byte) { got = append([]byte{}, p...) })
		if err != nil {
			return nil, err
		}
		if got != nil {
			break
		}
		if w.rend == len(w.rbuf) || (w.rstart > 0 && len(w.rbuf)-w.rend < 4096) {
			w.rend = copy(w.rbuf, w.rbuf[w.rstart:w.rend])
			w.rstart = 0
			if w.rend == len(w.rbuf) {
				bigger := make([]byte, 2*len(w.rbuf))
				copy(bigger, w.rbuf)
				w.rbuf = bigger
			}
		}
		n, err := w.c.Read(w.rbuf[w.rend:])
		w.rend += n
		if n == 0 && err != nil {
			return nil, err
		}
	}
	return got, nil
}

// parseOne is parse limited to the first data message (so setup leaves later frames buffered).
func (w *wsConn) parseOne(fn func(op byte, payload []byte)) error {
	done := false
	saved := w.rend
	// Temporarily stop after one delivered message by shrinking the visible buffer frame by frame.
	for !done {
		end, ok := w.frameEnd()
		if !ok {
			return nil
		}
		w.rend = end
		err := w.parse(func(op byte, p []byte) { fn(op, p); done = true })
		w.rend = saved
		if err != nil {
			return err
		}
	}
	return nil
}

// frameEnd is the end offset of the first complete frame in the buffer.
func (w *wsConn) frameEnd() (int, bool) {
	b := w.rbuf[w.rstart:w.rend]
	if len(b) < 2 {
		return 0, false
	}
	n := int(b[1] & 0x7F)
	h := 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, false
		}
		n = int(binary.BigEndian.Uint16(b[2:]))
		h = 4
	case 127:
		if len(b) < 10 {
			return 0, false
		}
		n = int(binary.BigEndian.Uint64(b[2:]))
		h = 10
	}
	if b[1]&0x80 != 0 {
		h += 4
	}
	if len(b) < h+n {
		if h+n > len(w.rbuf) {
			bigger := make([]byte, h+n+readBufSize)
			w.rend = copy(bigger, b)
			w.rstart = 0
			w.rbuf = bigger
		}
		return 0, false
	}
	return w.rstart + h + n, true
}

func (w *wsConn) close() {
	_ = w.writeMessage(opClose, []byte{0x03, 0xE8})
	_ = w.c.Close()
}
