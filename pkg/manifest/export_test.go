package manifest

// DiffFast exposes the differential check to the external tests (which may import packages
// that import this one, such as internal/testenv/bundled).
func DiffFast(data []byte) (accepted bool, diff string) { return diffFast(data, DefaultLimits) }
