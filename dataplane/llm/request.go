package llm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// ReadBody reads r whole into a buffer sized from the declared Content-Length when that is
// known and within max (r enforces max itself), so a body costs one allocation.
func ReadBody(r io.Reader, declared, max int64) ([]byte, error) {
	if declared <= 0 || declared > max {
		return io.ReadAll(r)
	}
	buf := bytes.NewBuffer(make([]byte, 0, declared+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// ReadRequestBody reads a client's request body of at most max bytes, answering 413 when it is
// larger and 400 when it cannot be read; ok is false when it answered.
func ReadRequestBody(w http.ResponseWriter, r *http.Request, max int64, res *Result) (body []byte, ok bool) {
	body, err := ReadBody(http.MaxBytesReader(w, r.Body, max), r.ContentLength, max)
	if err == nil {
		return body, true
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		Reject(w, res, &apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("request body exceeds %d bytes", max)})
	} else {
		Reject(w, res, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: "reading request body failed"})
	}
	return nil, false
}
