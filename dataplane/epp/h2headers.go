package epp

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2FieldBlock decodes the picker's header blocks (a HEADERS frame and its CONTINUATIONs) into
// one field slice the connection reuses, checked as http2.Framer's ReadMetaHeaders checks them
// (TestHeaderBlockMatchesFramer, FuzzHeaderBlock): the framer allocates a MetaHeadersFrame, an
// emit closure and a growing field slice per block, two blocks a pick. The fields are valid
// until the next block; their strings are hpack's (the indexed ones shared, not allocated).
type h2FieldBlock struct {
	dec    *hpack.Decoder
	max    uint32 // the header list size we announced
	fields []hpack.HeaderField

	streamID      uint32
	ended         bool // END_STREAM on the HEADERS frame
	truncated     bool // past max: the fields stop there
	remain        uint32
	trailerRemain uint32
	sawRegular    bool
	invalid       error
}

func newH2FieldBlock(max uint32) *h2FieldBlock {
	hb := &h2FieldBlock{max: max}
	hb.dec = hpack.NewDecoder(4096, hb.emit)
	hb.dec.SetMaxStringLength(int(max))
	return hb
}

// start begins the block of a HEADERS frame.
func (hb *h2FieldBlock) start(f *http2.HeadersFrame) {
	hb.fields = hb.fields[:0]
	hb.streamID, hb.ended, hb.truncated = f.StreamID, f.StreamEnded(), false
	hb.remain, hb.trailerRemain = hb.max, hb.max
	hb.sawRegular, hb.invalid = false, nil
	hb.dec.SetEmitEnabled(true)
}

func (hb *h2FieldBlock) emit(hf hpack.HeaderField) {
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		hb.invalid = fmt.Errorf("invalid header field value for %q", hf.Name)
	}
	if strings.HasPrefix(hf.Name, ":") {
		if hb.sawRegular {
			hb.invalid = errors.New("pseudo header field after regular")
		}
	} else {
		hb.sawRegular = true
		if !validWireName(hf.Name) {
			hb.invalid = fmt.Errorf("invalid header field name %q", hf.Name)
		}
	}
	if hb.invalid != nil {
		hb.dec.SetEmitEnabled(false)
		return
	}
	remain, size := &hb.remain, hf.Size()
	if hf.Name == "trailer" { // as the framer counts it
		remain = &hb.trailerRemain
		n := strings.Count(hf.Value, ",") + 1
		size = uint32(len(hf.Value)-n+1) + uint32(n)*hpack.HeaderField{}.Size()
	}
	if size > *remain {
		hb.dec.SetEmitEnabled(false)
		hb.truncated = true
		hb.remain, hb.trailerRemain = 0, 0
		return
	}
	*remain -= size
	hb.fields = append(hb.fields, hf)
}

// fragment decodes the next piece of the block; done when the block ended. A
// http2.ConnectionError ends the connection, a http2.StreamError the stream (the block was
// decoded: the connection's hpack state stays the peer's).
func (hb *h2FieldBlock) fragment(frag []byte, end bool) (done bool, err error) {
	if int64(len(frag)) > 2*int64(hb.remain+hb.trailerRemain) || hb.invalid != nil {
		return false, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if _, err := hb.dec.Write(frag); err != nil {
		return false, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if !end {
		return false, nil
	}
	if err := hb.dec.Close(); err != nil {
		return false, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if hb.invalid != nil {
		return false, http2.StreamError{StreamID: hb.streamID, Code: http2.ErrCodeProtocol, Cause: hb.invalid}
	}
	if err := checkPseudos(hb.fields); err != nil {
		return false, http2.StreamError{StreamID: hb.streamID, Code: http2.ErrCodeProtocol, Cause: err}
	}
	return true, nil
}

// checkPseudos refuses unknown, repeated and mixed request and response pseudo-headers.
func checkPseudos(fs []hpack.HeaderField) error {
	var isRequest, isResponse bool
	for i, hf := range fs {
		if !hf.IsPseudo() {
			break
		}
		switch hf.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
			isRequest = true
		case ":status":
			isResponse = true
		default:
			return fmt.Errorf("invalid pseudo-header %q", hf.Name)
		}
		for _, hf2 := range fs[:i] {
			if hf.Name == hf2.Name {
				return fmt.Errorf("duplicate pseudo-header %q", hf.Name)
			}
		}
	}
	if isRequest && isResponse {
		return errors.New("mix of request and response pseudo headers")
	}
	return nil
}

// validWireName is a lower-case token.
func validWireName(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if !httpguts.IsTokenRune(r) || 'A' <= r && r <= 'Z' {
			return false
		}
	}
	return true
}
