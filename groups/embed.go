// Package groups embeds the bundled feature-group catalog: catalog.yaml and one folder per
// group with its group.yaml declaration and its Kustomize and Helm content.
package groups

import "embed"

// FS is the bundled catalog.
//
//go:embed all:*
var FS embed.FS
