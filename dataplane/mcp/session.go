package mcp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// sessionVersion is the first byte of every session id; a new layout gets a new number.
const sessionVersion = 1

// session is the state a client-facing Mcp-Session-Id carries: for each target the upstream
// session it is bound to. An empty upstream id means the target is called statelessly
// (sessionRouting Stateless, the legacy SSE transport, or a server that issued no session).
type session struct {
	// Version is the protocol version negotiated with the client.
	Version string
	// Issued is when the gateway created the session (seconds precision).
	Issued  time.Time
	Targets []targetSession
}

type targetSession struct {
	Name      string
	SessionID string
	// Version is the protocol version the target answered in initialize.
	Version string
}

func (s *session) target(name string) (targetSession, bool) {
	for _, t := range s.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return targetSession{}, false
}

var errSessionInvalid = errors.New("session id is not valid here (forged, tampered, sealed with another key or for another principal, or expired)")

// ParseSessionKey reads a session key as agentgateway configures it (64 hex digits, as in
// SESSION_KEY / config.session.key) or as standard base64 of 32 bytes.
func ParseSessionKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil {
		if len(k) != 32 {
			return nil, fmt.Errorf("mcp session key: %d bytes of hex, need 32", len(k))
		}
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		if len(k) != 32 {
			return nil, fmt.Errorf("mcp session key: %d bytes of base64, need 32", len(k))
		}
		return k, nil
	}
	return nil, errors.New("mcp session key: neither 64 hex digits nor base64 of 32 bytes")
}

// sealer turns sessions into opaque ids and back: AES-256-GCM under a key derived with HKDF from
// the configured 32-byte key, with the principal's hash as additional data, so an id only opens
// for the principal it was issued to.
type sealer struct {
	aead   cipher.AEAD
	maxAge time.Duration
	now    func() time.Time
}

func newSealer(key []byte, maxAge time.Duration) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("mcp session key: need 32 bytes, got %d", len(key))
	}
	derived, err := hkdf.Key(sha256.New, key, nil, "gwctl mcp session v1", 32)
	if err != nil {
		return nil, fmt.Errorf("mcp session key: derive: %w", err)
	}
	block, err := aes.NewCipher(derived)
	if err != nil {
		return nil, fmt.Errorf("mcp session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("mcp session key: %w", err)
	}
	return &sealer{aead: aead, maxAge: maxAge, now: time.Now}, nil
}

// principalHash binds a session to who opened it; "" (no authentication) hashes too.
func principalHash(principal string) [16]byte {
	sum := sha256.Sum256([]byte("gwctl-mcp-principal\x00" + principal))
	var h [16]byte
	copy(h[:], sum[:16])
	return h
}

// seal encodes s for principal as a URL-safe base64 string (visible ASCII, as MCP requires).
func (k *sealer) seal(s *session, principal string) (string, error) {
	plain := make([]byte, 0, 64)
	plain = binary.AppendVarint(plain, s.Issued.Unix())
	plain = appendString(plain, s.Version)
	plain = binary.AppendUvarint(plain, uint64(len(s.Targets)))
	for _, t := range s.Targets {
		plain = appendString(plain, t.Name)
		plain = appendString(plain, t.SessionID)
		plain = appendString(plain, t.Version)
	}
	ns := k.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+k.aead.Overhead())
	out[0] = sessionVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return "", fmt.Errorf("mcp session: nonce: %w", err)
	}
	ad := principalHash(principal)
	out = k.aead.Seal(out, out[1:1+ns], plain, ad[:])
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open authenticates and decodes an id made by seal. Any failure is errSessionInvalid.
func (k *sealer) open(id, principal string) (*session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	ns := k.aead.NonceSize()
	if err != nil || len(raw) < 1+ns+k.aead.Overhead() || raw[0] != sessionVersion {
		return nil, errSessionInvalid
	}
	ad := principalHash(principal)
	plain, err := k.aead.Open(nil, raw[1:1+ns], raw[1+ns:], ad[:])
	if err != nil {
		return nil, errSessionInvalid
	}
	s, err := decodeSession(plain)
	if err != nil {
		return nil, errSessionInvalid
	}
	if k.maxAge > 0 && k.now().Sub(s.Issued) > k.maxAge {
		return nil, errSessionInvalid
	}
	return s, nil
}

func decodeSession(b []byte) (*session, error) {
	var s session
	issued, n := binary.Varint(b)
	if n <= 0 {
		return nil, errSessionInvalid
	}
	b = b[n:]
	s.Issued = time.Unix(issued, 0)
	var err error
	if s.Version, b, err = readString(b); err != nil {
		return nil, err
	}
	count, n := binary.Uvarint(b)
	if n <= 0 || count > 64 {
		return nil, errSessionInvalid
	}
	b = b[n:]
	s.Targets = make([]targetSession, count)
	for i := range s.Targets {
		t := &s.Targets[i]
		if t.Name, b, err = readString(b); err != nil {
			return nil, err
		}
		if t.SessionID, b, err = readString(b); err != nil {
			return nil, err
		}
		if t.Version, b, err = readString(b); err != nil {
			return nil, err
		}
	}
	if len(b) != 0 {
		return nil, errSessionInvalid
	}
	return &s, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", nil, errSessionInvalid
	}
	return string(b[n : n+int(l)]), b[n+int(l):], nil
}
