package platform

import (
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/docschema"
)

// readEnv applies GWCTL_<KEY_PATH> variables. A variable names a key when its name is GWCTL_
// followed by the key path upper-cased with "." and "-" turned into "_": GWCTL_GATEWAY_PORT is
// gateway.port, GWCTL_GPU_STACK is gpu_stack. The keys it can name are the scalar keys gwctl
// owns and the scalar keys the file has; since "_" stands for both "." and "_", a variable that
// fits two keys is an error, and one that fits none is a warning (--set creates keys).
func (l *loader) readEnv() error {
	byName := map[string][]string{}
	for key := range l.types {
		byName[envName(key)] = append(byName[envName(key)], key)
	}
	for _, key := range l.foreignKeys {
		byName[envName(key)] = append(byName[envName(key)], key)
	}
	var envs []string
	for _, kv := range l.opts.Environ {
		if strings.HasPrefix(kv, EnvPrefix) {
			envs = append(envs, kv)
		}
	}
	sort.Strings(envs)
	for _, kv := range envs {
		name, val, _ := strings.Cut(kv, "=")
		keys := byName[name]
		sort.Strings(keys)
		switch {
		case name == EnvConfig:
		case len(keys) > 1:
			return errorf("environment %s: names %s; use --set with the key instead", name, strings.Join(keys, " and "))
		case len(keys) == 0 && strings.HasPrefix(name, EnvPrefix+"FEATURES_"):
			f := strings.ToLower(strings.TrimPrefix(name, EnvPrefix+"FEATURES_"))
			return errorf("environment %s: unknown feature%s (known: %s)", name, docschema.DidYouMean(f, sorted(l.opts.Features)), known(l.opts.Features))
		case len(keys) == 0:
			l.warnings = append(l.warnings, fmt.Sprintf("environment %s: names no key gwctl owns or the config file has; ignored (--set key=value adds a key)", name))
		default:
			if err := l.override(keys[0], val); err != nil {
				return errorf("environment %s: %s: %v", name, keys[0], err)
			}
		}
	}
	return nil
}

// readSet applies --set key=value. A key gwctl owns takes a value of its type; any other key
// path is created or replaced, holding the value as a YAML scalar, unless Strict.
func (l *loader) readSet() error {
	for _, kv := range l.opts.Set {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return errorf("--set %q: want key=value", kv)
		}
		if strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
			return errorf("--set %s: empty segment in the key path", key)
		}
		if _, owned := l.types[key]; !owned {
			if err := l.checkForeignPath(key); err != nil {
				return errorf("--set %s: %v", key, err)
			}
		}
		if err := l.override(key, val); err != nil {
			return errorf("--set %s: %v", key, err)
		}
	}
	return nil
}

// checkForeignPath refuses a key path gwctl cannot take as a foreign key: one inside an object
// gwctl owns (a typo there is a typo), through a scalar, onto a mapping, or any with Strict.
func (l *loader) checkForeignPath(key string) error {
	parts := strings.Split(key, ".")
	n := l.root
	for i, part := range parts {
		c, ok := n.props[part]
		if !ok {
			if i > 0 {
				return fmt.Errorf("%s", l.unknownOwned(strings.Join(parts[:i], "."), part, n))
			}
			if msg := l.foreignTopLevel(part); l.opts.Strict {
				return fmt.Errorf("%s", msg)
			} else if msg != "" {
				l.warnings = append(l.warnings, fmt.Sprintf("--set %s: %s", key, msg))
			}
			break
		}
		switch c.kind {
		case "object":
			if i == len(parts)-1 {
				return fmt.Errorf("%s is a mapping: set one of its keys (%s)", key, strings.Join(c.names(), ", "))
			}
			n = c
			continue
		case "array":
			return fmt.Errorf("%s is a list: set it in the config file", strings.Join(parts[:i+1], "."))
		}
		article := "a"
		if c.kind == "integer" {
			article = "an"
		}
		return fmt.Errorf("%s is %s %s, not a mapping", strings.Join(parts[:i+1], "."), article, c.kind)
	}
	return nil
}

// override sets key to the text val: typed and schema-checked for a key gwctl owns, a YAML
// scalar for another.
func (l *loader) override(key, val string) error {
	if kind, owned := l.types[key]; owned {
		v, err := parseValue(kind, val)
		if err == nil {
			err = checkOne(l.schema, key, v)
		}
		if err != nil {
			return err
		}
		l.owned.Set(key, v)
	} else if err := setPath(l.foreign, key, scalar(val)); err != nil {
		return err
	}
	if name, ok := strings.CutPrefix(key, "features."); ok {
		l.explicit[name] = true
	}
	return nil
}

// readFlags applies --enable and --disable.
func (l *loader) readFlags() error {
	for _, list := range []struct {
		names []string
		on    bool
		flag  string
	}{{l.opts.Enable, true, "--enable"}, {l.opts.Disable, false, "--disable"}} {
		for _, name := range list.names {
			if _, ok := l.types["features."+name]; !ok {
				return errorf("%s %s: unknown feature%s (known: %s)", list.flag, name, docschema.DidYouMean(name, sorted(l.opts.Features)), known(l.opts.Features))
			}
			l.owned.Set("features."+name, list.on)
			l.explicit[name] = true
		}
	}
	return nil
}

// setPath sets a foreign key's value at a dotted key path, creating mappings on the way; it
// refuses to go through a value that is not a mapping, or to replace a mapping with a scalar.
func setPath(m map[string]any, key string, val any) error {
	parts := strings.Split(key, ".")
	for i, part := range parts[:len(parts)-1] {
		next, ok := m[part]
		if !ok || next == nil {
			sub := map[string]any{}
			m[part] = sub
			m = sub
			continue
		}
		sub, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is %s, not a mapping", strings.Join(parts[:i+1], "."), describeValue(next))
		}
		m = sub
	}
	last := parts[len(parts)-1]
	if _, isMap := m[last].(map[string]any); isMap {
		return fmt.Errorf("%s is a mapping: set one of its keys", key)
	}
	m[last] = val
	return nil
}

func describeValue(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
