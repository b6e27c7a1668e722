package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/wallet"
)

// nonceBytes is the number of random bytes in a Baseline:Put nonce.
const nonceBytes = 16

// PutOptions configures OpenPut.
type PutOptions struct {
	// ConfigFile is a medprov-gateway configuration file with
	// ledger.backend fabric: its peer endpoint, peer TLS CA, channel,
	// chaincode, organisation and wallet are used.
	ConfigFile string
	// Identity names the wallet identity that signs; "" means the file's
	// wallet.serviceIdentity. It must be a records officer or an admin
	// (Baseline:Put's role policy).
	Identity string
	// Rand makes the nonces. It is read by one call at a time.
	Rand io.Reader
}

// Put is the baseline workload: each call submits the chaincode's
// Baseline:Put with a fresh random nonce straight to the organisation's
// peer through its Gateway service with fabric-gateway, over one gRPC
// connection (as the medprov gateway's Fabric backend does): endorse,
// submit, then wait for the commit status, which is what fabric-gateway's
// SubmitAsync and Commit.Status do, with the call's context. Only VALID
// commits count; an invalid one is an error labelled with its validation
// code (MVCC_READ_CONFLICT, ...). Baseline:Put is a blind write, so calls do
// not conflict.
type Put struct {
	conn     *grpc.ClientConn
	gw       *client.Gateway
	contract *client.Contract

	mu   sync.Mutex
	rand io.Reader
}

// OpenPut reads the configuration file and the wallet it names, and
// connects to the peer (lazily, as gRPC does: an unreachable peer fails
// the first call with UNAVAILABLE). Close it when done. Errors name the
// configuration key or the file at fault: the file's own errors
// (config.Load), ledger.backend not "fabric", the wallet (wallet.Load),
// an identity not in it (wallet.ErrNotFound), an identity whose key
// fabric-gateway cannot sign with, and an unreadable or empty
// ledger.fabric.peerTLSCAFile.
func OpenPut(o PutOptions) (*Put, error) {
	if o.Rand == nil {
		return nil, errors.New("bench put: no random source")
	}
	cfg, err := config.Load(o.ConfigFile, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway config %s: %w", o.ConfigFile, err)
	}
	if cfg.Ledger.Backend != config.BackendFabric {
		return nil, fmt.Errorf("gateway config %s: ledger.backend: want %q for the put workload, not %q", o.ConfigFile, config.BackendFabric, cfg.Ledger.Backend)
	}
	w, err := wallet.Load(cfg.Wallet.Dir, cfg.Org.MSPID)
	if err != nil {
		return nil, fmt.Errorf("gateway config %s: wallet.dir: %w", o.ConfigFile, err)
	}
	name := o.Identity
	if name == "" {
		name = cfg.Wallet.ServiceIdentity
	}
	id, err := w.ByName(name)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", name, err)
	}
	if id.Role != domain.RoleRecordsOfficer && id.Role != domain.RoleAdmin {
		return nil, fmt.Errorf("identity %s: role %q may not call %s; want a records officer or an admin", name, id.Role, domain.TxBaselinePut)
	}
	f := cfg.Ledger.Fabric
	caPEM, err := os.ReadFile(f.PeerTLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("ledger.fabric.peerTLSCAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("ledger.fabric.peerTLSCAFile: %s holds no PEM certificate", f.PeerTLSCAFile)
	}
	li := id.Ledger()
	sign, err := identity.NewPrivateKeySign(li.Signer)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", name, err)
	}
	xid, err := identity.NewX509Identity(li.MSPID, id.Cert)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", name, err)
	}
	conn, err := grpc.NewClient(f.PeerEndpoint, grpc.WithTransportCredentials(
		credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool})))
	if err != nil {
		return nil, fmt.Errorf("ledger.fabric.peerEndpoint: %w", err)
	}
	gw, err := client.Connect(xid, client.WithSign(sign), client.WithClientConnection(conn),
		client.WithEndorseTimeout(ledger.DefaultFabricEndorseTimeout),
		client.WithSubmitTimeout(ledger.DefaultFabricSubmitTimeout),
		client.WithCommitStatusTimeout(ledger.DefaultFabricCommitStatusTimeout))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to the peer's Gateway service: %w", err)
	}
	return &Put{conn: conn, gw: gw, contract: gw.GetNetwork(f.Channel).GetContract(f.Chaincode), rand: o.Rand}, nil
}

// Call submits one Baseline:Put and waits for its commit status. Errors:
// the Gateway service's gRPC status (a chaincode error is in its details),
// or an invalid commit labelled with its validation code.
func (p *Put) Call(ctx context.Context, _ int) error {
	nonce, err := p.nonce()
	if err != nil {
		return err
	}
	proposal, err := p.contract.NewProposal(domain.TxBaselinePut, client.WithArguments(nonce))
	if err != nil {
		return fmt.Errorf("create proposal: %w", err)
	}
	tx, err := proposal.EndorseWithContext(ctx)
	if err != nil {
		return err
	}
	commit, err := tx.SubmitWithContext(ctx)
	if err != nil {
		return err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return err
	}
	if !st.Successful {
		return WithLabel(validationCode(st.Code), fmt.Errorf("transaction %s in block %d is invalid", st.TransactionID, st.BlockNumber))
	}
	return nil
}

// nonce returns 16 random bytes in hex.
func (p *Put) nonce() (string, error) {
	b := make([]byte, nonceBytes)
	p.mu.Lock()
	_, err := io.ReadFull(p.rand, b)
	p.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("make a nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Close closes the connection to the peer.
func (p *Put) Close() error {
	_ = p.gw.Close() // closes nothing but the client's own context
	if err := p.conn.Close(); err != nil {
		return fmt.Errorf("close the peer connection: %w", err)
	}
	return nil
}

// validationCode names a Fabric validation code.
func validationCode(c peer.TxValidationCode) string {
	if name, ok := peer.TxValidationCode_name[int32(c)]; ok {
		return name
	}
	return fmt.Sprintf("VALIDATION_CODE_%d", c)
}
