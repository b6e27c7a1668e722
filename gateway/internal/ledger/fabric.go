package ledger

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gatewaypb "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// Default step timeouts of the Fabric backend. Each applies to one call to
// the peer's Gateway service and is cut short by the caller's context.
const (
	DefaultFabricEvaluateTimeout     = 10 * time.Second
	DefaultFabricEndorseTimeout      = 30 * time.Second
	DefaultFabricSubmitTimeout       = 10 * time.Second
	DefaultFabricCommitStatusTimeout = time.Minute

	// DefaultFabricEndorseRetries and DefaultFabricEndorseBackoff: up to
	// 6 more endorsements over about 3 s when the peers disagree.
	DefaultFabricEndorseRetries = 6
	DefaultFabricEndorseBackoff = 50 * time.Millisecond
)

// qscc is Fabric's query system chaincode, which answers the transaction
// and chain look-ups.
const qscc = "qscc"

// FabricOption changes a setting of NewFabric.
type FabricOption func(*fabricOptions)

type fabricOptions struct {
	evaluate, endorse, submit, commitStatus time.Duration
	endorseRetries                          int
	endorseBackoff                          time.Duration
	sleep                                   func(context.Context, time.Duration) error
}

// WithFabricEndorseRetries sets how often Prepare endorses a proposal
// again when the peers' endorsements disagree, and the delay before the
// first retry, which doubles for each next one. The default is
// DefaultFabricEndorseRetries and DefaultFabricEndorseBackoff; n < 0 means
// no retry. sleep, if not nil, replaces the wait between attempts (for
// tests); it must return ctx's error early when ctx ends.
func WithFabricEndorseRetries(n int, backoff time.Duration, sleep func(ctx context.Context, d time.Duration) error) FabricOption {
	return func(o *fabricOptions) {
		o.endorseRetries, o.endorseBackoff = max(n, 0), backoff
		if sleep != nil {
			o.sleep = sleep
		}
	}
}

// WithFabricTimeouts bounds each step of a call: an evaluation, the
// endorsement of a proposal (Prepare), sending a transaction for ordering
// and the wait for its commit status. A step that passes its bound ends
// with DeadlineExceeded; for the last two the commit status is then
// unknown (ErrCommitStatusUnknown). A zero duration keeps the default.
func WithFabricTimeouts(evaluate, endorse, submit, commitStatus time.Duration) FabricOption {
	return func(o *fabricOptions) {
		for _, s := range []struct {
			d   time.Duration
			dst *time.Duration
		}{{evaluate, &o.evaluate}, {endorse, &o.endorse}, {submit, &o.submit}, {commitStatus, &o.commitStatus}} {
			if s.d > 0 {
				*s.dst = s.d
			}
		}
	}
}

// Fabric is the Ledger on a Fabric channel, reached through one peer's
// Gateway service over one gRPC connection. Each identity that signs gets
// its own fabric-gateway client (cached by the SHA-256 fingerprint of its
// certificate and its MSP ID), all over that same connection. The reader
// identity given to NewFabric signs what belongs to no caller: event
// streams, transaction look-ups, the chain height, and the commit-status
// request of a transaction restored without its signer.
type Fabric struct {
	conn      *grpc.ClientConn
	channel   string
	chaincode string
	reader    Identity
	opts      fabricOptions

	mu      sync.Mutex
	clients map[string]*fabricClient

	closed atomic.Bool
	// done ends the event streams when the ledger closes.
	done   context.Context
	finish context.CancelFunc
}

// fabricClient is the fabric-gateway client of one identity.
type fabricClient struct {
	gw   *client.Gateway
	sign identity.Sign
}

// fabricTx is the Fabric backend's state of a Transaction: the endorsed
// transaction signed by its creator, as fabric-gateway serialises it (a
// gateway.PreparedTransaction holding the signed envelope). Sending these
// bytes again needs no key, and the ledger refuses a second copy of the
// same transaction ID.
type fabricTx struct {
	signed []byte
}

