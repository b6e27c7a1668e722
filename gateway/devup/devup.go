// Package devup runs a development consortium in one process: the three
// peer organisations of internal/devnet (two hospitals and a health
// authority) on one embedded ledger, each with its own medprov gateway on a
// loopback port with mTLS, its own wallet, store and keys, all under one
// directory. `medprov dev up`, the demo and the end-to-end tests use it.
//
// Reopening the same directory keeps every CA, identity, record and ledger
// entry. It is for one machine only; a real consortium runs Fabric.
package devup

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/daemon"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/devnet"
)

// User is an identity devup enrols in every organisation's wallet.
type User struct {
	Name, Role, Clearance string
}

// ServiceUser is the name of each gateway's own identity.
const ServiceUser = "gateway"

// Users are the identities of every organisation's wallet. The first is
// the gateway's service identity.
var Users = []User{
	{ServiceUser, devca.RoleRecordsOfficer, devca.ClearanceV},
	{"clinician", devca.RoleClinician, devca.ClearanceN},
	{"clinician-l", devca.RoleClinician, devca.ClearanceL},
	{"officer", devca.RoleRecordsOfficer, devca.ClearanceV},
	{"researcher", devca.RoleResearcher, devca.ClearanceN},
	{"admin", devca.RoleAdmin, devca.ClearanceV},
	{"auditor", devca.RoleAuditor, devca.ClearanceV},
}

// Org is one organisation of a running consortium.
type Org struct {
	// MSPID is the organisation's MSP ID.
	MSPID string
	// Dir holds its gateway's files: wallet/, store/, keys/, server/.
	Dir string
	// Addrs are its gateway's listening addresses.
	Addrs daemon.Addrs
	// TLSCAFile is the PEM CA that its gateway's TLS certificate chains to
	// (what a client passes as --tls-ca).
	TLSCAFile string
}

// UserDir returns the identity directory of one of the org's users (its
// msp/ holds the signing certificate and key a client presents).
func (o *Org) UserDir(name string) string { return filepath.Join(o.Dir, "wallet", name) }

// Option configures Start.
type Option func(*options)

type options struct {
	basePort  int
	logger    *slog.Logger
	configure func(msp string, c *config.Config)
}

// WithBasePort puts the gateways on fixed ports: the i-th organisation
// (in devnet.PeerOrgs order) listens on base+10i (gRPC), base+10i+1 (REST)
// and base+10i+2 (metrics). The default is free ports chosen by the system.
func WithBasePort(base int) Option { return func(o *options) { o.basePort = base } }

// WithLogger sends the gateways' logs to l; the default discards them.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithConfig lets the caller change each gateway's configuration before it
// starts (for tests: a short ticket TTL, say).
func WithConfig(f func(msp string, c *config.Config)) Option {
	return func(o *options) { o.configure = f }
}

// Consortium is a running development consortium.
type Consortium struct {
	// Dir is the directory everything lives in.
	Dir  string
	net  *devnet.Network
	orgs map[string]*Org

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	closed bool
}

// Start opens (or creates) the consortium under dir and starts one gateway
// per organisation; it returns once all of them serve and each has set its
// directory entry on the ledger. Close stops them.
func Start(ctx context.Context, dir string, opts ...Option) (_ *Consortium, err error) {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	n, err := devnet.Start(filepath.Join(dir, "network"))
	if err != nil {
		return nil, fmt.Errorf("devup: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &Consortium{Dir: dir, net: n, orgs: map[string]*Org{}, cancel: cancel}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	var clientCAs []byte
	for _, msp := range devnet.PeerOrgs {
		clientCAs = append(clientCAs, n.Org(msp).CACertPEM()...)
	}
	for i, msp := range devnet.PeerOrgs {
		org, cfg, err := c.prepare(msp, clientCAs)
		if err != nil {
			return nil, fmt.Errorf("devup: %s: %w", msp, err)
		}
		if o.basePort > 0 {
			p := o.basePort + 10*i
			cfg.Listen = config.Listen{GRPC: hostPort(p), REST: hostPort(p + 1), Metrics: hostPort(p + 2)}
		}
		if o.configure != nil {
			o.configure(msp, &cfg)
		}
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("devup: %s: %w", msp, err)
		}
		g, err := daemon.New(ctx, cfg, daemon.WithEmbeddedLedger(n.Ledger),
			daemon.WithLogger(o.logger.With(slog.String("org", msp))))
		if err != nil {
			return nil, fmt.Errorf("devup: %s: %w", msp, err)
		}
		org.Addrs = g.Addrs()
		c.orgs[msp] = org
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := g.Run(runCtx); err != nil {
				c.mu.Lock()
				c.errs = append(c.errs, fmt.Errorf("%s gateway: %w", msp, err))
				c.mu.Unlock()
			}
		}()
	}
	for _, msp := range devnet.PeerOrgs {
		if err := c.publish(ctx, msp); err != nil {
			return nil, fmt.Errorf("devup: %s: directory entry: %w", msp, err)
		}
	}
	return c, nil
}

func hostPort(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }

