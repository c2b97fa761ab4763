package validate

import (
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/infergw/gwctl/schemas"
)

const embeddedLabel = "embedded:schemas"

func isEmbeddedSource(src string) bool { return strings.HasPrefix(src, embeddedLabel) }

// release is one embedded set, its schemas read on first use (a run seldom needs more than the
// release it targets).
type release struct {
	set  schemas.Set
	ver  semver
	once sync.Once
	reg  *registry
}

func (r *release) registry() *registry {
	r.once.Do(func() {
		r.reg = newRegistry()
		r.reg.addSet(r.set)
	})
	return r.reg
}

// addSet registers an embedded set's files, to be read on the first lookup of their kinds.
func (r *registry) addSet(s schemas.Set) {
	fsys, label := s.FS(), embeddedLabel+"/"+s.Dir
	for _, f := range s.Files {
		r.addPending(fsys, label, path.Base(f.Path), f.Group, f.Kind)
	}
}

// releases lists the embedded releases of one upstream, oldest first.
func releases(name string) []*release {
	var out []*release
	for _, s := range schemas.Versions(name) {
		out = append(out, &release{set: s, ver: mustSemver(s.Version)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ver.less(out[j].ver) })
	return out
}

// pick returns the release whose schemas describe target: the one of its minor version (patch
// releases do not change the API), else the newest one older than target, else the oldest.
func pick(rs []*release, target semver) *release {
	var best *release
	for _, r := range rs {
		if r.ver.major == target.major && r.ver.minor == target.minor {
			return r
		}
		if r.ver.less(target) {
			best = r
		}
	}
	if best == nil {
		return rs[0]
	}
	return best
}

func releaseNames(rs []*release) string {
	var vs []string
	for _, r := range rs {
		vs = append(vs, r.set.Version)
	}
	return strings.Join(vs, ", ")
}

// selectEmbedded returns the embedded sets a validator loads: every upstream's newest release,
// but agentgateway's target release and the inference extension release chosen.
func selectEmbedded(agw, gie *release) []schemas.Set {
	var out []schemas.Set
	newest := map[string]schemas.Set{}
	var names []string
	for _, s := range schemas.Sets() {
		if _, seen := newest[s.Name]; !seen {
			names = append(names, s.Name)
		}
		if prev, ok := newest[s.Name]; !ok || mustSemver(prev.Version).less(mustSemver(s.Version)) {
			newest[s.Name] = s
		}
	}
	for _, n := range names {
		switch n {
		case schemas.Agentgateway:
			out = append(out, agw.set)
		case schemas.InferenceExtension:
			out = append(out, gie.set)
		default:
			out = append(out, newest[n])
		}
	}
	return out
}
