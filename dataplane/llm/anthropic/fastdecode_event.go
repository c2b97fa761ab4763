package anthropic

import (
	"encoding/json"
	"strings"
)

// The hand-written decoder of the stream events that are not the fixed-layout deltas of
// fastpath.go (message_start, content_block_start and _stop, message_delta, message_stop,
// ping, error): encoding/json took about 9 allocations for each. An event's bytes are only valid
// while it is handled, so what the scanner aliased is copied (own) before the stream keeps
// any of it, as encoding/json's copies would be.

// decodeEvent decodes one stream event's data into ev.
func decodeEvent(data []byte, ev *streamEvent) error {
	*ev = streamEvent{}
	s := newScanner(data)
	if fastJSON && s.Peek() == '{' && s.streamEvent(ev) && s.End() {
		ev.own()
		return nil
	}
	*ev = streamEvent{}
	return json.Unmarshal(data, ev)
}

func (s *scanner) streamEvent(ev *streamEvent) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &ev.Type)
		case "index":
			if !seen.First(1) {
				return false
			}
			if s.Null() {
				return true
			}
			n, ok := s.Int64()
			ev.Index = int(n)
			return ok
		case "message":
			if !seen.First(2) {
				return false
			}
			if s.Null() {
				ev.Message = nil
				return true
			}
			ev.Message = &message{}
			return s.Peek() == '{' && s.message(ev.Message)
		case "content_block":
			if !seen.First(3) {
				return false
			}
			if s.Null() {
				ev.ContentBlock = nil
				return true
			}
			ev.ContentBlock = &responseBlock{}
			return s.Peek() == '{' && s.responseBlock(ev.ContentBlock)
		case "delta":
			if !seen.First(4) {
				return false
			}
			return s.Null() || s.eventDelta(ev)
		case "usage":
			if !seen.First(5) {
				return false
			}
			if s.Null() {
				ev.Usage = nil
				return true
			}
			ev.Usage = &usage{}
			return s.Peek() == '{' && s.usage(ev.Usage)
		case "error":
			return objectPtr(s, &seen, 6, &ev.Error, nil, func(e *apiError, inner *fields, key string) bool {
				switch key {
				case "type":
					return s.strField(inner, 0, &e.Type)
				case "message":
					return s.strField(inner, 1, &e.Message)
				}
				return s.Unknown(key)
			})
		}
		return s.Unknown(key)
	})
}

func (s *scanner) eventDelta(ev *streamEvent) bool {
	d := &ev.Delta
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &d.Type)
		case "text":
			return s.strField(&seen, 1, &d.Text)
		case "partial_json":
			return s.strField(&seen, 2, &d.PartialJSON)
		case "thinking":
			return s.strField(&seen, 3, &d.Thinking)
		case "signature":
			return s.strField(&seen, 4, &d.Signature)
		case "stop_reason":
			return s.strField(&seen, 5, &d.StopReason)
		case "citation":
			if !seen.First(6) {
				return false
			}
			if s.Null() {
				d.Citation = nil
				return true
			}
			d.Citation = &citation{}
			return s.Peek() == '{' && s.citation(d.Citation)
		}
		return s.Unknown(key)
	})
}

// own copies every string and raw value of ev out of the event's bytes.
func (ev *streamEvent) own() {
	ev.Type = strings.Clone(ev.Type)
	if m := ev.Message; m != nil {
		m.ID, m.Model, m.StopReason = strings.Clone(m.ID), strings.Clone(m.Model), strings.Clone(m.StopReason)
		for i := range m.Content {
			m.Content[i].own()
		}
		m.Usage.ServiceTier = strings.Clone(m.Usage.ServiceTier)
	}
	if b := ev.ContentBlock; b != nil {
		b.own()
	}
	d := &ev.Delta
	d.Type, d.Text, d.PartialJSON = strings.Clone(d.Type), strings.Clone(d.Text), strings.Clone(d.PartialJSON)
	d.Thinking, d.Signature, d.StopReason = strings.Clone(d.Thinking), strings.Clone(d.Signature), strings.Clone(d.StopReason)
	if c := d.Citation; c != nil {
		c.own()
	}
	if u := ev.Usage; u != nil {
		u.ServiceTier = strings.Clone(u.ServiceTier)
	}
	if e := ev.Error; e != nil {
		e.Type, e.Message = strings.Clone(e.Type), strings.Clone(e.Message)
	}
}

func (b *responseBlock) own() {
	b.Type, b.Text, b.ID, b.Name = strings.Clone(b.Type), strings.Clone(b.Text), strings.Clone(b.ID), strings.Clone(b.Name)
	b.Thinking, b.Signature, b.Data = strings.Clone(b.Thinking), strings.Clone(b.Signature), strings.Clone(b.Data)
	if b.Input != nil {
		b.Input = append(json.RawMessage(nil), b.Input...)
	}
	for i := range b.Citations {
		b.Citations[i].own()
	}
}

func (c *citation) own() {
	c.Type, c.URL, c.Title, c.Source = strings.Clone(c.Type), strings.Clone(c.URL), strings.Clone(c.Title), strings.Clone(c.Source)
}
