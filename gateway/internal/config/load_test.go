package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	const fileGRPC = "grpc: 127.0.0.1:1001"
	tests := map[string]struct {
		file string
		env  map[string]string
		args []string
		want string
	}{
		"the default applies when nothing sets the key": {
			want: "127.0.0.1:7443",
		},
		"the file overrides the default": {
			file: fileGRPC,
			want: "127.0.0.1:1001",
		},
		"the environment overrides the file": {
			file: fileGRPC,
			env:  map[string]string{"MEDPROV_LISTEN_GRPC": "127.0.0.1:1002"},
			want: "127.0.0.1:1002",
		},
		"a flag overrides the environment": {
			file: fileGRPC,
			env:  map[string]string{"MEDPROV_LISTEN_GRPC": "127.0.0.1:1002"},
			args: []string{"--set", "listen.grpc=127.0.0.1:1003"},
			want: "127.0.0.1:1003",
		},
		"the last of repeated flags wins": {
			args: []string{"--set=listen.grpc=127.0.0.1:1003", "-set", "listen.grpc=127.0.0.1:1004"},
			want: "127.0.0.1:1004",
		},
		"an unrelated variable changes nothing": {
			file: fileGRPC,
			env:  map[string]string{"MEDPROV_LISTEN_REST": "127.0.0.1:1005"},
			want: "127.0.0.1:1001",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// The example sets listen.grpc to its default; replace or drop it.
			path := writeFile(t, strings.Replace(readExample(t), "grpc: 127.0.0.1:7443", tc.file, 1))
			c, err := Load(path, envMap(tc.env), tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen.GRPC != tc.want {
				t.Errorf("listen.grpc = %q, want %q", c.Listen.GRPC, tc.want)
			}
		})
	}
}

func TestEveryLeafCanBeSetByEnvironmentAndFlag(t *testing.T) {
	for _, l := range Leaves() {
		t.Run(l.Key, func(t *testing.T) {
			value, want := "x-from-somewhere", "x-from-somewhere"
			if l.Duration {
				value, want = "17s", "17s"
			}
			sources := map[string]struct {
				env  map[string]string
				sets []string
			}{
				"environment": {env: map[string]string{l.Env: value}},
				"flag":        {sets: []string{l.Key + "=" + value}},
			}
			for name, src := range sources {
				c := Defaults()
				if errs := apply(&c, "", nil, envMap(src.env), src.sets); len(errs) > 0 {
					t.Fatalf("%s: %v", name, errs)
				}
				if got := l.get(&c); got != want {
					t.Errorf("%s: %s = %q, want %q", name, l.Key, got, want)
				}
			}
		})
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	tests := map[string]struct {
		yaml string
		keys []string
	}{
		"an unknown nested key is named by its path": {
			yaml: "store:\n  keyring:\n    typo: x\n",
			keys: []string{"store.keyring.typo"},
		},
		"an unknown section is named": {
			yaml: "database:\n  dir: x\n",
			keys: []string{"database"},
		},
		"a number for an address names the key": {
			yaml: "listen:\n  grpc: 5\n",
			keys: []string{"listen.grpc"},
		},
		"a boolean for a string names the key": {
			yaml: "log:\n  level: true\n",
			keys: []string{"log.level"},
		},
		"a bare number for a duration names the key": {
			yaml: "reconciler:\n  interval: 30\n",
			keys: []string{"reconciler.interval"},
		},
		"a duration without a unit in quotes names the key": {
			yaml: "shutdown:\n  grace: \"30\"\n",
			keys: []string{"shutdown.grace"},
		},
		"a mapping for a value names the key": {
			yaml: "wallet:\n  dir:\n    path: x\n",
			keys: []string{"wallet.dir"},
		},
		"a sequence for a section names the section": {
			yaml: "listen: [a, b]\n",
			keys: []string{"listen"},
		},
		"a value for a section names the section": {
			yaml: "tls: /etc/tls\n",
			keys: []string{"tls"},
		},
		"an empty value names the key": {
			yaml: "org:\n  mspId:\n",
			keys: []string{"org.mspId"},
		},
		"a duplicate key is named": {
			yaml: "log:\n  level: info\n  level: debug\n",
			keys: []string{"log.level"},
		},
		"an alias is refused": {
			yaml: "tls:\n  certFile: &c /a\n  keyFile: *c\n",
			keys: []string{"tls.keyFile"},
		},
		"a merge key is refused": {
			yaml: "listen:\n  <<: {grpc: a}\n",
			keys: []string{`"listen.<<"`},
		},
		"a dotted key in the file is unknown": {
			yaml: "listen.grpc: 127.0.0.1:1\n",
			keys: []string{"listen.grpc"},
		},
		"an odd key is quoted": {
			yaml: "log:\n  \"a b\": x\n",
			keys: []string{`"log.a b"`},
		},
		"every problem is reported in document order": {
			yaml: "zzz: 1\nlisten:\n  grpc: 5\nlog:\n  format: [json]\n",
			keys: []string{"zzz", "listen.grpc", "log.format"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.yaml), nil, nil)
			assertKeys(t, err, tc.keys...)
			var ke *KeyError
			if !errors.As(err, &ke) || !strings.Contains(ke.Source, ".yaml:") {
				t.Errorf("error has no file:line source: %v", err)
			}
		})
	}
}

