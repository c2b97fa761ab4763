package platform

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/manifest"
)

// EnvPrefix starts every environment variable the platform config reads (GWCTL_FEATURES_EGRESS=true).
const EnvPrefix = "GWCTL_"

// Options says where the config comes from.
type Options struct {
	// File is the platform config file; "" uses the bundled defaults only.
	File string
	// Features are the catalog's optional group names: the only valid keys under features.
	Features []string
	// Environ is the process environment (os.Environ()); only GWCTL_ variables are read.
	Environ []string
	// Set holds key=value overrides from flags (--set gateway.port=8080); values are YAML scalars.
	Set []string
	// Enable and Disable turn features on or off from flags.
	Enable, Disable []string
}

// Error is a problem with the platform config; the CLI exits 2 on it.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) error { return &Error{Err: fmt.Errorf(format, args...)} }

// Load reads the platform config with precedence flags > environment > file > defaults.
func Load(opts Options) (*Config, error) {
	schema, err := compileSchema(opts.Features)
	if err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetConfigType("yaml")
	for k, val := range Defaults() {
		v.SetDefault(k, val)
	}
	types := keyTypes(opts.Features)
	explicit := map[string]bool{}
	cfg := &Config{Source: opts.File}

	if opts.File != "" {
		data, err := os.ReadFile(opts.File)
		if err != nil {
			return nil, errorf("platform config: %w", err)
		}
		doc, err := manifest.ParseMapping(opts.File, data, manifest.DefaultLimits)
		if err != nil {
			return nil, &Error{Err: err}
		}
		if err := schema.Validate(doc); err != nil {
			return nil, &Error{Err: err}
		}
		if err := v.MergeConfigMap(doc.Content); err != nil {
			return nil, errorf("%s: %w", opts.File, err)
		}
		if f, ok := doc.Content["features"].(map[string]any); ok {
			for name := range f {
				explicit[name] = true
			}
		}
	}

	// Environment, then flags: each later layer wins.
	envKeys := map[string]string{}
	for key := range types {
		envKeys[EnvPrefix+envName(key)] = key
	}
	var envs []string
	for _, kv := range opts.Environ {
		if strings.HasPrefix(kv, EnvPrefix) {
			envs = append(envs, kv)
		}
	}
	sort.Strings(envs)
	for _, kv := range envs {
		name, val, _ := strings.Cut(kv, "=")
		key, ok := envKeys[name]
		if !ok {
			if strings.HasPrefix(name, EnvPrefix+"FEATURES_") {
				return nil, errorf("environment %s: unknown feature (known: %s)", name, strings.Join(opts.Features, ", "))
			}
			continue // other GWCTL_ variables belong to other parts of gwctl
		}
		typed, err := parseValue(types[key], val)
		if err == nil {
			err = checkOne(schema, key, typed)
		}
		if err != nil {
			return nil, errorf("environment %s: %s: %v", name, key, err)
		}
		setKey(v, key, typed, explicit)
	}
	for _, kv := range opts.Set {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, errorf("--set %q: want key=value", kv)
		}
		t, known := types[key]
		if !known {
			return nil, errorf("--set %s: unknown key (see the platform config reference in README.md)", key)
		}
		typed, err := parseValue(t, val)
		if err == nil {
			err = checkOne(schema, key, typed)
		}
		if err != nil {
			return nil, errorf("--set %s: %v", key, err)
		}
		setKey(v, key, typed, explicit)
	}
	for _, list := range []struct {
		names []string
		on    bool
		flag  string
	}{{opts.Enable, true, "--enable"}, {opts.Disable, false, "--disable"}} {
		for _, name := range list.names {
			if _, ok := types["features."+name]; !ok {
				return nil, errorf("%s %s: unknown feature (known: %s)", list.flag, name, strings.Join(opts.Features, ", "))
			}
			setKey(v, "features."+name, list.on, explicit)
		}
	}

	if err := v.Unmarshal(cfg); err != nil {
		return nil, errorf("platform config: %w", err)
	}
	cfg.Features = map[string]bool{}
	for _, f := range opts.Features {
		cfg.Features[f] = v.GetBool("features." + f)
	}
	cfg.Explicit = explicit
	cfg.Knobs = v.AllSettings()
	if cfg.MCP.Bucket < cfg.MCP.Requests {
		return nil, errorf("platform config: mcp.bucket (%d) must be at least mcp.requests (%d): the bucket holds the refill plus the burst", cfg.MCP.Bucket, cfg.MCP.Requests)
	}
	return cfg, nil
}

// checkOne validates a single overridden value against the schema.
func checkOne(schema *docschema.Schema, key string, val any) error {
	parts := strings.Split(key, ".")
	var doc any = val
	for i := len(parts) - 1; i >= 0; i-- {
		doc = map[string]any{parts[i]: doc}
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	obj, err := manifest.ParseMapping("override", data, manifest.DefaultLimits)
	if err != nil {
		return err
	}
	var es docschema.Errors
	if err := schema.Validate(obj); errors.As(err, &es) {
		return errors.New(es[0].Msg)
	} else if err != nil {
		return err
	}
	return nil
}

func setKey(v *viper.Viper, key string, val any, explicit map[string]bool) {
	v.Set(key, val)
	if name, ok := strings.CutPrefix(key, "features."); ok {
		explicit[name] = true
	}
}

// Knob returns a setting by dotted key (secretStore.name) as text, "" when unset.
func (c *Config) Knob(key string) string {
	var cur any = c.Knobs
	for _, part := range strings.Split(strings.ToLower(key), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[part]
	}
	switch t := cur.(type) {
	case nil:
		return ""
	case string:
		return t
	default:
		return fmt.Sprint(t)
	}
}

// envName maps a dotted key to its environment name: secretStore.name -> SECRETSTORE_NAME.
func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// keyTypes lists every scalar key the config takes, with its kind: "bool", "int" or "string".
func keyTypes(features []string) map[string]string {
	out := map[string]string{"catalog": "string", "output": "string"}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			switch t := v.(type) {
			case map[string]any:
				walk(key, t)
			case bool:
				out[key] = "bool"
			case int64:
				out[key] = "int"
			case string:
				out[key] = "string"
			}
		}
	}
	walk("", Defaults())
	for _, f := range features {
		out["features."+f] = "bool"
	}
	return out
}

func parseValue(kind, s string) (any, error) {
	switch kind {
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		return b, nil
	case "int":
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return i, nil
	}
	var out string
	if err := yaml.Unmarshal([]byte(s), &out); err != nil || out == "" {
		out = s
	}
	return out, nil
}

// PeekString reads one top-level string key of a config file without the rest of Load, for
// keys that decide how the config itself is read (catalog:).
func PeekString(file, key string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", errorf("platform config: %w", err)
	}
	doc, err := manifest.ParseMapping(file, data, manifest.DefaultLimits)
	if err != nil {
		return "", &Error{Err: err}
	}
	s, _ := doc.Content[key].(string)
	return s, nil
}
