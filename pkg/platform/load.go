package platform

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/manifest"
)

// EnvPrefix starts every environment variable the platform config reads (GWCTL_FEATURES_EGRESS=true).
const EnvPrefix = "GWCTL_"

// EnvConfig names the config file; the CLI reads it, so it is not a key.
const EnvConfig = EnvPrefix + "CONFIG"

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
	// Strict refuses keys gwctl does not own (--strict-config), in the file and in --set.
	Strict bool
}

// Error is a problem with the platform config; the CLI exits 2 on it.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) error { return &Error{Err: fmt.Errorf(format, args...)} }

// loader carries one Load through its layers.
type loader struct {
	opts   Options
	schema *docschema.Schema
	root   *node
	// types is every scalar key gwctl owns, with its kind.
	types map[string]string
	// owned layers the keys gwctl owns: defaults, the file, then the environment and flags as
	// overrides. Its lower-casing is harmless there: every key is checked against the schema
	// before it goes in, and asWritten restores the schema's spelling for knobs.
	owned *viper.Viper
	// foreign is the top-level keys gwctl does not own, as written: viper would lower-case them,
	// and other tools read them as the file spells them (repoURL).
	foreign map[string]any
	// foreignKeys is every scalar key path in foreign that the environment may name.
	foreignKeys []string
	explicit    map[string]bool
	warnings    []string
}

// Load reads the platform config with precedence flags > environment > file > defaults.
func Load(opts Options) (*Config, error) {
	schemaJSON := SchemaJSON(opts.Features)
	schema, err := docschema.Compile("platform.schema.json", schemaJSON)
	if err != nil {
		return nil, err
	}
	root, err := ownedTree(schemaJSON)
	if err != nil {
		return nil, err
	}
	l := &loader{
		opts: opts, schema: schema, root: root, types: scalarKeys(root),
		owned: viper.New(), foreign: map[string]any{}, explicit: map[string]bool{},
	}
	for k, v := range Defaults() {
		l.owned.SetDefault(k, v)
	}
	if opts.File != "" {
		if err := l.readFile(); err != nil {
			return nil, err
		}
	}
	// Environment, then flags: each later layer wins.
	if err := l.readEnv(); err != nil {
		return nil, err
	}
	if err := l.readSet(); err != nil {
		return nil, err
	}
	if err := l.readFlags(); err != nil {
		return nil, err
	}
	return l.config()
}

// config decodes the keys gwctl owns into a Config; every key, foreign ones included, stays
// readable as a knob.
func (l *loader) config() (*Config, error) {
	cfg := &Config{}
	if err := l.owned.Unmarshal(cfg); err != nil {
		return nil, errorf("platform config: %w", err)
	}
	cfg.Source = l.opts.File
	cfg.Features = map[string]bool{}
	for _, f := range l.opts.Features {
		cfg.Features[f] = l.owned.GetBool("features." + f)
	}
	cfg.Explicit = l.explicit
	knobs, _ := asWritten(l.root, l.owned.AllSettings()).(map[string]any)
	for k, v := range l.foreign {
		knobs[k] = v
	}
	cfg.Knobs = knobs
	cfg.Warnings = l.warnings
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

// Lookup returns the value at a dotted key path (secretStore.name, dns.provider), and whether
// the key is present. A segment matches its key exactly, else the first key that differs only
// in case (in sorted order), as knobs matched before keys kept their case.
func (c *Config) Lookup(key string) (any, bool) {
	var cur any = c.Knobs
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[part]
		if !ok {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if strings.EqualFold(k, part) {
					v, ok = m[k], true
					break
				}
			}
		}
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// Knob returns a setting by dotted key (secretStore.name) as text, "" when unset or null.
func (c *Config) Knob(key string) string {
	v, _ := c.Lookup(key)
	return Text(v)
}

// Text is a config value as catalogs compare it: strings as they are, numbers and booleans as
// YAML writes them, null as "".
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	default:
		return fmt.Sprint(t)
	}
}

// envName maps a dotted key to its environment name: secretStore.name -> SECRETSTORE_NAME,
// gpu_stack -> GPU_STACK, dns.provider -> DNS_PROVIDER.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

func parseValue(kind, s string) (any, error) {
	switch kind {
	case "boolean":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		return b, nil
	case "integer":
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

// scalar reads a value for a foreign key as the file would hold it: a YAML scalar (true, 3,
// operator, null), or the text as given when it is not one.
func scalar(s string) any {
	if s == "" {
		return ""
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	switch t := v.(type) {
	case nil, string, bool, float64, int64:
		return t
	case int:
		return int64(t)
	}
	return s
}

// asWritten gives the keys gwctl owns back the schema's spelling (secretStore, not viper's
// secretstore), so every knob is keyed as written, owned or foreign.
func asWritten(n *node, v any) any {
	switch t := v.(type) {
	case map[string]any:
		if n.kind != "object" {
			return v
		}
		out := make(map[string]any, len(t))
		for k, c := range n.props {
			if e, ok := t[strings.ToLower(k)]; ok {
				out[k] = asWritten(c, e)
			}
		}
		return out
	case []any:
		if n.kind != "array" {
			return v
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = asWritten(n.items, e)
		}
		return out
	}
	return v
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
