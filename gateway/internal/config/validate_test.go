package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	fabric := func(c *Config) { c.Ledger.Backend = BackendFabric }
	pkcs11 := func(c *Config) { c.Store.Keyring.Type = KeyringPKCS11 }
	tests := map[string]struct {
		change  func(*Config)
		key     string // "" when the change is valid
		problem string
	}{
		"the example is valid": {change: func(*Config) {}},
		"a missing MSP ID is named": {
			change: func(c *Config) { c.Org.MSPID = "" }, key: "org.mspId", problem: "required",
		},
		"an MSP ID with spaces is refused": {
			change: func(c *Config) { c.Org.MSPID = "Hospital A" }, key: "org.mspId", problem: "letters, digits",
		},
		"a gRPC address without a port is refused": {
			change: func(c *Config) { c.Listen.GRPC = "localhost" }, key: "listen.grpc", problem: "host:port",
		},
		"a REST port out of range is refused": {
			change: func(c *Config) { c.Listen.REST = "127.0.0.1:70000" }, key: "listen.rest", problem: "0 to 65535",
		},
		"a metrics address with a bad host is refused": {
			change: func(c *Config) { c.Listen.Metrics = "bad host!:9464" }, key: "listen.metrics", problem: "IP address or a DNS name",
		},
		"an empty listen host means every interface": {
			change: func(c *Config) { c.Listen.Metrics = ":9464" },
		},
		"port 0 picks a free port, even twice": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "127.0.0.1:0", "127.0.0.1:0" },
		},
		"an IPv6 listen address is accepted": {
			change: func(c *Config) { c.Listen.GRPC = "[::1]:7443" },
		},
		"two listeners on one port are refused": {
			change: func(c *Config) { c.Listen.REST = c.Listen.GRPC }, key: "listen.rest", problem: "same port as listen.grpc",
		},
		"a wildcard listener collides with a loopback one": {
			change: func(c *Config) { c.Listen.Metrics = "0.0.0.0:7080" }, key: "listen.metrics", problem: "same port as listen.rest",
		},
		"a port with a leading zero is the same port": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "127.0.0.1:7443", "127.0.0.1:07443" },
			key:    "listen.rest", problem: "same port as listen.grpc",
		},
		"a port with a leading zero is accepted as that port": {
			change: func(c *Config) { c.Listen.GRPC = "127.0.0.1:07443" },
		},
		"port 0 with a leading zero picks a free port, even twice": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "127.0.0.1:0", "127.0.0.1:00" },
		},
		"host names are compared without regard to case": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "gateway.example:7443", "Gateway.Example.:7443" },
			key:    "listen.rest", problem: "same port as listen.grpc",
		},
		"IP literals are compared as addresses": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "127.0.0.1:7443", "[::ffff:127.0.0.1]:7443" },
			key:    "listen.rest", problem: "same port as listen.grpc",
		},
		"IPv6 literals are compared as addresses": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "[::1]:7443", "[0:0::0:1]:7443" },
			key:    "listen.rest", problem: "same port as listen.grpc",
		},
		"any spelling of the unspecified address is a wildcard": {
			change: func(c *Config) { c.Listen.Metrics = "[0::0]:7080" }, key: "listen.metrics", problem: "same port as listen.rest",
		},
		"different hosts may share a port": {
			change: func(c *Config) { c.Listen.GRPC, c.Listen.REST = "127.0.0.1:7443", "127.0.0.2:7443" },
		},
		"a missing certificate is named": {
			change: func(c *Config) { c.TLS.CertFile = "" }, key: "tls.certFile", problem: "required: PEM certificate file for mTLS",
		},
		"a missing private key is named": {
			change: func(c *Config) { c.TLS.KeyFile = "" }, key: "tls.keyFile", problem: "required",
		},
		"a missing client CA is named": {
			change: func(c *Config) { c.TLS.ClientCAFile = " " }, key: "tls.clientCAFile", problem: "required",
		},
		"a path with a NUL byte is refused": {
			change: func(c *Config) { c.TLS.CertFile = "a\x00b" }, key: "tls.certFile", problem: "NUL",
		},
		"a missing wallet is named": {
			change: func(c *Config) { c.Wallet.Dir = "" }, key: "wallet.dir", problem: "Fabric MSP layout",
		},
		"an unknown backend is named": {
			change: func(c *Config) { c.Ledger.Backend = "besu" }, key: "ledger.backend", problem: "one of embedded, fabric",
		},
		"the embedded backend needs a directory": {
			change: func(c *Config) { c.Ledger.Embedded.Dir = "" }, key: "ledger.embedded.dir", problem: "required",
		},
		"Fabric settings are ignored with the embedded backend": {
			change: func(c *Config) { c.Ledger.Fabric = FabricLedger{} },
		},
		"the embedded directory is ignored with the Fabric backend": {
			change: func(c *Config) { fabric(c); c.Ledger.Embedded.Dir = "" },
		},
		"the Fabric backend needs a peer endpoint": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.PeerEndpoint = "" }, key: "ledger.fabric.peerEndpoint", problem: "required",
		},
		"a peer endpoint needs a host": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.PeerEndpoint = ":7051" }, key: "ledger.fabric.peerEndpoint", problem: "host required",
		},
		"a peer endpoint cannot use port 0": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.PeerEndpoint = "peer:0" }, key: "ledger.fabric.peerEndpoint", problem: "1 to 65535",
		},
		"the Fabric backend needs the peer's TLS CA": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.PeerTLSCAFile = "" }, key: "ledger.fabric.peerTLSCAFile", problem: "required",
		},
		"the Fabric backend needs a channel": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.Channel = "" }, key: "ledger.fabric.channel", problem: "required",
		},
		"a channel name in capitals is refused": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.Channel = "MedProv" }, key: "ledger.fabric.channel", problem: "channel name",
		},
		"the Fabric backend needs a chaincode": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.Chaincode = "" }, key: "ledger.fabric.chaincode", problem: "required",
		},
		"a chaincode name with a double dash is refused": {
			change: func(c *Config) { fabric(c); c.Ledger.Fabric.Chaincode = "med--prov" }, key: "ledger.fabric.chaincode", problem: "chaincode name",
		},
		"a missing store directory is named": {
			change: func(c *Config) { c.Store.Dir = "" }, key: "store.dir", problem: "required",
		},
		"an unknown keyring type is named": {
			change: func(c *Config) { c.Store.Keyring.Type = "vault" }, key: "store.keyring.type", problem: "one of file, pkcs11",
		},
		"the file keyring needs a directory": {
			change: func(c *Config) { c.Store.Keyring.File.Dir = "" }, key: "store.keyring.file.dir", problem: "required",
		},
		"keys next to the ciphertext are refused": {
			change: func(c *Config) { c.Store.Keyring.File.Dir = c.Store.Dir + "/" }, key: "store.keyring.file.dir", problem: "must not be store.dir",
		},
		"keys inside the store directory are refused": {
			change: func(c *Config) {
				c.Store.Dir, c.Store.Keyring.File.Dir = "/srv/medprov/store", "/srv/medprov/store/keys"
			},
			key: "store.keyring.file.dir", problem: "inside it",
		},
		"keys inside the store directory by a roundabout name are refused": {
			change: func(c *Config) {
				c.Store.Dir, c.Store.Keyring.File.Dir = "/srv/medprov/store/", "/srv/medprov/other/../store/./keys"
			},
			key: "store.keyring.file.dir", problem: "inside it",
		},
		"a store inside the keyring directory is refused": {
			change: func(c *Config) {
				c.Store.Dir, c.Store.Keyring.File.Dir = "/srv/medprov/keys/store", "/srv/medprov/keys"
			},
			key: "store.keyring.file.dir", problem: "nor contain it",
		},
		"a relative keyring inside an absolute store is refused": {
			change: func(c *Config) {
				wd, err := os.Getwd()
				if err != nil {
					t.Fatal(err)
				}
				c.Store.Dir, c.Store.Keyring.File.Dir = wd, "keys"
			},
			key: "store.keyring.file.dir", problem: "inside it",
		},
		"a keyring that only shares a name prefix with the store is accepted": {
			change: func(c *Config) {
				c.Store.Dir, c.Store.Keyring.File.Dir = "/srv/medprov/store", "/srv/medprov/store-keys"
			},
		},
		"a keyring beside the store is accepted": {
			change: func(c *Config) { c.Store.Dir, c.Store.Keyring.File.Dir = "/srv/medprov/store", "/srv/medprov/keys" },
		},
		"PKCS#11 settings are ignored with the file keyring": {
			change: func(c *Config) { c.Store.Keyring.PKCS11 = PKCS11Keyring{} },
		},
		"the PKCS#11 keyring needs a module": {
			change: func(c *Config) { pkcs11(c); c.Store.Keyring.PKCS11.Module = "" }, key: "store.keyring.pkcs11.module", problem: "required",
		},
		"the PKCS#11 keyring needs a token label": {
			change: func(c *Config) { pkcs11(c); c.Store.Keyring.PKCS11.TokenLabel = "" }, key: "store.keyring.pkcs11.tokenLabel", problem: "required",
		},
		"a token label longer than 32 bytes is refused": {
			change: func(c *Config) { pkcs11(c); c.Store.Keyring.PKCS11.TokenLabel = strings.Repeat("t", 33) }, key: "store.keyring.pkcs11.tokenLabel", problem: "at most 32 bytes",
		},
		"the PKCS#11 keyring needs the PIN variable's name": {
			change: func(c *Config) { pkcs11(c); c.Store.Keyring.PKCS11.PINEnv = "" }, key: "store.keyring.pkcs11.pinEnv", problem: "NAME of the environment variable",
		},
		"a PIN in place of the variable's name is refused": {
			change: func(c *Config) { pkcs11(c); c.Store.Keyring.PKCS11.PINEnv = "1234" }, key: "store.keyring.pkcs11.pinEnv", problem: "never the PIN itself",
		},
		"a commit timeout under a second is refused": {
			change: func(c *Config) { c.Ledger.CommitTimeout = 500 * time.Millisecond }, key: "ledger.commitTimeout", problem: "between 1s and 10m",
		},
		"a commit timeout over ten minutes is refused": {
			change: func(c *Config) { c.Ledger.CommitTimeout = 11 * time.Minute }, key: "ledger.commitTimeout", problem: "between 1s and 10m",
		},
		"a zero access ticket TTL is refused": {
			change: func(c *Config) { c.Exchange.AccessTicketTTL = 0 }, key: "exchange.accessTicketTTL", problem: "between 1s and 24h",
		},
		"an access ticket TTL over a day is refused": {
			change: func(c *Config) { c.Exchange.AccessTicketTTL = 25 * time.Hour }, key: "exchange.accessTicketTTL", problem: "between 1s and 24h",
		},
		"a negative exchange timeout is refused": {
			change: func(c *Config) { c.Exchange.Timeout = -time.Second }, key: "exchange.timeout", problem: "between 1s and 24h",
		},
		"a sub-second reconciler interval is refused": {
			change: func(c *Config) { c.Reconciler.Interval = time.Millisecond }, key: "reconciler.interval", problem: "between 1s and 24h",
		},
		"an event checkpoint file naming a directory is refused": {
			change: func(c *Config) { c.Events.CheckpointFile = "/var/lib/medprov/" }, key: "events.checkpointFile", problem: "must name a file",
		},
		"an event checkpoint file with a NUL byte is refused": {
			change: func(c *Config) { c.Events.CheckpointFile = "cp\x00.json" }, key: "events.checkpointFile", problem: "NUL",
		},
		"an unknown log level is named": {
			change: func(c *Config) { c.Log.Level = "INFO" }, key: "log.level", problem: "one of debug, info, warn, error",
		},
		"an unknown log format is named": {
			change: func(c *Config) { c.Log.Format = "logfmt" }, key: "log.format", problem: "one of json, text",
		},
		"a shutdown grace over an hour is refused": {
			change: func(c *Config) { c.Shutdown.Grace = 2 * time.Hour }, key: "shutdown.grace", problem: "between 1s and 1h",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := example(t)
			tc.change(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			assertKeys(t, err, tc.key)
			if !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("error %q does not say %q", err, tc.problem)
			}
		})
	}
}

