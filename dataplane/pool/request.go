package pool

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
)

// Request headers the pool reads and writes (GIE EPP protocol and BBR vocabulary).
const (
	HeaderModelName     = "X-Gateway-Model-Name"
	HeaderBaseModelName = "X-Gateway-Base-Model-Name"
	HeaderObjective     = "X-Gateway-Inference-Objective"
	HeaderDestination   = "X-Gateway-Destination-Endpoint"
	HeaderServed        = "X-Gateway-Destination-Endpoint-Served"
)

// request is what the scheduler knows about one request.
type request struct {
	model     string
	adapter   string // model to look up in LoRA state; "" when it is the base model or unknown
	priority  int
	hasBody   bool
	body      []byte // buffered body, nil when it streams through
	hashes    []uint64
	tokens    int64 // estimated prompt tokens, for in-flight token accounting
	blockSize int   // prefix block size in tokens used for hashes
	// subset, when restricted, limits the candidates (the EPP protocol's subset hint): ip:port
	// entries match that endpoint, bare IPs every port of that address.
	subset     []string
	restricted bool
}

// allows reports whether the request may go to addr.
func (req *request) allows(addr string) bool {
	if !req.restricted {
		return true
	}
	host, _, _ := net.SplitHostPort(addr)
	for _, s := range req.subset {
		if s == addr || s == host {
			return true
		}
	}
	return false
}

// needsBody reports whether a configured scorer reads the body for this request.
func (p *Pool) needsBody(r *http.Request) bool {
	w := p.cfg.Scheduler.Weights
	if p.cfg.Scheduler.Picker != PickerMaxScore {
		return false
	}
	return w.Prefix > 0 || (w.LoRA > 0 && r.Header.Get(HeaderModelName) == "")
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// parseRequest reads the headers and, only when a scorer needs it, buffers and decodes the body.
func (p *Pool) parseRequest(r *http.Request, hashBuf []uint64) (*request, error) {
	req := &request{
		model:    r.Header.Get(HeaderModelName),
		priority: p.cfg.Objectives[r.Header.Get(HeaderObjective)],
		hasBody:  hasBody(r),
	}
	sc := &p.cfg.Scheduler
	if r.ContentLength > 0 {
		req.tokens = r.ContentLength / int64(sc.CharsPerToken)
	}
	if req.hasBody && p.needsBody(r) {
		held, isHeld := r.Body.(heldBody)
		body, err := held.b, error(nil)
		if !isHeld {
			body, err = io.ReadAll(io.LimitReader(r.Body, p.cfg.MaxBodyBytes+1))
			_ = r.Body.Close()
		}
		if err != nil {
			return nil, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("read request body: %v", err)}
		}
		if int64(len(body)) > p.cfg.MaxBodyBytes {
			return nil, &apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("request body exceeds %d bytes", p.cfg.MaxBodyBytes)}
		}
		req.body = body
		req.tokens = int64(len(body) / sc.CharsPerToken)
		if err := p.decodeBody(req, hashBuf); err != nil {
			return nil, err
		}
		if !isHeld {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	req.adapter = req.model
	if base := r.Header.Get(HeaderBaseModelName); base != "" && base == req.model {
		req.adapter = ""
	}
	return req, nil
}

// requestFields is what the scheduler reads of an OpenAI request body, in one strict pass: the
// model it picks an endpoint for and the prompt it hashes. Duplicate and case-colliding keys are
// refused, so the model scheduled for is the one the model server reads.
var (
	requestFields = jsonstrict.NewSchema()
	slotModel     = requestFields.Capture("model")
	slotMessages  = requestFields.Capture("messages")
	slotPrompt    = requestFields.Capture("prompt")
)

// decodeBody takes the model and the prompt's prefix window from an OpenAI request body.
func (p *Pool) decodeBody(req *request, hashBuf []uint64) error {
	var v [3]jsonstrict.Value
	if err := requestFields.Read(req.body, v[:]); err != nil {
		return apierror.Body(err)
	}
	model, _ := v[slotModel].Str()
	if model == "" {
		return &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: `request body has no "model"`}
	}
	if req.model == "" {
		req.model = model
	}
	if p.cfg.Scheduler.Weights.Prefix == 0 {
		return nil
	}
	var prompt []byte
	switch {
	case v[slotMessages] != nil:
		prompt = v[slotMessages]
	case v[slotPrompt].Kind() == jsonstrict.String:
		s, _ := v[slotPrompt].Str()
		prompt = []byte(s)
	case v[slotPrompt] != nil:
		prompt = v[slotPrompt]
	}
	sc := &p.cfg.Scheduler
	req.blockSize = p.blockSizeTokens()
	req.hashes = hashBlocks(hashBuf[:0], model, prompt, req.blockSize*sc.CharsPerToken, sc.MaxPrefixBlocks)
	return nil
}

func (p *Pool) blockSizeTokens() int {
	if b := p.blockTokens.Load(); b > 0 {
		return int(b)
	}
	return p.cfg.Scheduler.BlockSizeTokens
}
