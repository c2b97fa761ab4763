package registry

import (
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/infergw/gwctl/schemas"
)

const EmbeddedLabel = "embedded:schemas"

func IsEmbeddedSource(src string) bool { return strings.HasPrefix(src, EmbeddedLabel) }

// release is one embedded set, its schemas read on first use (a run seldom needs more than the
// release it targets).
type Release struct {
	Set  schemas.Set
	Ver  Semver
	once sync.Once
	reg  *Registry
}

func (r *Release) Registry() *Registry {
	r.once.Do(func() {
		r.reg = New()
		r.reg.AddSet(r.Set)
	})
	return r.reg
}

// addSet registers an embedded set's files, to be read on the first lookup of their kinds.
func (r *Registry) AddSet(s schemas.Set) {
	fsys, label := s.FS(), EmbeddedLabel+"/"+s.Dir
	for _, f := range s.Files {
		r.addPending(fsys, label, path.Base(f.Path), f.Group, f.Kind)
	}
}

// releases lists the embedded releases of one upstream, oldest first.
func Releases(name string) []*Release {
	var out []*Release
	for _, s := range schemas.Versions(name) {
		out = append(out, &Release{Set: s, Ver: MustSemver(s.Version)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ver.Less(out[j].Ver) })
	return out
}

// pick returns the release whose schemas describe target: the one of its minor version (patch
// releases do not change the API), else the newest one older than target, else the oldest.
func Pick(rs []*Release, target Semver) *Release {
	var best *Release
	for _, r := range rs {
		if r.Ver.Major == target.Major && r.Ver.Minor == target.Minor {
			return r
		}
		if r.Ver.Less(target) {
			best = r
		}
	}
	if best == nil {
		return rs[0]
	}
	return best
}

func ReleaseNames(rs []*Release) string {
	var vs []string
	for _, r := range rs {
		vs = append(vs, r.Set.Version)
	}
	return strings.Join(vs, ", ")
}

// selectEmbedded returns the embedded sets a validator loads: every upstream's newest release,
// but agentgateway's target release and the inference extension release chosen.
func SelectEmbedded(agw, gie *Release) []schemas.Set {
	var out []schemas.Set
	newest := map[string]schemas.Set{}
	var names []string
	for _, s := range schemas.Sets() {
		if _, seen := newest[s.Name]; !seen {
			names = append(names, s.Name)
		}
		if prev, ok := newest[s.Name]; !ok || MustSemver(prev.Version).Less(MustSemver(s.Version)) {
			newest[s.Name] = s
		}
	}
	for _, n := range names {
		switch n {
		case schemas.Agentgateway:
			out = append(out, agw.Set)
		case schemas.InferenceExtension:
			out = append(out, gie.Set)
		default:
			out = append(out, newest[n])
		}
	}
	return out
}
