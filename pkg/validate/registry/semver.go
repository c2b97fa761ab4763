package registry

import (
	"fmt"
	"strconv"
	"strings"
)

type Semver struct{ Major, Minor, patch int }

func ParseSemver(s string) (Semver, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Semver{}, fmt.Errorf("%q is not a version like v1.2.1", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Semver{}, fmt.Errorf("%q is not a version like v1.2.1", s)
		}
		n[i] = v
	}
	return Semver{n[0], n[1], n[2]}, nil
}

func (a Semver) Less(b Semver) bool {
	if a.Major != b.Major {
		return a.Major < b.Major
	}
	if a.Minor != b.Minor {
		return a.Minor < b.Minor
	}
	return a.patch < b.patch
}

func (a Semver) String() string {
	if a.patch == 0 {
		return fmt.Sprintf("v%d.%d", a.Major, a.Minor)
	}
	return fmt.Sprintf("v%d.%d.%d", a.Major, a.Minor, a.patch)
}

func MustSemver(s string) Semver {
	v, err := ParseSemver(s)
	if err != nil {
		panic(err)
	}
	return v
}
