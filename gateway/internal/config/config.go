package config

import (
	"path/filepath"
	"time"
)

// Config is the whole configuration of one medprov-gateway process. The yaml
// tag of each field is its key in the YAML file; the env tag of each leaf is
// its environment variable without the "MEDPROV_" prefix. A Config is a
// plain value: copy it freely, and call Validate after changing it.
type Config struct {
	Org        Org        `yaml:"org"`
	Listen     Listen     `yaml:"listen"`
	TLS        TLS        `yaml:"tls"`
	Wallet     Wallet     `yaml:"wallet"`
	Ledger     Ledger     `yaml:"ledger"`
	Store      Store      `yaml:"store"`
	Exchange   Exchange   `yaml:"exchange"`
	Reconciler Reconciler `yaml:"reconciler"`
	Events     Events     `yaml:"events"`
	Log        Log        `yaml:"log"`
	Shutdown   Shutdown   `yaml:"shutdown"`
}

// Org identifies the hospital this gateway serves.
type Org struct {
	// MSPID is the organisation's Fabric MSP ID, e.g. "HospitalAMSP".
	// Required.
	MSPID string `yaml:"mspId" env:"ORG_MSP_ID"`
}

// Listen holds the listening addresses, each host:port. Every port serves
// mTLS only. An empty host listens on all interfaces; port 0 picks a free
// port (for tests). The three addresses must differ.
type Listen struct {
	// GRPC is the gRPC API; default 127.0.0.1:7443.
	GRPC string `yaml:"grpc" env:"LISTEN_GRPC"`
	// REST is the REST/JSON gateway to the same API; default 127.0.0.1:7080.
	REST string `yaml:"rest" env:"LISTEN_REST"`
	// Metrics serves Prometheus /metrics; default 127.0.0.1:9464.
	Metrics string `yaml:"metrics" env:"LISTEN_METRICS"`
}

// TLS names the PEM files of the gateway's server identity and of the CA
// that issues client certificates. All three are required.
type TLS struct {
	// CertFile is the gateway's PEM certificate (chain), served on every port.
	CertFile string `yaml:"certFile" env:"TLS_CERT_FILE"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"keyFile" env:"TLS_KEY_FILE"`
	// ClientCAFile holds the PEM CA certificates that client certificates
	// must chain to (the organisation's CA, and the CAs of peer gateways).
	ClientCAFile string `yaml:"clientCAFile" env:"TLS_CLIENT_CA_FILE"`
}

// Wallet locates the enrolled identities the gateway submits transactions as.
type Wallet struct {
	// Dir holds one directory per identity, named after it, each holding
	// the identity in Fabric's MSP layout under msp/ (signcerts/,
	// keystore/, cacerts/). Required.
	Dir string `yaml:"dir" env:"WALLET_DIR"`
	// ServiceIdentity names the wallet identity the gateway acts as for
	// its own work: checking access tickets, reading the directory and
	// answering patients' own queries. It must be a records officer with
	// clearance V; default "gateway".
	ServiceIdentity string `yaml:"serviceIdentity" env:"WALLET_SERVICE_IDENTITY"`
}

// Ledger backends.
const (
	BackendEmbedded = "embedded"
	BackendFabric   = "fabric"
)

// Ledger selects and configures the ledger client. Only the section of the
// selected backend is validated.
type Ledger struct {
	// Backend is "embedded" (in-process, one machine) or "fabric"; default
	// "embedded".
	Backend string `yaml:"backend" env:"LEDGER_BACKEND"`
	// CommitTimeout bounds the wait for one transaction's commit; when it
	// passes, the gateway looks the transaction up and sends the same
	// signed transaction again (a copy that was ordered already is
	// rejected as a duplicate), so a transaction an orderer lost (a Raft
	// leader that stopped) does not hold the call until the caller gives
	// up. Default 10s.
	CommitTimeout time.Duration  `yaml:"commitTimeout" env:"LEDGER_COMMIT_TIMEOUT"`
	Embedded      EmbeddedLedger `yaml:"embedded"`
	Fabric        FabricLedger   `yaml:"fabric"`
}

// EmbeddedLedger configures the in-process ledger.
type EmbeddedLedger struct {
	// Dir is the ledger's data directory. Required with backend "embedded".
	Dir string `yaml:"dir" env:"LEDGER_EMBEDDED_DIR"`
}

// FabricLedger configures the connection to a Fabric peer's Gateway service.
// All fields are required with backend "fabric".
type FabricLedger struct {
	// PeerEndpoint is the peer's host:port.
	PeerEndpoint string `yaml:"peerEndpoint" env:"LEDGER_FABRIC_PEER_ENDPOINT"`
	// PeerTLSCAFile is the PEM CA certificate of the peer's TLS server
	// certificate.
	PeerTLSCAFile string `yaml:"peerTLSCAFile" env:"LEDGER_FABRIC_PEER_TLS_CA_FILE"`
	// Channel is the channel name; default "medprov".
	Channel string `yaml:"channel" env:"LEDGER_FABRIC_CHANNEL"`
	// Chaincode is the chaincode name; default "medprov".
	Chaincode string `yaml:"chaincode" env:"LEDGER_FABRIC_CHAINCODE"`
}

