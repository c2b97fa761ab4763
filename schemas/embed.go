// Package schemas holds the CRD schemas gwctl validates against offline, each derived by `make
// schemas` (hack/schemas) from an upstream release's published CRDs, with the facts kept and the
// prose dropped: one directory per upstream and version (agentgateway/v1.2.1, …), and SOURCE.yaml
// recording where every file comes from, with its sha256.
package schemas

import "embed"

// FS holds SOURCE.yaml and every derived CRD file (<name>/<version>/*.yaml).
//
//go:embed SOURCE.yaml */*/*.yaml
var FS embed.FS
