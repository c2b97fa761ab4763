// Package charts fetches remote Helm charts (Helm repositories and OCI registries) into a local
// cache with a lock file of their digests, and serves them to render from that cache only.
package charts

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Ref is one remote chart at an exact version. Repo is a Helm repository URL (http:// or
// https://, where index.yaml is) or an OCI registry path (oci://host/path); Chart is the
// chart's name in it.
type Ref struct {
	Repo    string `json:"repo"`
	Chart   string `json:"chart"`
	Version string `json:"version"`
}

// OCI reports whether the chart lives in an OCI registry.
func (r Ref) OCI() bool { return strings.HasPrefix(r.Repo, "oci://") }

// String names the chart the way helm pull would: oci://host/path/name:1.2.3, or name 1.2.3
// from https://repo.
func (r Ref) String() string {
	if r.OCI() {
		return r.Repo + "/" + r.Chart + ":" + r.Version
	}
	return fmt.Sprintf("%s %s from %s", r.Chart, r.Version, r.Repo)
}

func (r Ref) less(o Ref) bool {
	if r.Repo != o.Repo {
		return r.Repo < o.Repo
	}
	if r.Chart != o.Chart {
		return r.Chart < o.Chart
	}
	return r.Version < o.Version
}

// pinned is an exact SemVer 2 version, as Helm requires of a chart, with an optional leading v
// (cert-manager's charts use one). Ranges and wildcards are what a lock exists to rule out.
var pinned = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// chartName is what a chart's name may be in a repository or as an OCI path segment.
var chartName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// FieldError is a problem with one field of a chart reference; the caller adds the file and
// position of that field.
type FieldError struct {
	Field string // repo, chart or version
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParseRef checks and normalises a remote chart reference as written in a catalog or a
// kustomization: chart may be a whole OCI reference (oci://host/path/name) with no repo, which
// becomes repo oci://host/path and chart name.
func ParseRef(repo, chart, version string) (Ref, error) {
	if strings.HasPrefix(chart, "oci://") {
		if repo != "" {
			return Ref{}, &FieldError{"chart", "an oci:// reference carries its registry: leave repo out (or write repo: oci://host/path and chart: name)"}
		}
		i := strings.LastIndex(chart, "/")
		repo, chart = chart[:i], chart[i+1:]
		if strings.Contains(chart, ":") || strings.Contains(chart, "@") {
			return Ref{}, &FieldError{"chart", "give the version in version:, not as a tag or digest of the reference"}
		}
	}
	if repo == "" {
		return Ref{}, &FieldError{"repo", "a remote chart needs repo: (https://… or oci://…), or chart: oci://host/path/name"}
	}
	u, err := url.Parse(repo)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Ref{}, &FieldError{"repo", fmt.Sprintf("%q is not a repository URL (scheme://host/path, no credentials, query or fragment)", repo)}
	}
	switch u.Scheme {
	case "https", "http", "oci":
	default:
		return Ref{}, &FieldError{"repo", fmt.Sprintf("scheme %q: want https://, http:// (a Helm repository) or oci:// (a registry)", u.Scheme)}
	}
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg == "." || seg == ".." {
			return Ref{}, &FieldError{"repo", fmt.Sprintf("%q: . and .. are not allowed in the path", repo)}
		}
	}
	if !chartName.MatchString(chart) {
		return Ref{}, &FieldError{"chart", fmt.Sprintf("%q is not a chart name", chart)}
	}
	if version == "" {
		return Ref{}, &FieldError{"version", "a remote chart needs an exact version (version: 1.2.3): gwctl never takes the latest"}
	}
	if !pinned.MatchString(version) {
		return Ref{}, &FieldError{"version", fmt.Sprintf("%q is not an exact version (1.2.3, v1.2.3, 1.2.3-rc.1): ranges and wildcards are refused", version)}
	}
	return Ref{Repo: strings.TrimSuffix(repo, "/"), Chart: chart, Version: version}, nil
}

// cachePath is where the chart's archive lives in the cache: scheme/host/path/name-version.tgz,
// readable and safe as a path (every segment is cleaned of characters a file name cannot hold).
func (r Ref) cachePath() string {
	u, _ := url.Parse(r.Repo)
	parts := []string{safe(u.Scheme), safe(u.Host)}
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg != "" {
			parts = append(parts, safe(seg))
		}
	}
	parts = append(parts, safe(r.Chart+"-"+r.Version)+".tgz")
	return path.Join(parts...)
}

func safe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '+') {
			b[i] = '_'
		}
	}
	if s := string(b); s != "." && s != ".." && s != "" {
		return s
	}
	return "_"
}
