package ledger_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger/ledgertest"
	"github.com/medprov/medprov/internal/devca"
)

// fabricNetworkDir is the local Fabric test network of the repository
// (test-network/, docs/fabric-network.md), relative to this package.
var fabricNetworkDir = filepath.Join("..", "..", "..", "test-network")

// fabricOrgConfig is the part of a test-network gateway.yaml the ledger
// tests need.
type fabricOrgConfig struct {
	Org struct {
		MSPID string `yaml:"mspId"`
	} `yaml:"org"`
	Wallet struct {
		Dir string `yaml:"dir"`
	} `yaml:"wallet"`
	Ledger struct {
		Fabric struct {
			PeerEndpoint  string `yaml:"peerEndpoint"`
			PeerTLSCAFile string `yaml:"peerTLSCAFile"`
			Channel       string `yaml:"channel"`
			Chaincode     string `yaml:"chaincode"`
		} `yaml:"fabric"`
	} `yaml:"ledger"`
}

// requireFabricNetwork skips the test unless FABRIC_BIN is set, and then
// reads the gateway configuration of msp that test-network/up.sh wrote. A
// missing network skips the test, unless MEDPROV_FABRIC=1 (make
// test-fabric) asks for it, when it fails.
func requireFabricNetwork(t *testing.T, msp string) fabricOrgConfig {
	t.Helper()
	if os.Getenv("FABRIC_BIN") == "" {
		t.Skip("FABRIC_BIN not set: run FABRIC_BIN=<fabric>/bin make network-up && make test-fabric (or FABRIC_BIN=<fabric>/bin make test-fabric)")
	}
	path := filepath.Join(fabricNetworkDir, "gateways", msp, "gateway.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf("the Fabric test network is not up (%v): run FABRIC_BIN=%s make network-up", err, os.Getenv("FABRIC_BIN"))
		if os.Getenv("MEDPROV_FABRIC") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var c fabricOrgConfig
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// dialPeer connects to the peer of c over TLS.
func dialPeer(t *testing.T, c fabricOrgConfig) *grpc.ClientConn {
	t.Helper()
	caPEM, err := os.ReadFile(c.Ledger.Fabric.PeerTLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", c.Ledger.Fabric.PeerTLSCAFile)
	}
	conn, err := grpc.NewClient(c.Ledger.Fabric.PeerEndpoint,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// walletIdentity loads identity name from the wallet of c.
func walletIdentity(t *testing.T, c fabricOrgConfig, name string) ledger.Identity {
	t.Helper()
	id, err := devca.LoadIdentity(c.Org.MSPID, filepath.Join(c.Wallet.Dir, name, "msp"))
	if err != nil {
		t.Fatal(err)
	}
	return ledger.Identity{MSPID: id.MSPID, CertPEM: id.CertPEM, Signer: id.Key}
}

// openFabric returns a Fabric ledger through the peer of c, reading as
// the organisation's gateway identity.
func openFabric(t *testing.T, c fabricOrgConfig) *ledger.Fabric {
	t.Helper()
	f, err := ledger.NewFabric(dialPeer(t, c), c.Ledger.Fabric.Channel, c.Ledger.Fabric.Chaincode, walletIdentity(t, c, "gateway"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fabricIdentities issues identities with the given attributes from the
// test network's organisation CAs (test-network/crypto/<MSP>), once each.
type fabricIdentities struct {
	mu   sync.Mutex
	orgs map[string]*devca.Org
	ids  map[string]ledger.Identity
}

func (f *fabricIdentities) get(t *testing.T, msp, role, clearance string) ledger.Identity {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	key := msp + "/" + role + "/" + clearance
	if id, ok := f.ids[key]; ok {
		return id
	}
	org, ok := f.orgs[msp]
	if !ok {
		var err error
		if org, err = devca.LoadOrg(filepath.Join(fabricNetworkDir, "crypto", msp)); err != nil {
			t.Fatal(err)
		}
		f.orgs[msp] = org
	}
	id, err := org.Issue(devca.IdentityRequest{Name: "conformance-" + role + "-" + clearance, NodeOU: devca.NodeOUClient, Role: role, Clearance: clearance})
	if err != nil {
		t.Fatal(err)
	}
	li := ledger.Identity{MSPID: id.MSPID, CertPEM: id.CertPEM, Signer: id.Key}
	f.ids[key] = li
	return li
}

func TestFabricConformance(t *testing.T) {
	a := requireFabricNetwork(t, "HospitalAMSP")
	ids := &fabricIdentities{orgs: map[string]*devca.Org{}, ids: map[string]ledger.Identity{}}
	ledgertest.Run(t, func(t *testing.T) *ledgertest.Backend {
		b := &ledgertest.Backend{
			Ledger:   openFabric(t, a),
			Identity: ids.get,
			Orgs:     [2]string{"HospitalAMSP", "HospitalBMSP"},
		}
		b.Reopen = func(t *testing.T) ledger.Ledger {
			if err := b.Ledger.Close(); err != nil {
				t.Fatal(err)
			}
			b.Ledger = openFabric(t, a)
			return b.Ledger
		}
		return b
	})
}

func TestFabricPersistedTransactionCommitsOnce(t *testing.T) {
	a := requireFabricNetwork(t, "HospitalAMSP")
	ids := &fabricIdentities{orgs: map[string]*devca.Org{}, ids: map[string]ledger.Identity{}}
	ctx := context.Background()
	l := openFabric(t, a)
	defer l.Close()
	clinician := ids.get(t, "HospitalAMSP", string(domain.RoleClinician), string(domain.ConfNormal))
	key, _ := newFabricPatientKey(t)
	tx, err := l.Prepare(ctx, clinician, domain.TxRegisterPatient, key)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	first, err := l.Commit(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	// Another process restores it without any key, and commits it again:
	// the lookup finds the original.
	other := openFabric(t, a)
	defer other.Close()
	restored, err := ledger.RestoreTransaction(enc)
	if err != nil {
		t.Fatal(err)
	}
	if restored.ID() != tx.ID() {
		t.Fatalf("restored ID %s, want %s", restored.ID(), tx.ID())
	}
	again, err := other.Commit(ctx, restored)
	if err != nil {
		t.Fatalf("commit the restored transaction: %v", err)
	}
	if again.TxID != first.TxID || again.Block != first.Block {
		t.Errorf("restored commit = %+v, want %+v", again, first)
	}
	h, err := l.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h <= first.Block {
		t.Errorf("Height = %d, want more than block %d", h, first.Block)
	}
}

func TestFabricRestoredTransactionIsSentWithoutKey(t *testing.T) {
	a := requireFabricNetwork(t, "HospitalAMSP")
	ids := &fabricIdentities{orgs: map[string]*devca.Org{}, ids: map[string]ledger.Identity{}}
	ctx := context.Background()
	l := openFabric(t, a)
	defer l.Close()
	clinician := ids.get(t, "HospitalAMSP", string(domain.RoleClinician), string(domain.ConfNormal))
	key, _ := newFabricPatientKey(t)
	tx, err := l.Prepare(ctx, clinician, domain.TxRegisterPatient, key)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// The process crashed before sending it: the restored copy, which holds
	// no key, is looked up (not found), sent and committed.
	restored, err := ledger.RestoreTransaction(enc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Commit(ctx, restored)
	if err != nil {
		t.Fatalf("commit the restored transaction: %v", err)
	}
	st, err := l.Status(ctx, tx.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Valid() || st.Block != c.Block || c.TxID != tx.ID() {
		t.Errorf("Status = %+v after commit %+v, want VALID in the same block", st, c)
	}
	_, err = l.Evaluate(ctx, ledger.Identity{MSPID: "HospitalAMSP"}, domain.TxGetRecord, "rec-1")
	if status.Code(err) != codes.Internal {
		t.Errorf("Evaluate as an identity without a certificate: %v, want Internal", err)
	}
	var le *ledger.Error
	if !errors.As(err, &le) {
		t.Errorf("error %v is not a *ledger.Error", err)
	}
}

// newFabricPatientKey returns a fresh synthetic patient public key, as
// RegisterPatient takes it, and its pseudonym.
func newFabricPatientKey(t *testing.T) (key, pseudonym string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	key = base64.StdEncoding.EncodeToString(der)
	k, err := domain.ParsePatientKey("publicKey", key)
	if err != nil {
		t.Fatal(err)
	}
	return key, k.Pseudonym()
}
