package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaults(t *testing.T) {
	tests := map[string]struct {
		key, want string
	}{
		"gRPC listens on loopback 7443":           {"listen.grpc", "127.0.0.1:7443"},
		"REST listens on loopback 7080":           {"listen.rest", "127.0.0.1:7080"},
		"metrics listen on loopback 9464":         {"listen.metrics", "127.0.0.1:9464"},
		"the ledger is embedded":                  {"ledger.backend", "embedded"},
		"a commit is waited for 10 seconds":       {"ledger.commitTimeout", "10s"},
		"the Fabric channel is medprov":           {"ledger.fabric.channel", "medprov"},
		"the Fabric chaincode is medprov":         {"ledger.fabric.chaincode", "medprov"},
		"the keyring is a file keyring":           {"store.keyring.type", "file"},
		"an access ticket lives five minutes":     {"exchange.accessTicketTTL", "5m0s"},
		"an exchange call times out in 5 minutes": {"exchange.timeout", "5m0s"},
		"the reconciler runs every 30 seconds":    {"reconciler.interval", "30s"},
		"the log level is info":                   {"log.level", "info"},
		"logs are JSON":                           {"log.format", "json"},
		"shutdown grace is 30 seconds":            {"shutdown.grace", "30s"},
		"there is no default organisation":        {"org.mspId", ""},
		"there is no default certificate":         {"tls.certFile", ""},
		"there is no default store directory":     {"store.dir", ""},
		"there is no default PIN variable":        {"store.keyring.pkcs11.pinEnv", ""},
	}
	d := Defaults()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l, ok := lookupLeaf(tc.key)
			if !ok {
				t.Fatalf("no leaf %s", tc.key)
			}
			if got := l.get(&d); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestDefaultsNeedOnlyTheKeysWithoutDefaults(t *testing.T) {
	err := Defaults().Validate()
	assertKeys(t, err, "org.mspId", "tls.certFile", "tls.keyFile", "tls.clientCAFile",
		"wallet.dir", "ledger.embedded.dir", "store.dir", "store.keyring.file.dir")
}

func TestExampleFileIsValidAndSetsEveryKey(t *testing.T) {
	c := example(t)
	if c.Org.MSPID != "HospitalAMSP" || c.Exchange.AccessTicketTTL != 5*time.Minute {
		t.Errorf("example not applied: %+v", c)
	}
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := join(prefix, n.Content[i].Value)
			present[key] = true
			walk(n.Content[i+1], key)
		}
	}
	walk(doc.Content[0], "")
	for _, l := range Leaves() {
		if !present[l.Key] {
			t.Errorf("%s is missing from %s", l.Key, exampleFile)
		}
	}
}

func TestLeavesHaveOneEnvironmentVariableEach(t *testing.T) {
	seen := map[string]string{}
	for _, l := range Leaves() {
		if prev, dup := seen[l.Env]; dup {
			t.Errorf("%s and %s share %s", prev, l.Key, l.Env)
		}
		seen[l.Env] = l.Key
		// MEDPROV_ + the key path upper-cased, words split by '_'.
		want := strings.ToUpper(strings.ReplaceAll(l.Key, ".", ""))
		if got := strings.ReplaceAll(strings.TrimPrefix(l.Env, EnvPrefix), "_", ""); got != want || !strings.HasPrefix(l.Env, EnvPrefix) {
			t.Errorf("%s: env %s does not spell the key path", l.Key, l.Env)
		}
	}
	if len(seen) != 29 {
		t.Errorf("%d leaves, want 29: update docs/gateway-config.md and the example with new keys", len(seen))
	}
}

func TestReferenceDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../../docs/gateway-config.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, l := range Leaves() {
		if !strings.Contains(doc, "`"+l.Key+"`") || !strings.Contains(doc, "`"+l.Env+"`") {
			t.Errorf("docs/gateway-config.md does not document %s (%s)", l.Key, l.Env)
		}
	}
}

func TestLogValue(t *testing.T) {
	c := example(t)
	c.Store.Keyring.Type = KeyringPKCS11
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	var got struct {
		Config map[string]map[string]any `json:"config"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	tests := map[string]struct {
		section, key string
		want         any
	}{
		"the organisation is shown":         {"org", "mspId", "HospitalAMSP"},
		"addresses are shown":               {"listen", "grpc", "127.0.0.1:7443"},
		"durations are shown as text":       {"exchange", "accessTicketTTL", "5m0s"},
		"the log level is shown":            {"log", "level", "info"},
		"the wallet directory is shown":     {"wallet", "dir", "/var/lib/medprov/wallet"},
		"the shutdown grace is shown":       {"shutdown", "grace", "30s"},
		"the reconciler interval is shown":  {"reconciler", "interval", "30s"},
		"the TLS key path (not key) is one": {"tls", "keyFile", "/etc/medprov/tls/gateway.key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := got.Config[tc.section][tc.key]; got != tc.want {
				t.Errorf("%s.%s = %v, want %v", tc.section, tc.key, got, tc.want)
			}
		})
	}
	pkcs11 := got.Config["store"]["keyring"].(map[string]any)["pkcs11"].(map[string]any)
	if pkcs11["pinEnv"] != "MEDPROV_PKCS11_PIN" {
		t.Errorf("pinEnv = %v, want the variable's name", pkcs11["pinEnv"])
	}
	t.Setenv("MEDPROV_PKCS11_PIN", "1234-secret-pin")
	buf.Reset()
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), "1234-secret-pin") {
		t.Errorf("the PIN reached the log: %s", buf.String())
	}
}