func TestValidateReportsEveryProblemInKeyOrderWithoutValues(t *testing.T) {
	c := example(t)
	c.Shutdown.Grace = 0
	c.Org.MSPID = "secret value"
	c.Log.Level = "secret-level"
	c.Ledger.Backend = BackendFabric
	c.Ledger.Fabric.Channel = "SECRET"
	err := c.Validate()
	assertKeys(t, err, "org.mspId", "ledger.fabric.channel", "log.level", "shutdown.grace")
	if strings.Contains(strings.ToLower(err.Error()), "secret") {
		t.Errorf("error echoes a value: %v", err)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.pem")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	good := func() Config {
		c := example(t)
		c.TLS = TLS{CertFile: file, KeyFile: file, ClientCAFile: file}
		c.Wallet.Dir = dir
		c.Ledger.Embedded.Dir = missing
		c.Store.Dir = missing
		c.Store.Keyring.File.Dir = dir
		return c
	}
	tests := map[string]struct {
		change func(*Config)
		keys   []string
	}{
		"existing files and directories pass": {change: func(*Config) {}},
		"a missing certificate is named": {
			change: func(c *Config) { c.TLS.CertFile = missing }, keys: []string{"tls.certFile"},
		},
		"a directory as client CA file is named": {
			change: func(c *Config) { c.TLS.ClientCAFile = dir }, keys: []string{"tls.clientCAFile"},
		},
		"a missing wallet is named": {
			change: func(c *Config) { c.Wallet.Dir = missing }, keys: []string{"wallet.dir"},
		},
		"a file as store directory is named": {
			change: func(c *Config) { c.Store.Dir = file }, keys: []string{"store.dir"},
		},
		"a missing event checkpoint file passes": {
			change: func(c *Config) { c.Events.CheckpointFile = filepath.Join(missing, "cp.json") },
		},
		"a directory as event checkpoint file is named": {
			change: func(c *Config) { c.Events.CheckpointFile = dir }, keys: []string{"events.checkpointFile"},
		},
		"a missing PKCS#11 module is named": {
			change: func(c *Config) {
				c.Store.Keyring.Type = KeyringPKCS11
				c.Store.Keyring.PKCS11.Module = missing
			},
			keys: []string{"store.keyring.pkcs11.module"},
		},
		"a missing peer TLS CA is named": {
			change: func(c *Config) {
				c.Ledger.Backend = BackendFabric
				c.Ledger.Fabric.PeerTLSCAFile = missing
			},
			keys: []string{"ledger.fabric.peerTLSCAFile"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			assertKeys(t, c.CheckFiles(), tc.keys...)
		})
	}
}

func TestEventCheckpointFile(t *testing.T) {
	tests := map[string]struct {
		set, want string
	}{
		"the default is in store.dir": {"", filepath.Join("/srv/store", DefaultCheckpointFileName)},
		"a configured file is used":   {"/srv/cp.json", "/srv/cp.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Defaults()
			c.Store.Dir = "/srv/store"
			c.Events.CheckpointFile = tc.set
			if got := c.EventCheckpointFile(); got != tc.want {
				t.Errorf("EventCheckpointFile = %q, want %q", got, tc.want)
			}
		})
	}
}
