package main

// Join tokens as the drawing service signs them (services/protocol/drawnet/protocol/tokens.py): HS256
// JWTs with a key id, one session and one role each. Each participant gets its own user (`sub`), so
// per-user limits apply per participant as they would to real people.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

type signer struct {
	kid string
	key []byte
	ns  string
}

func newSigner(spec, ns string) (*signer, error) {
	if spec == "" {
		return nil, nil
	}
	kid, secret, ok := strings.Cut(spec, ":")
	if !ok || kid == "" || len(secret) < 32 {
		return nil, fmt.Errorf("-sign-key: expected kid:secret with a secret of >= 32 bytes")
	}
	return &signer{kid: kid, key: []byte(secret), ns: ns}, nil
}

func (s *signer) token(sub, name, session string) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": s.kid})
	iat := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"sub": sub, "name": name, "ns": s.ns, "session": session,
		"role": "editor", "iat": iat, "exp": iat + 3600, "aud": "drawnet-room"})
	msg := enc.EncodeToString(head) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(mac.Sum(nil))
}