// NewFabric returns a Ledger on channel running chaincode, through the
// peer's Gateway service that conn reaches. It takes ownership of conn:
// Close closes it. reader must be an identity of a channel member with a
// Signer (the gateway's service identity): it signs event streams, status
// look-ups and chain-height queries. Errors: InvalidArgument for an empty
// channel or chaincode name, a nil conn, or a reader without a signer or a
// parseable certificate.
func NewFabric(conn *grpc.ClientConn, channel, chaincode string, reader Identity, opts ...FabricOption) (*Fabric, error) {
	invalid := func(msg string) error {
		return &Error{code: codes.InvalidArgument, msg: "fabric ledger: " + msg}
	}
	switch {
	case conn == nil:
		return nil, invalid("no gRPC connection to a peer")
	case channel == "":
		return nil, invalid("channel: a channel name is required")
	case chaincode == "":
		return nil, invalid("chaincode: a chaincode name is required")
	}
	o := fabricOptions{
		evaluate: DefaultFabricEvaluateTimeout, endorse: DefaultFabricEndorseTimeout,
		submit: DefaultFabricSubmitTimeout, commitStatus: DefaultFabricCommitStatusTimeout,
		endorseRetries: DefaultFabricEndorseRetries, endorseBackoff: DefaultFabricEndorseBackoff,
		sleep: sleepContext,
	}
	for _, opt := range opts {
		opt(&o)
	}
	f := &Fabric{conn: conn, channel: channel, chaincode: chaincode, reader: reader, opts: o, clients: map[string]*fabricClient{}}
	f.done, f.finish = context.WithCancel(context.Background())
	if _, err := f.client(reader); err != nil {
		f.finish()
		return nil, &Error{code: codes.InvalidArgument, msg: "fabric ledger: reader identity: " + err.Error(), cause: err}
	}
	return f, nil
}

// client returns the fabric-gateway client of id, creating it on first
// use.
func (f *Fabric) client(id Identity) (*fabricClient, error) {
	if id.Signer == nil {
		return nil, fmt.Errorf("identity of %q has no signer", id.MSPID)
	}
	block, _ := pem.Decode(id.CertPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("identity of %s: no PEM certificate", id.MSPID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("identity of %s: parse certificate: %w", id.MSPID, err)
	}
	fp := sha256.Sum256(cert.Raw)
	key := id.MSPID + "\x00" + string(fp[:])
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[key]; ok {
		return c, nil
	}
	xid, err := identity.NewX509Identity(id.MSPID, cert)
	if err != nil {
		return nil, fmt.Errorf("identity of %s: %w", id.MSPID, err)
	}
	sign, err := signerSign(id.Signer)
	if err != nil {
		return nil, fmt.Errorf("identity of %s: %w", id.MSPID, err)
	}
	gw, err := client.Connect(xid,
		client.WithSign(sign),
		client.WithClientConnection(f.conn),
		client.WithEvaluateTimeout(f.opts.evaluate),
		client.WithEndorseTimeout(f.opts.endorse),
		client.WithSubmitTimeout(f.opts.submit),
		client.WithCommitStatusTimeout(f.opts.commitStatus),
	)
	if err != nil {
		return nil, fmt.Errorf("identity of %s: connect: %w", id.MSPID, err)
	}
	c := &fabricClient{gw: gw, sign: sign}
	f.clients[key] = c
	return c, nil
}

// signerSign signs fabric-gateway's SHA-256 digests with s, as Fabric
// expects: ASN.1 ECDSA signatures with a low S value. Only ECDSA keys are
// supported, as Fabric's MSPs issue them.
func signerSign(s crypto.Signer) (identity.Sign, error) {
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer: want an ECDSA key, got %T", s.Public())
	}
	n := pub.Curve.Params().N
	half := new(big.Int).Rsh(n, 1)
	return func(digest []byte) ([]byte, error) {
		der, err := s.Sign(rand.Reader, digest, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		var sig struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &sig); err != nil {
			return nil, fmt.Errorf("sign: not an ASN.1 ECDSA signature: %w", err)
		}
		if sig.S.Cmp(half) > 0 {
			sig.S = new(big.Int).Sub(n, sig.S)
		}
		return asn1.Marshal(sig)
	}, nil
}

func (f *Fabric) contract(c *fabricClient, name string) *client.Contract {
	return c.gw.GetNetwork(f.channel).GetContract(name)
}

