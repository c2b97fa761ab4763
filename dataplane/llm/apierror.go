package llm

import (
	"net/http"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// CredentialsError is the 500 answered when a backend's API key cannot be read. It names the
// Secret (secret, e.g. "ns/name", when known) but never a value; without a name it falls back
// to err's text, which key sources such as KeyFile keep free of secret values.
func CredentialsError(secret string, err error) *apierror.Error {
	msg := "backend credentials unavailable: "
	if secret != "" {
		msg += "secret " + secret + " (key Authorization) could not be read"
	} else {
		msg += err.Error()
	}
	return &apierror.Error{Status: http.StatusInternalServerError, Type: apierror.ErrServer, Code: "backend_credentials_unavailable", Message: msg}
}
