package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest configuration file Load reads.
const MaxFileSize = 1 << 20

// Usage is the help text for the command-line flags Load understands; main
// prints it when Load returns flag.ErrHelp.
const Usage = `Usage: medprov-gateway [--config FILE] [--set key.path=value]...

  --config FILE         YAML configuration file (see docs/gateway-config.md)
  --set key.path=value  override one key, e.g. --set listen.grpc=127.0.0.1:7443;
                        repeatable; wins over the file and MEDPROV_* variables
`

// Load returns the configuration of the gateway process: Defaults, then the
// YAML file, then environment variables (env, normally os.LookupEnv; nil for
// none), then the flags in args (normally os.Args[1:]), then Validate.
//
// path is the configuration file to read when args has no --config; "" means
// no file. args may contain only --config FILE and --set key.path=value
// (repeatable); -h or --help makes Load return flag.ErrHelp. Load reads the
// file but no file the configuration names (see CheckFiles).
//
// On failure Load returns the zero Config and every problem found, joined
// with errors.Join: *KeyError for a key (unknown, wrong type, bad value),
// *SyntaxError for a file that is not a YAML mapping, and plain errors for
// an unreadable file or a malformed command line. Problems with the sources
// are reported before Validate runs; Validate runs only when there are none.
func Load(path string, env func(string) (string, bool), args []string) (Config, error) {
	file, sets, err := parseArgs(args)
	if err != nil {
		return Config{}, err
	}
	if file != "" {
		path = file
	}
	var data []byte
	if path != "" {
		if data, err = readFile(path); err != nil {
			return Config{}, err
		}
	}
	return load(path, data, env, sets)
}

func load(name string, data []byte, env func(string) (string, bool), sets []string) (Config, error) {
	c := Defaults()
	if errs := apply(&c, name, data, env, sets); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// apply applies the file (when name is not empty), the environment and the
// --set values, in that order, to c and returns the problems found.
func apply(c *Config, name string, data []byte, env func(string) (string, bool), sets []string) []error {
	var errs []error
	if name != "" {
		errs = append(errs, decodeFile(c, name, data)...)
	}
	if env != nil {
		for _, l := range leaves {
			if raw, ok := env(l.Env); ok {
				if problem, ok := l.set(c, raw); !ok {
					errs = append(errs, &KeyError{Key: l.Key, Problem: problem, Source: l.Env})
				}
			}
		}
	}
	for _, s := range sets {
		key, raw, _ := strings.Cut(s, "=")
		l, ok := lookupLeaf(key)
		switch {
		case ok:
			if problem, ok := l.set(c, raw); !ok {
				errs = append(errs, &KeyError{Key: l.Key, Problem: problem, Source: "--set"})
			}
		case sections[key]:
			errs = append(errs, &KeyError{Key: key, Problem: "is a section, not a value: set one of its keys", Source: "--set"})
		default:
			errs = append(errs, &KeyError{Key: quoteKey(key), Problem: "unknown key", Source: "--set"})
		}
	}
	return errs
}

func parseArgs(args []string) (file string, sets []string, err error) {
	fs := flag.NewFlagSet("medprov-gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&file, "config", "", "YAML configuration file")
	fs.Func("set", "override one key: key.path=value", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want key.path=value")
		}
		sets = append(sets, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, err
		}
		return "", nil, fmt.Errorf("command line: %w", err)
	}
	if fs.NArg() > 0 {
		return "", nil, errors.New("command line: unexpected positional argument (only --config FILE and --set key.path=value are accepted)")
	}
	return file, sets, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config file %s: larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

// decodeFile applies the YAML document in data to c, strictly: every key
// must be a section or leaf of Config, every leaf a scalar of its type.
func decodeFile(c *Config, name string, data []byte) []error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: nothing to apply
		}
		return []error{yamlError(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return []error{yamlError(name, err)}
		}
		return []error{&SyntaxError{File: name, Line: extra.Line, Problem: "more than one YAML document; want one"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return []error{&SyntaxError{File: name, Line: root.Line, Problem: "the top level must be a mapping of sections, not " + kindName(root)}}
	}
	d := decoder{c: c, name: name}
	d.mapping(root, "")
	return d.errs
}

type decoder struct {
	c    *Config
	name string
	errs []error
}

func (d *decoder) fail(key string, n *yaml.Node, problem string) {
	d.errs = append(d.errs, &KeyError{Key: key, Problem: problem, Source: fmt.Sprintf("%s:%d", d.name, n.Line)})
}

func (d *decoder) mapping(n *yaml.Node, prefix string) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			if prefix == "" {
				d.errs = append(d.errs, &SyntaxError{File: d.name, Line: k.Line, Problem: "a key must be a plain string, not " + kindName(k)})
			} else {
				d.fail(prefix, k, "a key must be a plain string, not "+kindName(k))
			}
			continue
		}
		key := join(prefix, k.Value)
		if strings.Contains(k.Value, ".") {
			d.fail(quoteKey(key), k, "unknown key (nest sections as mappings; dotted keys are for --set)")
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.fail(quoteKey(key), k, "YAML merge keys are not supported")
			continue
		}
		if seen[k.Value] {
			d.fail(quoteKey(key), k, "duplicate key")
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			d.fail(quoteKey(key), v, "YAML aliases are not supported")
			continue
		}
		if sections[key] {
			switch {
			case v.Kind == yaml.MappingNode:
				d.mapping(v, key)
			case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
				// An empty section changes nothing.
			default:
				d.fail(key, v, "is a section: want a mapping of keys, not "+kindName(v))
			}
			continue
		}
		l, ok := lookupLeaf(key)
		if !ok {
			d.fail(quoteKey(key), k, "unknown key")
			continue
		}
		if problem := scalarProblem(l, v); problem != "" {
			d.fail(key, v, problem)
			continue
		}
		if problem, ok := l.set(d.c, v.Value); !ok {
			d.fail(key, v, problem)
		}
	}
}

