package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad feeds arbitrary bytes to the configuration file decoder, alone
// and on top of the example (as Load would see a file). Properties: it never
// panics; an accepted configuration passes Validate; every problem is a
// *KeyError naming a key path or a *SyntaxError; and no message repeats a
// value of the file.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"",
		"~",
		"listen:\n  grpc: 5\n",
		"store:\n  keyring:\n    typo: hunter2-secret\n",
		"tls:\n  certFile: &a x\n  keyFile: *a\n",
		"listen:\n  <<: {grpc: a}\n",
		"log: {level: [debug], format: {a: b}}\n",
		"org: {}\n---\norg: {}\n",
		"reconciler:\n  interval: 30\n",
		"exchange:\n  timeout: \"-5m\"\n",
		"\"a.b\": 1\n",
		"- 1\n",
		"org:\n  mspId: !!binary aGVsbG8=\n",
		"{[.]: 1}",
		"a: *b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, input := range [][]byte{data, append(append([]byte(nil), example...), data...)} {
			c, err := load("fuzz.yaml", input, nil, nil)
			if err == nil {
				if verr := c.Validate(); verr != nil {
					t.Fatalf("accepted a configuration that fails Validate: %v", verr)
				}
				continue
			}
			checkErrors(t, err)
			checkNoValueEchoed(t, input, err)
		}
	})
}

// checkErrors requires every joined error to be a *KeyError with a key or a
// *SyntaxError.
func checkErrors(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ke *KeyError
		var se *SyntaxError
		switch {
		case errors.As(e, &ke):
			if ke.Key == "" || !strings.HasPrefix(e.Error(), ke.Key+": ") {
				t.Fatalf("error names no key path: %q", e)
			}
		case errors.As(e, &se):
		default:
			t.Fatalf("error %T is neither *KeyError nor *SyntaxError: %v", e, e)
		}
	}
}

// checkNoValueEchoed requires that no scalar value of the file (as opposed
// to a key) appears in the message, unless it is also a key or a word of
// the messages themselves.
func checkNoValueEchoed(t *testing.T, input []byte, err error) {
	t.Helper()
	var doc yaml.Node
	if yaml.Unmarshal(input, &doc) != nil {
		return // not YAML: SyntaxError, checked to carry no quoted text
	}
	keys := map[string]bool{}
	var values []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				keys[n.Content[i].Value] = true
				walk(n.Content[i])
				walk(n.Content[i+1])
			}
		case yaml.ScalarNode:
			values = append(values, n.Value)
		default:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(&doc)
	msg := err.Error()
	for _, v := range values {
		if len(v) < 6 || keys[v] || strings.Contains(fixedText, v) {
			continue
		}
		for k := range keys {
			if strings.Contains(k, v) {
				goto next
			}
		}
		if strings.Contains(msg, v) {
			t.Fatalf("error echoes the value %q: %v", v, err)
		}
	next:
	}
}

// fixedText is every text an error can contain that does not come from the
// file: what a value may coincide with without being echoed.
var fixedText = func() string {
	var b strings.Builder
	for _, l := range leaves {
		b.WriteString(l.Key + " " + l.Env + " ")
	}
	b.WriteString("fuzz.yaml config file line malformed YAML ")
	// The problems Validate and the decoder can report.
	if err := (Config{}).Validate(); err != nil {
		b.WriteString(err.Error())
	}
	b.WriteString(" want a string a duration with a unit, such as 30s or 5m not a bare number not a number (quote it) " +
		"not a boolean not a timestamp not a value with an explicit YAML tag has no value (remove the key to keep the default) " +
		"is a section: want a mapping of keys a mapping a sequence an alias null a scalar unknown key duplicate key " +
		"YAML aliases are not supported YAML merge keys are not supported nest sections as mappings; dotted keys are for --set " +
		"not a duration: want a number with a unit " +
		"must be host:port with a numeric port, e.g. 127.0.0.1:7443 port must be a number from 0 to 65535 from 1 " +
		"host must be an IP address or a DNS name must not use the same port as must not contain a NUL byte " +
		"must be a duration between 1s and 24h 1h must be one of " + strings.Join(LogLevels, ", ") + " " + strings.Join(LogFormats, ", ") +
		" must differ from store.dir: keys kept with the ciphertext defeat erasure and backups " +
		"the top level must be a mapping of sections, not more than one YAML document; want one a key must be a plain string")
	return b.String()
}()
