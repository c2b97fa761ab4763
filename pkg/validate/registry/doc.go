// Package registry maps group/version/kind to CRD schemas: the embedded releases, CRD directories
// and CRDs in the input, each read on first use.
package registry
