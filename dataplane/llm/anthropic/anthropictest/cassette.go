package anthropictest

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Interaction is one recorded /v1/messages exchange of a go-vcr cassette.
type Interaction struct {
	RequestBody  string
	Status       int
	ContentType  string
	ResponseBody string
}

// Streamed reports whether the recorded response is an event stream.
func (i Interaction) Streamed() bool {
	return strings.HasPrefix(i.ContentType, "text/event-stream") || strings.HasPrefix(strings.TrimSpace(i.ResponseBody), "event:")
}

// Reply turns the recording into a Reply for the fake server.
func (i Interaction) Reply() Reply {
	return Reply{Status: i.Status, Body: []byte(i.ResponseBody), SSE: i.Streamed()}
}

// LoadStreams reads a file of recorded event streams (a YAML map from the recording's file name to
// its body, byte for byte, as make testdata writes them).
func LoadStreams(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading streams: %w", err)
	}
	var m map[string]string
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing streams %s: %w", path, err)
	}
	out := make(map[string][]byte, len(m))
	for name, body := range m {
		out[name] = []byte(body)
	}
	return out, nil
}

// LoadCassette reads the interactions of a go-vcr (v1 format) cassette.
func LoadCassette(path string) ([]Interaction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading cassette: %w", err)
	}
	var doc struct {
		Interactions []struct {
			Request struct {
				Body string `yaml:"body"`
			} `yaml:"request"`
			Response struct {
				Body    string              `yaml:"body"`
				Headers map[string][]string `yaml:"headers"`
				Code    int                 `yaml:"code"`
			} `yaml:"response"`
		} `yaml:"interactions"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing cassette %s: %w", path, err)
	}
	out := make([]Interaction, 0, len(doc.Interactions))
	for _, in := range doc.Interactions {
		ct := ""
		for k, v := range in.Response.Headers {
			if strings.EqualFold(k, "Content-Type") && len(v) > 0 {
				ct = v[0]
			}
		}
		out = append(out, Interaction{RequestBody: in.Request.Body, Status: in.Response.Code, ContentType: ct, ResponseBody: in.Response.Body})
	}
	return out, nil
}
