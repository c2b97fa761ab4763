package mcp

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"testing"
	"time"
)

func TestSealOpen(t *testing.T) {
	k, err := newSealer(testKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{Version: "2025-11-25", Issued: time.Unix(1_800_000_000, 0), Targets: []targetSession{
		{Name: "alpha", SessionID: "0d1bedba-4587-4b87-89d1-f41596115019", Version: "2025-11-25"},
		{Name: "beta", SessionID: "", Version: "2024-11-05"},
	}}
	k.now = func() time.Time { return s.Issued.Add(time.Minute) }
	id, err := k.seal(s, "iss\x00alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			t.Fatalf("session id has %q, MCP requires visible ASCII", c)
		}
	}
	got, err := k.open(id, "iss\x00alice")
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("open = %+v, %v; want %+v", got, err, s)
	}
	again, _ := k.seal(s, "iss\x00alice")
	if again == id {
		t.Error("two seals of one session are equal: the nonce is not random")
	}

	raw, _ := base64.RawURLEncoding.DecodeString(id)
	other, _ := newSealer(bytes.Repeat([]byte{1}, 32), 0)
	cases := map[string]func() (*session, error){
		"other principal": func() (*session, error) { return k.open(id, "iss\x00mallory") },
		"no principal":    func() (*session, error) { return k.open(id, "") },
		"other key":       func() (*session, error) { return other.open(id, "iss\x00alice") },
		"truncated":       func() (*session, error) { return k.open(id[:len(id)-3], "iss\x00alice") },
		"not base64":      func() (*session, error) { return k.open("!!!", "iss\x00alice") },
		"empty":           func() (*session, error) { return k.open("", "iss\x00alice") },
		"expired": func() (*session, error) {
			k2 := *k
			k2.now = func() time.Time { return s.Issued.Add(2 * time.Hour) }
			return k2.open(id, "iss\x00alice")
		},
	}
	for i := range raw {
		for _, bit := range []byte{1, 0x80} {
			flipped := bytes.Clone(raw)
			flipped[i] ^= bit
			if _, err := k.open(base64.RawURLEncoding.EncodeToString(flipped), "iss\x00alice"); err == nil {
				t.Fatalf("byte %d flipped (bit %x) still opens", i, bit)
			}
		}
	}
	for name, f := range cases {
		if s, err := f(); err == nil {
			t.Errorf("%s: opened %+v", name, s)
		}
	}
	if _, err := newSealer(make([]byte, 16), 0); err == nil {
		t.Error("16-byte key accepted")
	}
}

func TestParseSessionKey(t *testing.T) {
	hexKey := "4242424242424242424242424242424242424242424242424242424242424242"
	for _, in := range []string{hexKey, " " + hexKey + "\n", base64.StdEncoding.EncodeToString(testKey)} {
		k, err := ParseSessionKey(in)
		if err != nil || !bytes.Equal(k, testKey) {
			t.Errorf("ParseSessionKey(%q) = %x, %v", in, k, err)
		}
	}
	for _, in := range []string{"", "abcd", hexKey[:62], "not a key at all!"} {
		if _, err := ParseSessionKey(in); err == nil {
			t.Errorf("ParseSessionKey(%q) accepted", in)
		}
	}
}
