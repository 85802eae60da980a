package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestTokenIsAnHS256JWTWithKeyID(t *testing.T) {
	s, err := newSigner("k1:0123456789abcdef0123456789abcdef", "default")
	if err != nil {
		t.Fatal(err)
	}
	tok := s.token("bench:x:1", "loadgen 1", "room-a")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %s", tok)
	}
	mac := hmac.New(sha256.New, []byte("0123456789abcdef0123456789abcdef"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Fatal("bad signature")
	}
	t.Log(tok)
}
