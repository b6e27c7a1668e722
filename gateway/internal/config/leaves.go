package config

import (
	"reflect"
	"strings"
	"time"
)

// EnvPrefix is the prefix of every environment variable Load reads.
const EnvPrefix = "MEDPROV_"

// Leaf describes one configuration key that holds a value.
type Leaf struct {
	// Key is the key path, e.g. "listen.grpc".
	Key string
	// Env is the environment variable that overrides it, e.g.
	// "MEDPROV_LISTEN_GRPC".
	Env string
	// Duration is true for durations ("30s", "5m"); other leaves are strings.
	Duration bool

	index []int
}

var durationType = reflect.TypeFor[time.Duration]()

// leaves is every leaf of Config in field order, derived once from the yaml
// and env tags so that the struct is the only list of keys.
var leaves = collectLeaves(reflect.TypeFor[Config](), "", nil)

// sections is the set of key paths that are mappings of further keys.
var sections = collectSections(reflect.TypeFor[Config](), "")

// Leaves returns every configuration key that holds a value, in the order of
// the Config struct (the order Validate reports problems in).
func Leaves() []Leaf {
	out := make([]Leaf, len(leaves))
	copy(out, leaves)
	return out
}

func collectLeaves(t reflect.Type, prefix string, index []int) []Leaf {
	var out []Leaf
	for i := range t.NumField() {
		f := t.Field(i)
		key := join(prefix, f.Tag.Get("yaml"))
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, collectLeaves(f.Type, key, idx)...)
			continue
		}
		out = append(out, Leaf{Key: key, Env: EnvPrefix + f.Tag.Get("env"), Duration: f.Type == durationType, index: idx})
	}
	return out
}

func collectSections(t reflect.Type, prefix string) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct {
			key := join(prefix, f.Tag.Get("yaml"))
			out[key] = true
			for k := range collectSections(f.Type, key) {
				out[k] = true
			}
		}
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func lookupLeaf(key string) (Leaf, bool) {
	for _, l := range leaves {
		if l.Key == key {
			return l, true
		}
	}
	return Leaf{}, false
}

// set parses raw as the value of l and stores it in c. The problem it
// returns never contains raw.
func (l Leaf) set(c *Config, raw string) (problem string, ok bool) {
	v := reflect.ValueOf(c).Elem().FieldByIndex(l.index)
	if !l.Duration {
		v.SetString(raw)
		return "", true
	}
	d, err := time.ParseDuration(strings.TrimSpace(raw))
	if err != nil {
		return "not a duration: want a number with a unit, such as 30s or 5m", false
	}
	v.SetInt(int64(d))
	return "", true
}

// get returns the value of l in c as text.
func (l Leaf) get(c *Config) string {
	v := reflect.ValueOf(c).Elem().FieldByIndex(l.index)
	if l.Duration {
		return time.Duration(v.Int()).String()
	}
	return v.String()
}