// Prepare endorses the proposal through the peer's Gateway service and
// signs the endorsed transaction, whose ID and bytes are then fixed.
// Chaincode errors are returned here. Errors: as Ledger.Prepare.
func (f *Fabric) Prepare(ctx context.Context, id Identity, tx string, args ...string) (*Transaction, error) {
	if f.closed.Load() {
		return nil, closedError(nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err, "", false)
	}
	c, err := f.client(id)
	if err != nil {
		return nil, internalError("", err)
	}
	proposal, err := f.contract(c, f.chaincode).NewProposal(tx, client.WithArguments(args...))
	if err != nil {
		return nil, internalError("", fmt.Errorf("create proposal: %w", err))
	}
	endorsed, err := f.endorse(ctx, proposal)
	if err != nil {
		return nil, err
	}
	unsigned, err := endorsed.Bytes()
	if err != nil {
		return nil, internalError("", err)
	}
	sig, err := c.sign(endorsed.Digest())
	if err != nil {
		return nil, internalError("", fmt.Errorf("sign transaction: %w", err))
	}
	signedTx, err := c.gw.NewSignedTransaction(unsigned, sig)
	if err != nil {
		return nil, internalError("", fmt.Errorf("sign transaction: %w", err))
	}
	signed, err := signedTx.Bytes()
	if err != nil {
		return nil, internalError("", err)
	}
	return &Transaction{
		id: endorsed.TransactionID(), identity: id, name: tx, args: slices.Clone(args),
		backend: fabricTx{signed: signed},
	}, nil
}

// endorse endorses proposal. It endorses the same proposal again after a
// backoff, up to the retries of WithFabricEndorseRetries, when the failure
// is transient: the peers' endorsements disagree (a peer that has not
// committed the latest block yet reads older state than the first
// endorser; peers catch up within a block or two), the endorsement timed
// out while the caller's context is still alive, or no peer could be
// reached (Unavailable: a peer restarting, or the peers' discovery not yet
// knowing enough endorsers). A proposal is not a transaction: endorsing
// it again writes nothing.
func (f *Fabric) endorse(ctx context.Context, proposal *client.Proposal) (*client.Transaction, error) {
	delay := f.opts.endorseBackoff
	for attempt := 1; ; attempt++ {
		endorsed, err := proposal.EndorseWithContext(ctx)
		if err == nil {
			return endorsed, nil
		}
		disagree := peersDisagree(err)
		if !disagree && !endorseTransient(ctx, err) {
			return nil, f.callError(ctx, err, "", false)
		}
		if attempt > f.opts.endorseRetries {
			if !disagree {
				return nil, f.callError(ctx, err, "", false)
			}
			// Not a chaincode error: the first endorser accepted the
			// proposal, and a lagging peer's answer must not be shown as
			// the chaincode's.
			return nil, internalError("", fmt.Errorf("endorsements still disagree after %d attempts: %w", attempt, err))
		}
		if err := f.opts.sleep(ctx, delay); err != nil {
			return nil, contextError(err, "", false)
		}
		delay *= 2
	}
}

// endorseTransient reports whether an endorsement failed for a reason that
// another attempt may not meet: its own timeout (not the caller's
// deadline) or no reachable peer.
func endorseTransient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded, codes.Unavailable:
		return true
	}
	return false
}

// peersDisagree reports whether an endorsement failed after the first
// endorser accepted the proposal: the other endorsers failed or returned
// a different result (Fabric's "failed to collect enough transaction
// endorsements").
func peersDisagree(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Aborted && strings.HasPrefix(st.Message(), "failed to collect enough transaction endorsements")
}

// Submit prepares and commits a transaction. Errors: as Ledger.Submit.
func (f *Fabric) Submit(ctx context.Context, id Identity, tx string, args ...string) (*Committed, error) {
	t, err := f.Prepare(ctx, id, tx, args...)
	if err != nil {
		return nil, err
	}
	return f.Commit(ctx, t)
}

