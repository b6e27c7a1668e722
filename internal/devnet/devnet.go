// Package devnet assembles a development consortium on the embedded ledger:
// the medprov chaincode, one development CA per organisation (two
// hospitals, a health authority and the orderer organisation), and clients
// that submit and evaluate as identities those CAs issued. Tests,
// benchmarks and the demo use it; it is not for production.
//
// It may import the chaincode, the embedded ledger and devca; nothing in
// the chaincode or the gateway's server code may import it.
package devnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/medprov/medprov/chaincode/contract"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/internal/devca"
)

// The organisations of the development consortium.
const (
	HospitalA       = "HospitalAMSP"
	HospitalB       = "HospitalBMSP"
	HealthAuthority = "HealthAuthorityMSP"
	Orderer         = "OrdererMSP"
)

var domains = map[string]string{
	HospitalA:       "hospital-a.medprov.test",
	HospitalB:       "hospital-b.medprov.test",
	HealthAuthority: "health-authority.medprov.test",
	Orderer:         "orderer.medprov.test",
}

// PeerOrgs lists the organisations whose members use the ledger, in a fixed
// order.
var PeerOrgs = []string{HospitalA, HospitalB, HealthAuthority}

// Network is a development consortium on one embedded ledger.
type Network struct {
	Ledger *embedded.Ledger
	Dir    string
	orgs   map[string]*devca.Org

	mu    sync.Mutex
	users map[string]*Client
}

// Option changes how Start builds the network.
type Option func(*embedded.Config)

// WithLedgerConfig lets a caller adjust the embedded ledger's configuration
// (block size, clock) before it opens.
func WithLedgerConfig(f func(*embedded.Config)) Option { return Option(f) }

// Start opens (or creates) a consortium under dir: CAs under dir/orgs, the
// ledger under dir/ledger. Reopening the same dir keeps every CA and all
// committed state.
func Start(dir string, opts ...Option) (*Network, error) {
	n := &Network{Dir: dir, orgs: map[string]*devca.Org{}, users: map[string]*Client{}}
	for _, msp := range append(append([]string{}, PeerOrgs...), Orderer) {
		org, err := loadOrCreateOrg(filepath.Join(dir, "orgs", msp), msp, domains[msp])
		if err != nil {
			return nil, err
		}
		n.orgs[msp] = org
	}
	orderer, err := n.identity(Orderer, "orderer0", devca.NodeOUOrderer, "", "")
	if err != nil {
		return nil, err
	}
	cc, err := contract.New()
	if err != nil {
		return nil, err
	}
	cfg := embedded.Config{
		Dir:            filepath.Join(dir, "ledger"),
		OrdererMSPID:   Orderer,
		OrdererCertPEM: orderer.CertPEM,
		OrdererSigner:  orderer.Key,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if n.Ledger, err = embedded.Open(cfg, cc); err != nil {
		return nil, fmt.Errorf("open embedded ledger: %w", err)
	}
	return n, nil
}

func loadOrCreateOrg(dir, msp, domain string) (*devca.Org, error) {
	if _, err := os.Stat(filepath.Join(dir, "devca.json")); err == nil {
		return devca.LoadOrg(dir)
	}
	org, err := devca.NewOrg(msp, domain)
	if err != nil {
		return nil, err
	}
	if err := org.WriteOrg(dir); err != nil {
		return nil, err
	}
	return org, nil
}

// Org returns an organisation's development CA.
func (n *Network) Org(msp string) *devca.Org { return n.orgs[msp] }

// Close closes the ledger.
func (n *Network) Close() error { return n.Ledger.Close() }

// identity issues (in memory) an identity of org msp.
func (n *Network) identity(msp, name, nodeOU, role, clearance string) (*devca.Identity, error) {
	org, ok := n.orgs[msp]
	if !ok {
		return nil, fmt.Errorf("organisation %q: not in the development consortium", msp)
	}
	return org.Issue(devca.IdentityRequest{Name: name, NodeOU: nodeOU, Role: role, Clearance: clearance})
}

// User returns a client for a user of org msp with the given role and
// clearance; the same name, role and clearance return the same client.
func (n *Network) User(msp, name, role, clearance string) (*Client, error) {
	key := msp + "/" + name + "/" + role + "/" + clearance
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.users[key]; ok {
		return c, nil
	}
	id, err := n.identity(msp, name, devca.NodeOUClient, role, clearance)
	if err != nil {
		return nil, err
	}
	c := &Client{ledger: n.Ledger, Identity: id, id: embedded.Identity{MSPID: msp, CertPEM: id.CertPEM}}
	n.users[key] = c
	return c, nil
}

// Client submits and evaluates transactions as one identity.
type Client struct {
	ledger   *embedded.Ledger
	id       embedded.Identity
	Identity *devca.Identity
}

// MSPID returns the client's organisation.
func (c *Client) MSPID() string { return c.id.MSPID }

// Submit runs a transaction to commit and returns its result. A chaincode
// error comes back as a *ledger.Error (errors.Is with ledger.ErrNotFound and
// the other sentinels works); an invalidated transaction as the embedded
// ledger's *embedded.CommitError.
func (c *Client) Submit(ctx context.Context, fn string, args ...string) (*embedded.Result, error) {
	res, err := c.ledger.Submit(ctx, c.id, embedded.Proposal{Function: fn, Args: args})
	return res, chaincodeError(err)
}

// Evaluate runs a read-only transaction and returns its payload, with
// Submit's error mapping.
func (c *Client) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	out, err := c.ledger.Evaluate(ctx, c.id, embedded.Proposal{Function: fn, Args: args})
	return out, chaincodeError(err)
}

// chaincodeError turns the chaincode's "CODE: message" text back into a
// *ledger.Error.
func chaincodeError(err error) error {
	var ce *embedded.ChaincodeError
	if errors.As(err, &ce) {
		return ledger.ParseError(ce.Message)
	}
	return err
}
