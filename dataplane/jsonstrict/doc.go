// Package jsonstrict reads the request bodies the gateway decides on. It checks a whole JSON
// document strictly (one RFC 8259 value, valid UTF-8, no duplicate keys and no keys equal under
// encoding/json's case folding) and reads members by their exact key, so the value the gateway
// routes or authorises on is the value any upstream parser reads from the same bytes.
package jsonstrict
