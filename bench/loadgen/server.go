package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"time"
)

// serverHandshake answers a WebSocket upgrade (ceiling test only).
func serverHandshake(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return err
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		return errors.New("not a WebSocket upgrade")
	}
	_, err = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"))
	return err
}

// appendServerFrame appends an unmasked text frame.
func appendServerFrame(dst, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, 0x81)
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n < 1<<16:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}
