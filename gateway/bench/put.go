package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	gatewaypb "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/wallet"
	"github.com/medprov/medprov/internal/rpccode"
)

// nonceBytes is the number of random bytes in a Baseline:Put nonce.
const nonceBytes = 16

// Transaction names what the put workload submits.
type Transaction string

// The transactions of the put workload.
const (
	// TransactionBaseline is the chaincode's Baseline:Put: one fixed-value
	// key named by a random nonce.
	TransactionBaseline Transaction = "baseline"
	// TransactionAnchor is AnchorRecord exactly as the medprov gateway
	// builds it for RecordService.AddRecord (the anchor workload's
	// records): a new record ID per call, the salted commitment to 1 KiB of
	// random content under a fresh random salt, document type and
	// confidentiality as the anchor workload sends, for one synthetic
	// patient that OpenPut registers with RegisterPatient.
	TransactionAnchor Transaction = "anchor"
)

// Transactions lists the put workload's transactions, the default first.
var Transactions = []Transaction{TransactionBaseline, TransactionAnchor}

// ParseTransaction returns the transaction s names; "" is
// TransactionBaseline. Errors: ErrOptions, for any other value.
func ParseTransaction(s string) (Transaction, error) {
	if s == "" {
		return TransactionBaseline, nil
	}
	if t := Transaction(s); slices.Contains(Transactions, t) {
		return t, nil
	}
	return "", fmt.Errorf("%w: transaction: want %s or %s, not %q", ErrOptions, TransactionBaseline, TransactionAnchor, s)
}

// WorkloadName is the name of the put workload submitting t, as results
// carry it (Options.Name, Result.Workload): "put" for the baseline, so
// that earlier results keep their name, and "put-" and t otherwise
// ("put-anchor").
func (t Transaction) WorkloadName() string {
	if t == TransactionBaseline || t == "" {
		return "put"
	}
	return "put-" + string(t)
}

// benchConfidentiality is the confidentiality of the synthetic records:
// N, as the anchor workload sends (gatewayv1.Confidentiality_CONFIDENTIALITY_N).
const benchConfidentiality = domain.ConfNormal

// PutOptions configures OpenPut.
type PutOptions struct {
	// ConfigFile is a medprov-gateway configuration file with
	// ledger.backend fabric: its peer endpoint, peer TLS CA, channel,
	// chaincode, organisation and wallet are used.
	ConfigFile string
	// Identity names the wallet identity that signs; "" means the file's
	// wallet.serviceIdentity. For TransactionBaseline it must be a records
	// officer or an admin (Baseline:Put's role policy); for
	// TransactionAnchor a clinician or a records officer whose clearance
	// covers N (RegisterPatient's and AnchorRecord's).
	Identity string
	// Transaction is what each call submits; "" means TransactionBaseline.
	Transaction Transaction
	// Rand makes the nonces, and for TransactionAnchor the run ID, the
	// patient key, the content seed and the commitment salts. It is read
	// by one call at a time.
	Rand io.Reader
}

// Put is the raw workload: each call submits one transaction straight to
// the organisation's peer through its Gateway service with fabric-gateway,
// over one gRPC connection (as the medprov gateway's Fabric backend does):
// endorse, submit, then wait for the commit status, which is what
// fabric-gateway's SubmitAsync and Commit.Status do, with the call's
// context. Only VALID commits count; an invalid one is an error labelled
// with its validation code (MVCC_READ_CONFLICT, ...), and a proposal the
// chaincode refused is counted under the chaincode's code (ALREADY_EXISTS,
// PERMISSION_DENIED, ...).
//
// With TransactionBaseline a call is Baseline:Put with a fresh random
// nonce, a blind write. With TransactionAnchor it is AnchorRecord of a new
// record of the patient registered at setup, the transaction the medprov
// gateway submits for AddRecord, without the gateway and its store: set
// against the anchor workload it separates the gateway's overhead from the
// weight of the transaction itself. AnchorRecord reads the patient's
// entry and its own record's keys, and writes only keys named by its own
// record ID (the version, the head, the patient's index entry for it), so
// calls do not conflict either.
type Put struct {
	conn     *grpc.ClientConn
	gw       *client.Gateway
	contract *client.Contract
	tx       Transaction

	// For TransactionAnchor: the synthetic patient, the run ID that makes
	// record IDs unique on the ledger, the content seed and the call
	// counter.
	patient string
	run     string
	seed    [32]byte
	seq     atomic.Uint64

	mu   sync.Mutex
	rand io.Reader
}