// scalarProblem says why v cannot be the value of l, or returns "".
func scalarProblem(l Leaf, v *yaml.Node) string {
	want := "a string"
	if l.Duration {
		want = "a duration with a unit, such as 30s or 5m"
	}
	if v.Kind != yaml.ScalarNode {
		return "want " + want + ", not " + kindName(v)
	}
	switch v.ShortTag() {
	case "!!str":
		return ""
	case "!!null":
		return "has no value: want " + want + " (remove the key to keep the default)"
	case "!!int", "!!float":
		if l.Duration {
			return "want " + want + ", not a bare number"
		}
		return "want " + want + ", not a number (quote it)"
	case "!!bool":
		return "want " + want + ", not a boolean (quote it)"
	case "!!timestamp":
		return "want " + want + ", not a timestamp (quote it)"
	default:
		return "want " + want + ", not a value with an explicit YAML tag"
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a scalar"
	}
	return "a document"
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})*$`)

// quoteKey returns key as is when it is a plain dotted identifier, and
// quoted (and shortened) otherwise, so that odd keys cannot forge log lines.
func quoteKey(key string) string {
	if plainKey.MatchString(key) {
		return key
	}
	if len(key) > 64 {
		key = strings.ToValidUTF8(key[:64], "") + "…"
	}
	return strconv.Quote(key)
}

var (
	yamlLine   = regexp.MustCompile(`line (\d+)`)
	yamlQuoted = regexp.MustCompile("'[^']*'|\"[^\"]*\"|`[^`]*`")
)

// yamlError turns an error of the YAML parser into a *SyntaxError that
// keeps the line and the parser's description but no text of the file:
// anything the parser quotes is removed.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, m[0]), ": ")
	}
	msg = yamlQuoted.ReplaceAllString(msg, "(…)")
	return &SyntaxError{File: name, Line: line, Problem: "malformed YAML: " + msg}
}