// prepare issues (once) the org's wallet and server certificate and
// returns the gateway's configuration.
func (c *Consortium) prepare(msp string, clientCAs []byte) (*Org, config.Config, error) {
	ca := c.net.Org(msp)
	dir := filepath.Join(c.Dir, msp)
	org := &Org{MSPID: msp, Dir: dir, TLSCAFile: filepath.Join(dir, "server", "tls", "ca.crt")}
	for _, u := range Users {
		if err := ensureIdentity(ca, org.UserDir(u.Name), devca.IdentityRequest{
			Name: u.Name, NodeOU: devca.NodeOUClient, Role: u.Role, Clearance: u.Clearance,
		}); err != nil {
			return nil, config.Config{}, fmt.Errorf("wallet identity %s: %w", u.Name, err)
		}
	}
	if err := ensureIdentity(ca, filepath.Join(dir, "server"), devca.IdentityRequest{
		Name: "gateway-server", NodeOU: devca.NodeOUPeer,
		DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
	}); err != nil {
		return nil, config.Config{}, fmt.Errorf("server certificate: %w", err)
	}
	caFile := filepath.Join(dir, "client-cas.pem")
	if err := os.WriteFile(caFile, clientCAs, 0o644); err != nil {
		return nil, config.Config{}, err
	}
	cfg := config.Defaults()
	cfg.Org.MSPID = msp
	cfg.Listen = config.Listen{GRPC: "127.0.0.1:0", REST: "127.0.0.1:0", Metrics: "127.0.0.1:0"}
	cfg.TLS = config.TLS{
		CertFile:     filepath.Join(dir, "server", "tls", "server.crt"),
		KeyFile:      filepath.Join(dir, "server", "tls", "server.key"),
		ClientCAFile: caFile,
	}
	cfg.Wallet.Dir = filepath.Join(dir, "wallet")
	cfg.Ledger.Embedded.Dir = filepath.Join(c.Dir, "network", "ledger")
	cfg.Store.Dir = filepath.Join(dir, "store")
	cfg.Store.Keyring.File.Dir = filepath.Join(dir, "keys")
	cfg.Reconciler.Interval = 10 * time.Second
	cfg.Shutdown.Grace = 10 * time.Second
	return org, cfg, nil
}

// ensureIdentity issues an identity into dir unless dir already holds one.
func ensureIdentity(ca *devca.Org, dir string, req devca.IdentityRequest) error {
	if _, err := os.Stat(filepath.Join(dir, "msp", "signcerts")); err == nil {
		return nil
	}
	id, err := ca.Issue(req)
	if err != nil {
		return err
	}
	return ca.WriteIdentity(dir, id)
}

// publish sets the org's directory entry (its gateway's address and TLS
// CA) as its admin, so that other gateways find it.
func (c *Consortium) publish(ctx context.Context, msp string) error {
	org := c.orgs[msp]
	admin, err := c.net.User(msp, "devup-admin", devca.RoleAdmin, devca.ClearanceV)
	if err != nil {
		return err
	}
	req, err := json.Marshal(domain.EndpointRequest{Endpoint: org.Addrs.GRPC, TLSCACertPEM: string(c.net.Org(msp).TLSCACertPEM())})
	if err != nil {
		return err
	}
	_, err = admin.Submit(ctx, domain.TxSetOrgEndpoint, string(req))
	return err
}

// Org returns a running organisation, or nil for an MSP ID that is not
// one of devnet.PeerOrgs.
func (c *Consortium) Org(msp string) *Org { return c.orgs[msp] }

// Orgs returns the organisations in devnet.PeerOrgs order.
func (c *Consortium) Orgs() []*Org {
	out := make([]*Org, 0, len(devnet.PeerOrgs))
	for _, msp := range devnet.PeerOrgs {
		out = append(out, c.orgs[msp])
	}
	return out
}

// Dial connects to msp's gateway as one of its wallet users, with mTLS.
func (c *Consortium) Dial(ctx context.Context, msp, user string) (*grpc.ClientConn, error) {
	org := c.orgs[msp]
	if org == nil {
		return nil, fmt.Errorf("devup: no organisation %q", msp)
	}
	id, err := devca.LoadIdentity(msp, filepath.Join(org.UserDir(user), "msp"))
	if err != nil {
		return nil, fmt.Errorf("devup: user %s of %s: %w", user, msp, err)
	}
	return c.dial(org, id)
}

// Stranger connects to msp's gateway with a certificate its CA issued but
// that is in no wallet: every call except the exchange must be refused.
func (c *Consortium) Stranger(ctx context.Context, msp string) (*grpc.ClientConn, error) {
	org := c.orgs[msp]
	if org == nil {
		return nil, fmt.Errorf("devup: no organisation %q", msp)
	}
	id, err := c.net.Org(msp).Issue(devca.IdentityRequest{Name: "stranger", NodeOU: devca.NodeOUClient,
		Role: devca.RoleClinician, Clearance: devca.ClearanceV})
	if err != nil {
		return nil, err
	}
	return c.dial(org, id)
}

func (c *Consortium) dial(org *Org, id *devca.Identity) (*grpc.ClientConn, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.net.Org(org.MSPID).TLSCACertPEM()) {
		return nil, errors.New("devup: bad TLS CA")
	}
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return nil, err
	}
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots,
		Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"})
	return grpc.NewClient(org.Addrs.GRPC, grpc.WithTransportCredentials(creds))
}

// Close stops every gateway (each finishes its in-flight calls first) and
// closes the ledger. It returns the gateways' errors, if any.
func (c *Consortium) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	errs := append([]error{}, c.errs...)
	c.mu.Unlock()
	return errors.Join(append(errs, c.net.Close())...)
}
