package llm

import (
	"errors"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
)

// BodyError is the 400 answered for a request body the strict reader (jsonstrict) refuses. A
// refused key (a duplicate, or a key equal to another or to a member the gateway reads except
// for case) is named in param: the gateway and the upstream could read different values from it.
func BodyError(err error) *Error {
	var se *jsonstrict.Error
	if errors.As(err, &se) && se.Key {
		return InvalidRequest(se.Path, "the request body is ambiguous: %s", err)
	}
	return InvalidRequest("", "request body is not valid JSON: %s", err)
}