// Commit sends the signed transaction for ordering and waits for its
// commit status. If an earlier Commit (or another process, for a restored
// transaction) may have sent it, it first looks its ID up; a copy ordered
// twice is invalidated by the peers as DUPLICATE_TXID, and the original's
// outcome is returned. Errors: as Ledger.Commit.
func (f *Fabric) Commit(ctx context.Context, t *Transaction) (*Committed, error) {
	ft, ok := t.backend.(fabricTx)
	if !ok {
		return nil, internalError(t.id, errors.New("transaction was not prepared by the fabric backend"))
	}
	if f.closed.Load() {
		return nil, closedError(nil)
	}
	// A restored transaction has no signer: it is signed already, and the
	// reader signs the commit-status request.
	creator := t.identity
	if creator.Signer == nil {
		creator = f.reader
	}
	c, err := f.client(creator)
	if err != nil {
		return nil, internalError(t.id, err)
	}
	ftx, err := c.gw.NewTransaction(ft.signed)
	if err != nil {
		return nil, internalError(t.id, fmt.Errorf("restore signed transaction: %w", err))
	}
	if ftx.TransactionID() != t.id {
		return nil, internalError(t.id, fmt.Errorf("signed transaction has ID %s", ftx.TransactionID()))
	}
	resent := t.sent.Load()
	if resent {
		if done, err := f.lookup(ctx, t.id, ftx.Result()); done != nil || err != nil {
			return done, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err, t.id, resent)
	}
	t.sent.Store(true)
	commit, err := ftx.SubmitWithContext(ctx)
	if err != nil {
		// The Gateway service may have handed it to some orderers.
		return nil, f.unknownError(ctx, err, t.id)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return nil, f.unknownError(ctx, err, t.id)
	}
	code := validationCode(st.Code)
	switch {
	case st.Successful:
		return &Committed{TxID: t.id, Block: st.BlockNumber, Payload: ftx.Result()}, nil
	case code == CodeDuplicateTxID:
		// A copy sent earlier was ordered first: its outcome is the answer.
		done, err := f.lookup(ctx, t.id, ftx.Result())
		if done == nil && err == nil {
			err = internalError(t.id, errors.New("duplicate transaction, but the original is not found"))
		}
		return done, err
	}
	return nil, statusError(TxStatus{TxID: t.id, Block: st.BlockNumber, Code: code}, nil)
}

// lookup returns the outcome of transaction txID if the ledger holds it:
// a Committed (with payload, the endorsed result) for a valid one, an
// error for an invalid one, and nil, nil when it is not (yet) committed.
func (f *Fabric) lookup(ctx context.Context, txID string, payload []byte) (*Committed, error) {
	st, err := f.Status(ctx, txID)
	if errors.Is(err, ErrTxNotFound) {
		return nil, nil
	}
	if err != nil {
		var le *Error
		if errors.As(err, &le) && le.kind == nil && isContextError(err) {
			return nil, contextError(err, txID, true)
		}
		return nil, err
	}
	if !st.Valid() {
		return nil, statusError(st, nil)
	}
	return &Committed{TxID: txID, Block: st.Block, Payload: payload}, nil
}

// Evaluate runs a read-only call on a peer. Errors: as Ledger.Evaluate.
func (f *Fabric) Evaluate(ctx context.Context, id Identity, tx string, args ...string) ([]byte, error) {
	if f.closed.Load() {
		return nil, closedError(nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err, "", false)
	}
	c, err := f.client(id)
	if err != nil {
		return nil, internalError("", err)
	}
	out, err := f.contract(c, f.chaincode).EvaluateWithContext(ctx, tx, client.WithArguments(args...))
	if err != nil {
		return nil, f.callError(ctx, err, "", false)
	}
	return out, nil
}

// Status looks transaction txID up with qscc's GetBlockByTxID, as the
// reader identity, and reads its validation code from the block. Errors:
// as Ledger.Status.
func (f *Fabric) Status(ctx context.Context, txID string) (TxStatus, error) {
	block, i, err := f.blockOf(ctx, txID)
	if err != nil {
		return TxStatus{}, err
	}
	filter := block.GetMetadata().GetMetadata()
	var code ValidationCode
	if int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) < len(filter) && i < len(filter[common.BlockMetadataIndex_TRANSACTIONS_FILTER]) {
		code = validationCode(peer.TxValidationCode(filter[common.BlockMetadataIndex_TRANSACTIONS_FILTER][i]))
	} else {
		return TxStatus{}, internalError(txID, fmt.Errorf("block %d has no validation code for transaction %d", block.GetHeader().GetNumber(), i))
	}
	return TxStatus{TxID: txID, Block: block.GetHeader().GetNumber(), Code: code}, nil
}