// Store configures the encrypted off-chain record store.
type Store struct {
	// Dir holds the index and the encrypted blobs. Required.
	Dir     string  `yaml:"dir" env:"STORE_DIR"`
	Keyring Keyring `yaml:"keyring"`
}

// Keyring types.
const (
	KeyringFile   = "file"
	KeyringPKCS11 = "pkcs11"
)

// Keyring selects the provider of key-encryption keys. Only the section of
// the selected type is validated.
type Keyring struct {
	// Type is "file" (development) or "pkcs11"; default "file".
	Type   string        `yaml:"type" env:"STORE_KEYRING_TYPE"`
	File   FileKeyring   `yaml:"file"`
	PKCS11 PKCS11Keyring `yaml:"pkcs11"`
}

// FileKeyring keeps key-encryption keys as files (development only).
type FileKeyring struct {
	// Dir holds the key files. Required with type "file".
	Dir string `yaml:"dir" env:"STORE_KEYRING_FILE_DIR"`
}

// PKCS11Keyring keeps key-encryption keys in a PKCS#11 token. All fields are
// required with type "pkcs11". The PIN is never part of the configuration.
type PKCS11Keyring struct {
	// Module is the path of the PKCS#11 shared library.
	Module string `yaml:"module" env:"STORE_KEYRING_PKCS11_MODULE"`
	// TokenLabel is the label of the token (at most 32 bytes).
	TokenLabel string `yaml:"tokenLabel" env:"STORE_KEYRING_PKCS11_TOKEN_LABEL"`
	// PINEnv is the NAME of the environment variable that holds the user PIN,
	// e.g. "MEDPROV_PKCS11_PIN"; main reads the variable, this package never
	// does.
	PINEnv string `yaml:"pinEnv" env:"STORE_KEYRING_PKCS11_PIN_ENV"`
}

// Exchange configures gateway-to-gateway record exchange.
type Exchange struct {
	// AccessTicketTTL is how long after its access event is committed a
	// request may be served; default 5m, at most 24h.
	AccessTicketTTL time.Duration `yaml:"accessTicketTTL" env:"EXCHANGE_ACCESS_TICKET_TTL"`
	// Timeout bounds one call to another gateway, including the transfer of
	// the record copy; default 5m, at most 24h.
	Timeout time.Duration `yaml:"timeout" env:"EXCHANGE_TIMEOUT"`
}

// Reconciler configures the background job that finishes or rolls back
// pending anchoring work.
type Reconciler struct {
	// Interval is the time between runs (there is always one at start);
	// default 30s, at most 24h.
	Interval time.Duration `yaml:"interval" env:"RECONCILER_INTERVAL"`
}

// DefaultCheckpointFileName is the name of the event checkpoint file in
// store.dir when events.checkpointFile is not set.
const DefaultCheckpointFileName = "event-checkpoint.json"

// Events configures the follower of the chaincode's events.
type Events struct {
	// CheckpointFile is the file that holds the position of the last
	// event handled; default "" means store.dir/event-checkpoint.json
	// (see EventCheckpointFile), so that it is backed up and restored
	// with the store.
	CheckpointFile string `yaml:"checkpointFile" env:"EVENTS_CHECKPOINT_FILE"`
}

// EventCheckpointFile returns the event checkpoint file the gateway uses:
// events.checkpointFile, or DefaultCheckpointFileName in store.dir when it
// is empty.
func (c Config) EventCheckpointFile() string {
	if c.Events.CheckpointFile != "" {
		return c.Events.CheckpointFile
	}
	return filepath.Join(c.Store.Dir, DefaultCheckpointFileName)
}

// Log configures the process's slog handler.
type Log struct {
	// Level is debug, info, warn or error; default info.
	Level string `yaml:"level" env:"LOG_LEVEL"`
	// Format is json or text; default json.
	Format string `yaml:"format" env:"LOG_FORMAT"`
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	// Grace is how long in-flight work may continue after a stop signal;
	// default 30s, at most 1h.
	Grace time.Duration `yaml:"grace" env:"SHUTDOWN_GRACE"`
}

// Defaults returns the configuration before any file, environment variable
// or flag is applied. It does not pass Validate on its own: the organisation,
// the TLS files and the directories have no sensible default and must be set.
func Defaults() Config {
	return Config{
		Listen: Listen{
			GRPC:    "127.0.0.1:7443",
			REST:    "127.0.0.1:7080",
			Metrics: "127.0.0.1:9464",
		},
		Ledger: Ledger{
			Backend:       BackendEmbedded,
			CommitTimeout: 10 * time.Second,
			Fabric:        FabricLedger{Channel: "medprov", Chaincode: "medprov"},
		},
		Wallet:     Wallet{ServiceIdentity: "gateway"},
		Store:      Store{Keyring: Keyring{Type: KeyringFile}},
		Exchange:   Exchange{AccessTicketTTL: 5 * time.Minute, Timeout: 5 * time.Minute},
		Reconciler: Reconciler{Interval: 30 * time.Second},
		Log:        Log{Level: "info", Format: "json"},
		Shutdown:   Shutdown{Grace: 30 * time.Second},
	}
}
