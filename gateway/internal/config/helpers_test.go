package config

import (
	"slices"
	"testing"
)

const exampleFile = "testdata/gateway.example.yaml"

// example returns the committed example configuration, which is valid.
func example(t testing.TB) Config {
	t.Helper()
	c, err := Load(exampleFile, nil, nil)
	if err != nil {
		t.Fatalf("Load(%s): %v", exampleFile, err)
	}
	return c
}

// envMap is an env lookup function over a map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// assertKeyError checks that err holds a *KeyError for every key in want,
// in order, and no other.
func assertKeys(t *testing.T, err error, want ...string) {
	t.Helper()
	if got := Keys(err); !slices.Equal(got, want) {
		t.Fatalf("error keys = %q, want %q; error:\n%v", got, want, err)
	}
}