// OpenPut reads the configuration file and the wallet it names, and
// connects to the peer (lazily, as gRPC does: an unreachable peer fails
// the first call with UNAVAILABLE). For TransactionAnchor it then
// registers a synthetic patient with a freshly generated Ed25519 key,
// with RegisterPatient through the peer, under ctx. Close it when done.
// Errors name the configuration key or the file at fault: ErrOptions for
// an unknown transaction, the file's own errors (config.Load),
// ledger.backend not "fabric", the wallet (wallet.Load), an identity not
// in it (wallet.ErrNotFound), an identity whose role or clearance the
// transaction does not admit or whose key fabric-gateway cannot sign
// with, and an unreadable or empty ledger.fabric.peerTLSCAFile. The
// registration's errors wrap ErrSetup: a refusal by the chaincode, with
// the chaincode's code as its gRPC status code; the Gateway service's
// other gRPC statuses; an invalid commit labelled with its validation
// code; or a result that is not the patient registered.
func OpenPut(ctx context.Context, o PutOptions) (*Put, error) {
	if o.Rand == nil {
		return nil, errors.New("bench put: no random source")
	}
	tx, err := ParseTransaction(string(o.Transaction))
	if err != nil {
		return nil, err
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
	if err := admits(tx, id.Role, id.Clearance); err != nil {
		return nil, fmt.Errorf("identity %s: %w", name, err)
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
	p := &Put{conn: conn, gw: gw, contract: gw.GetNetwork(f.Channel).GetContract(f.Chaincode), tx: tx, rand: o.Rand}
	if tx == TransactionAnchor {
		if err := p.setUpAnchor(ctx); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// admits checks that an identity of role and clearance may submit tx's
// transactions, as the chaincode will check them.
func admits(tx Transaction, role domain.Role, clearance domain.Confidentiality) error {
	switch tx {
	case TransactionAnchor:
		for _, fn := range []string{domain.TxRegisterPatient, domain.TxAnchorRecord} {
			if !slices.Contains(domain.AllowedRoles(fn), role) {
				return fmt.Errorf("role %q may not call %s; want a clinician or a records officer", role, fn)
			}
		}
		if clearance == "" {
			clearance = domain.ConfUnrestricted // as the chaincode reads a certificate without it
		}
		if !clearance.Covers(benchConfidentiality) {
			return fmt.Errorf("clearance %s does not cover the confidentiality %s of the records %s anchors", clearance, benchConfidentiality, domain.TxAnchorRecord)
		}
	default:
		if !slices.Contains(domain.AllowedRoles(domain.TxBaselinePut), role) {
			return fmt.Errorf("role %q may not call %s; want a records officer or an admin", role, domain.TxBaselinePut)
		}
	}
	return nil
}

// setUpAnchor draws the run ID and the content seed, and registers a
// synthetic patient. Errors wrap ErrSetup.
func (p *Put) setUpAnchor(ctx context.Context) error {
	var err error
	if p.run, err = runID(p.rand); err != nil {
		return err
	}
	if p.seed, err = seed(p.rand); err != nil {
		return err
	}
	key, err := newPatientKey(p.rand)
	if err != nil {
		return err
	}
	arg, pseudonym, err := registerArgs(key.Public().(ed25519.PublicKey))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	result, err := p.submit(ctx, domain.TxRegisterPatient, arg)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSetup, domain.TxRegisterPatient, err)
	}
	var got domain.Patient
	if err := json.Unmarshal(result, &got); err != nil || got.Pseudonym != pseudonym {
		return fmt.Errorf("%w: %s: the result is not the patient registered", ErrSetup, domain.TxRegisterPatient)
	}
	p.patient = pseudonym
	return nil
}

// registerArgs returns RegisterPatient's argument for pub (base64 of its
// PKIX encoding, as the gateway sends it) and the pseudonym the chaincode
// derives from it.
func registerArgs(pub ed25519.PublicKey) (arg, pseudonym string, err error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode a patient key: %w", err)
	}
	arg = base64.StdEncoding.EncodeToString(der)
	k, err := domain.ParsePatientKey("publicKey", arg)
	if err != nil {
		return "", "", fmt.Errorf("encode a patient key: %w", err)
	}
	return arg, k.Pseudonym(), nil
}

// anchorArgs returns AnchorRecord's argument for version 1 of record
// recordID of patient with content, committed to under salt: the JSON of
// the domain request, as the gateway's anchorer builds it.
func anchorArgs(recordID, patient string, salt, content []byte) (string, error) {
	req := domain.AnchorRequest{
		RecordID: recordID, Patient: patient, DocType: benchDocType,
		Confidentiality: benchConfidentiality,
		Commitment:      domain.Commitment(salt, sha256.Sum256(content)),
	}
	if err := req.Validate(); err != nil {
		return "", fmt.Errorf("anchor request for record %s: %w", recordID, err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("anchor request for record %s: %w", recordID, err)
	}
	return string(b), nil
}

// Name is the workload's name in results: the transaction's
// WorkloadName.
func (p *Put) Name() string { return p.tx.WorkloadName() }

// Call submits one transaction and waits for its commit status. Errors:
// making the arguments (the random source); a proposal the chaincode
// refused, counted under the chaincode's code (ALREADY_EXISTS, ...); the
// Gateway service's other gRPC statuses; or an invalid commit labelled
// with its validation code.
func (p *Put) Call(ctx context.Context, _ int) error {
	fn, args, err := p.next()
	if err != nil {
		return err
	}
	_, err = p.submit(ctx, fn, args...)
	return err
}

// next returns the next call's transaction and arguments.
func (p *Put) next() (string, []string, error) {
	if p.tx != TransactionAnchor {
		nonce, err := p.random("make a nonce", nonceBytes)
		if err != nil {
			return "", nil, err
		}
		return domain.TxBaselinePut, []string{hex.EncodeToString(nonce)}, nil
	}
	salt, err := p.random("make a commitment salt", domain.SaltSize)
	if err != nil {
		return "", nil, err
	}
	n := p.seq.Add(1)
	b := make([]byte, ContentSize)
	content(b, p.seed, n)
	arg, err := anchorArgs(fmt.Sprintf("bench-%s-%d", p.run, n), p.patient, salt, b)
	if err != nil {
		return "", nil, err
	}
	return domain.TxAnchorRecord, []string{arg}, nil
}

// submit endorses fn with args, submits it and waits for its commit
// status; it returns the chaincode's result. Errors: a chaincodeError, the
// Gateway service's other gRPC statuses, or an invalid commit labelled
// with its validation code.
func (p *Put) submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	proposal, err := p.contract.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		return nil, fmt.Errorf("create proposal: %w", err)
	}
	tx, err := proposal.EndorseWithContext(ctx)
	if err != nil {
		return nil, endorseError(err)
	}
	commit, err := tx.SubmitWithContext(ctx)
	if err != nil {
		return nil, err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Successful {
		return nil, WithLabel(validationCode(st.Code), fmt.Errorf("transaction %s in block %d is invalid", st.TransactionID, st.BlockNumber))
	}
	return tx.Result(), nil
}

// chaincodeError is a proposal the chaincode refused: the Gateway
// service's error, with the chaincode's own error ("CODE: message") that a
// peer reported. It is counted under the chaincode's code, which is also
// its gRPC status code, rather than under the Gateway service's ABORTED.
type chaincodeError struct {
	ce  *domain.Error
	err error
}

func (e *chaincodeError) Error() string { return "chaincode: " + e.ce.Error() }
func (e *chaincodeError) Unwrap() error { return e.err }
func (e *chaincodeError) Label() string { return string(e.ce.Code) }

// GRPCStatus returns the chaincode's code and message.
func (e *chaincodeError) GRPCStatus() *status.Status {
	code := codes.Unknown
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if rpccode.Name(c) == string(e.ce.Code) {
			code = c
		}
	}
	return status.New(code, e.ce.Message)
}

// endorseError returns the error of an endorsement as a chaincodeError
// when the Gateway service's status carries the chaincode's "CODE:
// message", in a peer's error details or in its own message after the
// "chaincode response 500, " a peer puts in front; otherwise err.
func endorseError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var texts []string
	for _, d := range st.Details() {
		if ed, ok := d.(*gatewaypb.ErrorDetail); ok {
			texts = append(texts, ed.GetMessage())
		}
	}
	for _, text := range append(texts, st.Message()) {
		if i := strings.Index(text, "chaincode response "); i >= 0 {
			if _, after, ok := strings.Cut(text[i:], ", "); ok {
				text = after
			}
		}
		if ce := domain.ParseError(text); strings.HasPrefix(text, string(ce.Code)+": ") {
			return &chaincodeError{ce: ce, err: err}
		}
	}
	return err
}

// random returns n bytes of the random source; what names the use in
// errors.
func (p *Put) random(what string, n int) ([]byte, error) {
	b := make([]byte, n)
	p.mu.Lock()
	_, err := io.ReadFull(p.rand, b)
	p.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
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