func TestLoadRejectsFilesThatAreNotAConfiguration(t *testing.T) {
	tests := map[string]struct {
		yaml string
		line int
	}{
		"malformed YAML gives its line": {yaml: "org:\n  mspId: a\n b: c\n", line: 2},
		"a second document is refused":  {yaml: "org: {}\n---\nlog: {}\n", line: 2},
		"a top-level list is refused":   {yaml: "- a\n- b\n", line: 1},
		"a top-level string is refused": {yaml: "hello\n", line: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.yaml), nil, nil)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", se.Line, tc.line, err)
			}
		})
	}
}

func TestLoadTreatsAnEmptyFileAsNoSettings(t *testing.T) {
	for name, content := range map[string]string{"empty": "", "only a comment": "# nothing\n", "null": "~\n"} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeFile(t, content), nil, nil)
			// Only the keys without defaults are missing.
			if got := Keys(err); len(got) != 8 || got[0] != "org.mspId" {
				t.Errorf("keys = %q", got)
			}
		})
	}
}

func TestLoadRejectsBadEnvironmentAndFlags(t *testing.T) {
	tests := map[string]struct {
		env    map[string]string
		args   []string
		keys   []string
		source string
	}{
		"a bad duration in the environment names key and variable": {
			env:    map[string]string{"MEDPROV_EXCHANGE_TIMEOUT": "soon"},
			keys:   []string{"exchange.timeout"},
			source: "MEDPROV_EXCHANGE_TIMEOUT",
		},
		"a bad duration in a flag names the key": {
			args:   []string{"--set", "shutdown.grace=forever"},
			keys:   []string{"shutdown.grace"},
			source: "--set",
		},
		"an unknown key in a flag is named": {
			args:   []string{"--set", "store.keyring.typo=x"},
			keys:   []string{"store.keyring.typo"},
			source: "--set",
		},
		"a section in a flag is named": {
			args:   []string{"--set", "listen=x"},
			keys:   []string{"listen"},
			source: "--set",
		},
		"an invalid value from a flag fails validation": {
			args: []string{"--set", "log.level=loud"},
			keys: []string{"log.level"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(exampleFile, envMap(tc.env), tc.args)
			assertKeys(t, err, tc.keys...)
			var ke *KeyError
			if errors.As(err, &ke) && ke.Source != tc.source {
				t.Errorf("source = %q, want %q", ke.Source, tc.source)
			}
		})
	}
}

func TestLoadCommandLine(t *testing.T) {
	tests := map[string]struct {
		path    string
		args    []string
		wantErr string
		isHelp  bool
		want    time.Duration
	}{
		"--config overrides the default path": {path: "does-not-exist.yaml", args: []string{"--config", exampleFile}, want: 30 * time.Second},
		"the path is used without --config":   {path: exampleFile, want: 30 * time.Second},
		"--help returns flag.ErrHelp":         {args: []string{"--help"}, isHelp: true},
		"an unknown flag is an error":         {args: []string{"--verbose"}, wantErr: "command line"},
		"--set needs an equals sign":          {args: []string{"--set", "log.level"}, wantErr: "key.path=value"},
		"a positional argument is an error":   {path: exampleFile, args: []string{"secret"}, wantErr: "positional"},
		"a missing file is an error":          {path: filepath.Join(t.TempDir(), "none.yaml"), wantErr: "config file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Load(tc.path, nil, tc.args)
			switch {
			case tc.isHelp:
				if !errors.Is(err, flag.ErrHelp) {
					t.Fatalf("err = %v, want flag.ErrHelp", err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error echoes the argument: %v", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if c.Reconciler.Interval != tc.want {
					t.Errorf("reconciler.interval = %v, want %v", c.Reconciler.Interval, tc.want)
				}
			}
		})
	}
}

func TestLoadRefusesAHugeFile(t *testing.T) {
	path := writeFile(t, "# "+strings.Repeat("x", MaxFileSize)+"\n")
	if _, err := Load(path, nil, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}

func readExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