// blockOf returns the block holding transaction txID and its index in the
// block. Errors: ErrTxNotFound, ErrClosed, context errors, Internal.
func (f *Fabric) blockOf(ctx context.Context, txID string) (*common.Block, int, error) {
	if f.closed.Load() {
		return nil, 0, closedError(nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, contextError(err, txID, false)
	}
	c, err := f.client(f.reader)
	if err != nil {
		return nil, 0, internalError(txID, err)
	}
	out, err := f.contract(c, qscc).EvaluateWithContext(ctx, "GetBlockByTxID", client.WithArguments(f.channel, txID))
	if err != nil {
		if txNotFound(err) {
			return nil, 0, &Error{code: codes.NotFound, msg: fmt.Sprintf("transaction %s not found", txID), txID: txID, kind: ErrTxNotFound, cause: err}
		}
		return nil, 0, f.callError(ctx, err, txID, false)
	}
	block := &common.Block{}
	if err := proto.Unmarshal(out, block); err != nil {
		return nil, 0, internalError(txID, fmt.Errorf("decode block: %w", err))
	}
	for i, data := range block.GetData().GetData() {
		id, err := envelopeTxID(data)
		if err != nil {
			return nil, 0, internalError(txID, fmt.Errorf("block %d, transaction %d: %w", block.GetHeader().GetNumber(), i, err))
		}
		if id == txID {
			return block, i, nil
		}
	}
	return nil, 0, internalError(txID, fmt.Errorf("block %d does not hold the transaction", block.GetHeader().GetNumber()))
}

// envelopeTxID returns the transaction ID of an envelope in a block.
func envelopeTxID(data []byte) (string, error) {
	env := &common.Envelope{}
	if err := proto.Unmarshal(data, env); err != nil {
		return "", fmt.Errorf("decode envelope: %w", err)
	}
	payload := &common.Payload{}
	if err := proto.Unmarshal(env.GetPayload(), payload); err != nil {
		return "", fmt.Errorf("decode payload: %w", err)
	}
	ch := &common.ChannelHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), ch); err != nil {
		return "", fmt.Errorf("decode channel header: %w", err)
	}
	return ch.GetTxId(), nil
}

// Height returns the number of blocks on the channel (qscc GetChainInfo,
// as the reader identity). Errors: ErrClosed, context errors, Internal.
func (f *Fabric) Height(ctx context.Context) (uint64, error) {
	if f.closed.Load() {
		return 0, closedError(nil)
	}
	if err := ctx.Err(); err != nil {
		return 0, contextError(err, "", false)
	}
	c, err := f.client(f.reader)
	if err != nil {
		return 0, internalError("", err)
	}
	out, err := f.contract(c, qscc).EvaluateWithContext(ctx, "GetChainInfo", client.WithArguments(f.channel))
	if err != nil {
		return 0, f.callError(ctx, err, "", false)
	}
	info := &common.BlockchainInfo{}
	if err := proto.Unmarshal(out, info); err != nil {
		return 0, internalError("", fmt.Errorf("decode chain info: %w", err))
	}
	return info.GetHeight(), nil
}

