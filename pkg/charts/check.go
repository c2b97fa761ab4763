package charts

import (
	"errors"
	"fmt"
	"io/fs"
)

// Check compares the lock file with the charts in refs, offline: it returns one line per
// difference (a chart used but not locked, a locked chart nothing uses), none when the lock is
// up to date. It does not look at the cache: render checks each archive when it reads it.
func Check(refs []Ref, s *Store) ([]string, error) {
	lock, err := s.Lock()
	if errors.Is(err, fs.ErrNotExist) {
		lock, err = &Lock{}, nil
		if len(refs) > 0 {
			return []string{fmt.Sprintf("%s does not exist", s.LockFile)}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	var out []string
	used := map[Ref]bool{}
	for _, r := range unique(refs) {
		used[r] = true
		if _, ok := lock.Find(r); !ok {
			out = append(out, fmt.Sprintf("%s is used but not locked", r))
		}
	}
	for _, e := range lock.Charts {
		if !used[e.Ref] {
			out = append(out, fmt.Sprintf("%s is locked but nothing uses it", e.Ref))
		}
	}
	return out, nil
}
