// Package config is the configuration of the hospital gateway daemon,
// medprov-gateway: one Config value with defaults, loaded once by main from
// a YAML file, the environment and the command line, and checked by
// Validate. Every other gateway package receives a Config (or the section it
// needs) from main and never reads files, environment variables or flags
// itself.
//
// # Sources and precedence
//
// Load applies, in order, each overriding the one before:
//
//  1. Defaults();
//  2. the YAML file (strict: unknown keys, wrong types, aliases and
//     duplicate keys are errors naming the key path);
//  3. environment variables MEDPROV_<KEY PATH>, one per leaf key, e.g.
//     MEDPROV_LISTEN_GRPC for listen.grpc (Leaves lists them all);
//  4. command-line flags --set key.path=value (repeatable).
//
// So flags > environment > file > defaults. Load owns the daemon's command
// line: main passes os.Args[1:], and Load understands --config FILE (the
// YAML file; it overrides Load's path argument) and --set.
//
// # Errors
//
// Every problem is reported as a *KeyError naming the key path (for example
// "tls.certFile: required: PEM certificate file for mTLS") or, for a file
// that is not YAML at all, a *SyntaxError. Load and Validate collect all
// problems and return them joined with errors.Join in a stable order; Keys
// lists the key paths of a joined error. Messages never repeat the offending
// value, so a secret pasted into the wrong key does not reach a log.
//
// # Files
//
// Load and Validate do not look at the files and directories the
// configuration names: Validate is a pure function of the Config. CheckFiles
// is the separate, explicit file-system check that main runs at start-up; it
// reports a missing or wrong-kind path with the key that names it. Relative
// paths are relative to the process's working directory, not to the file.
//
// The package must not import any other gateway package: it describes the
// gateway, it does not build any part of it.
package config
