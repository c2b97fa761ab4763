package llm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// AcceptChatCompletions answers a request that is not POST …/chat/completions (404 for another
// path, 405 for another method) and reports whether r is one, for the provider handlers.
func AcceptChatCompletions(w http.ResponseWriter, r *http.Request, res *Result) bool {
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		Reject(w, res, &apierror.Error{Status: http.StatusNotFound, Type: apierror.ErrInvalidRequest, Message: "unknown path; this backend serves POST /v1/chat/completions"})
		return false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		Reject(w, res, &apierror.Error{Status: http.StatusMethodNotAllowed, Type: apierror.ErrInvalidRequest, Message: "use POST"})
		return false
	}
	return true
}

// ReadRequestBody reads a client's request body of at most max bytes onto buf.B, answering 413
// when it is larger and 400 when it cannot be read; ok is false when it answered. The body is
// buf's: it is valid until buf is released.
func ReadRequestBody(w http.ResponseWriter, r *http.Request, max int64, res *Result, buf *Buffer) (body []byte, ok bool) {
	err := readInto(buf, http.MaxBytesReader(w, r.Body, max), r.ContentLength, max)
	if err == nil {
		return buf.B, true
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		Reject(w, res, &apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("request body exceeds %d bytes", max)})
	} else {
		Reject(w, res, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: "reading request body failed"})
	}
	return nil, false
}

// readInto reads r whole onto buf.B, grown once to the declared Content-Length when that is
// known and within max (r enforces max itself).
func readInto(buf *Buffer, r io.Reader, declared, max int64) error {
	b := buf.B[:0]
	if declared > 0 && declared <= max {
		b = slices.Grow(b, int(declared)+bytes.MinRead)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			buf.B = b
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
