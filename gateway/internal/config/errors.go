package config

import "fmt"

// KeyError is one problem with one configuration key. Load and Validate
// return KeyErrors (joined with errors.Join when there are several); use
// errors.As, or Keys for all of them. The message never contains the
// offending value.
type KeyError struct {
	// Key is the key path, e.g. "tls.certFile". An unknown key from a file
	// or flag is shown as written, quoted if it is not a plain identifier.
	Key string
	// Problem says what is wrong and what is expected.
	Problem string
	// Source says where the value came from, e.g. "gateway.yaml:12",
	// "MEDPROV_LISTEN_GRPC" or "--set"; empty for Validate, which checks the
	// merged result.
	Source string
}

// Error renders the problem as "key: problem (source)".
func (e *KeyError) Error() string {
	if e.Source == "" {
		return e.Key + ": " + e.Problem
	}
	return fmt.Sprintf("%s: %s (%s)", e.Key, e.Problem, e.Source)
}

// SyntaxError reports a configuration file that cannot be read as a
// configuration at all: malformed YAML, more than one document, or a top
// level that is not a mapping. It carries no text of the file.
type SyntaxError struct {
	// File is the file name as given to Load.
	File string
	// Line is the 1-based line of the problem, or 0 when unknown.
	Line int
	// Problem describes the problem.
	Problem string
}

// Error renders the problem as "config file F: line N: problem".
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config file %s: line %d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("config file %s: %s", e.File, e.Problem)
}

// Keys returns the key paths of every *KeyError in err, in order, looking
// through errors.Join and %w wrapping. It returns nil for nil.
func Keys(err error) []string {
	var keys []string
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		switch u := err.(type) {
		case *KeyError:
			keys = append(keys, u.Key)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return keys
}