// Events streams the chaincode's events from the checkpoint's block, as
// the reader identity, skipping within that block the transactions up to
// and including the checkpoint's. Errors: as Ledger.Events.
func (f *Fabric) Events(ctx context.Context, from Checkpoint) (<-chan Event, error) {
	if f.closed.Load() {
		return nil, closedError(nil)
	}
	skip, err := f.skipSet(ctx, from)
	if err != nil {
		return nil, err
	}
	c, err := f.client(f.reader)
	if err != nil {
		return nil, internalError("", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(f.done, cancel)
	src, err := c.gw.GetNetwork(f.channel).ChaincodeEvents(sctx, f.chaincode, client.WithStartBlock(from.Block))
	if err != nil {
		stop()
		cancel()
		return nil, f.callError(ctx, err, "", false)
	}
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		defer cancel()
		defer stop()
		for ev := range src {
			if ev.BlockNumber == from.Block && skip[ev.TransactionID] {
				continue
			}
			select {
			case out <- Event{Block: ev.BlockNumber, TxID: ev.TransactionID, Name: ev.EventName, Payload: ev.Payload}:
			case <-sctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// skipSet returns the IDs of the transactions of the checkpoint's block up
// to and including its transaction, whose events were already delivered.
func (f *Fabric) skipSet(ctx context.Context, from Checkpoint) (map[string]bool, error) {
	if from.TxID == "" {
		return nil, nil
	}
	notInBlock := &Error{code: codes.InvalidArgument, msg: fmt.Sprintf("checkpoint: transaction %s is not in block %d", from.TxID, from.Block)}
	block, _, err := f.blockOf(ctx, from.TxID)
	if errors.Is(err, ErrTxNotFound) {
		return nil, notInBlock
	}
	if err != nil {
		return nil, err
	}
	if block.GetHeader().GetNumber() != from.Block {
		return nil, notInBlock
	}
	skip := map[string]bool{}
	for _, data := range block.GetData().GetData() {
		id, err := envelopeTxID(data)
		if err != nil {
			return nil, internalError("", err)
		}
		skip[id] = true
		if id == from.TxID {
			break
		}
	}
	return skip, nil
}

// Close ends the event streams, closes the clients and the gRPC
// connection. Later calls fail with ErrClosed. Errors: Internal when the
// connection fails to close.
func (f *Fabric) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return nil
	}
	f.finish()
	f.mu.Lock()
	for _, c := range f.clients {
		_ = c.gw.Close() // closes nothing but the client's own context
	}
	f.clients = nil
	f.mu.Unlock()
	if err := f.conn.Close(); err != nil {
		return internalError("", fmt.Errorf("close peer connection: %w", err))
	}
	return nil
}

// validationCode names a Fabric validation code.
func validationCode(c peer.TxValidationCode) ValidationCode {
	if name, ok := peer.TxValidationCode_name[int32(c)]; ok {
		return ValidationCode(name)
	}
	return ValidationCode(fmt.Sprintf("VALIDATION_CODE_%d", c))
}

// callError maps an error of an evaluation, endorsement or look-up: a
// chaincode's "CODE: message" in the Gateway service's error details
// becomes the chaincode error, a context's end the context's code, an
// unreachable peer (or no endorsers) Unavailable, anything else Internal.
func (f *Fabric) callError(ctx context.Context, err error, txID string, sent bool) *Error {
	if f.closed.Load() {
		return closedError(err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return contextError(fmt.Errorf("%w: %w", ctxErr, err), txID, sent)
	}
	if text, ok := chaincodeText(err); ok {
		return chaincodeError(text, txID)
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return contextError(fmt.Errorf("%w: %w", context.DeadlineExceeded, err), txID, sent)
	case codes.Canceled:
		return contextError(fmt.Errorf("%w: %w", context.Canceled, err), txID, sent)
	case codes.Unavailable:
		return unavailableError(txID, err)
	}
	return internalError(txID, err)
}

// unknownError maps an error of sending a transaction or of waiting for
// its commit status: the transaction may have reached the orderers, so its
// commit status is unknown (DeadlineExceeded, or Canceled when the
// caller canceled), unless the ledger closed.
func (f *Fabric) unknownError(ctx context.Context, err error, txID string) *Error {
	if f.closed.Load() {
		return closedError(err)
	}
	cause := ctx.Err()
	switch {
	case cause != nil:
	case status.Code(err) == codes.Canceled:
		cause = context.Canceled
	default:
		cause = context.DeadlineExceeded
	}
	return contextError(fmt.Errorf("%w: %w", cause, err), txID, true)
}

// chaincodeText returns the chaincode's "CODE: message" from a Gateway
// service error: in the error details each endorsing peer reports, or in
// the status message, after "chaincode response 500, " where a peer
// prefixes it.
func chaincodeText(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return "", false
	}
	var texts []string
	for _, d := range st.Details() {
		if ed, ok := d.(*gatewaypb.ErrorDetail); ok {
			texts = append(texts, ed.GetMessage())
		}
	}
	texts = append(texts, st.Message())
	for _, text := range texts {
		text = strings.TrimPrefix(text, "evaluate call to endorser returned error: ")
		if rest, ok := strings.CutPrefix(text, "chaincode response "); ok {
			if _, after, ok := strings.Cut(rest, ", "); ok {
				text = after
			}
		}
		for code := range grpcCodes {
			if strings.HasPrefix(text, string(code)+": ") {
				return text, true
			}
		}
		if _, ok := grpcCodes[domain.Code(text)]; ok {
			return text, true
		}
	}
	return "", false
}

// txNotFound reports whether a qscc look-up failed because the peer's
// ledger holds no transaction with the ID.
func txNotFound(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	texts := []string{st.Message()}
	for _, d := range st.Details() {
		if ed, ok := d.(*gatewaypb.ErrorDetail); ok {
			texts = append(texts, ed.GetMessage())
		}
	}
	for _, t := range texts {
		if strings.Contains(t, "no such transaction ID") || strings.Contains(t, "entry not found in index") {
			return true
		}
	}
	return false
}
