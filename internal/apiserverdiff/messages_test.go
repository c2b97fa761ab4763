package apiserverdiff

import (
	"regexp"
	"strings"
)

var (
	// The server's status for a strict decoding failure has no causes, only this message.
	strictDecoding = regexp.MustCompile(`strict decoding error: (.*)$`)
	unknownField   = regexp.MustCompile(`^unknown field "([^"]*)"$`)
	// kube-openapi's oneOf/anyOf errors name the field in the message only; gwctl lifts it into
	// the field (pkg/validate's fieldInDetail), so the server's is lifted the same way.
	pathInMessage = regexp.MustCompile(`^Invalid value: "": "([a-zA-Z][a-zA-Z0-9_.\[\]-]*)" must`)
)

// celSkipped is how both sides' notice that CEL rules were not run is compared: the server gives
// it as an error without a field, gwctl as an info finding.
const celSkipped = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

// normalise puts errors in one form, sorted, for comparing messages: a field the server reports
// as "<nil>" is no field, a strict decoding message is one error per unknown field, a path given
// only in the message is the field, and the CEL-skipped notice is one line.
func normalise(es []fieldError) []fieldError {
	var out []fieldError
	for _, e := range es {
		if e.Field == "<nil>" {
			e.Field = ""
		}
		if m := strictDecoding.FindStringSubmatch(e.Message); m != nil && e.Field == "" {
			for _, part := range strings.Split(m[1], ", ") {
				if u := unknownField.FindStringSubmatch(part); u != nil {
					out = append(out, fieldError{Field: u[1], Message: part})
				} else {
					out = append(out, fieldError{Message: part})
				}
			}
			continue
		}
		if e.Field == "" {
			if m := pathInMessage.FindStringSubmatch(e.Message); m != nil {
				e.Field = m[1]
			}
		}
		if strings.HasSuffix(e.Message, celSkipped) {
			e = fieldError{Message: celSkipped}
		}
		out = append(out, e)
	}
	return sortErrors(out)
}
