package ledger

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"testing"

	gatewaypb "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// gatewayError builds an error as a peer's Gateway service returns it.
func gatewayError(t *testing.T, code codes.Code, msg string, details ...string) error {
	t.Helper()
	st := status.New(code, msg)
	for _, d := range details {
		var err error
		if st, err = st.WithDetails(&gatewaypb.ErrorDetail{Address: "127.0.0.1:9051", MspId: "HospitalAMSP", Message: d}); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

func TestFabricErrorMapping(t *testing.T) {
	f := &Fabric{}
	tests := map[string]struct {
		err      error
		code     codes.Code
		sentinel error
	}{
		"a chaincode error in an endorsement's details keeps its class": {
			err:  gatewayError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info", "NOT_FOUND: record rec-1"),
			code: codes.NotFound, sentinel: domain.ErrNotFound,
		},
		"a chaincode error after the peer's prefix keeps its class": {
			err:  gatewayError(t, codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, PERMISSION_DENIED: role auditor may not call AnchorRecord"),
			code: codes.PermissionDenied, sentinel: domain.ErrPermissionDenied,
		},
		"an internal chaincode error is internal": {
			err:  gatewayError(t, codes.Aborted, "failed to evaluate transaction, see attached details for more info", "INTERNAL: state is corrupt"),
			code: codes.Internal, sentinel: domain.ErrInternal,
		},
		"a peer error that names no class is internal": {
			err:  gatewayError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info", "access denied: channel [medprov] creator org unknown"),
			code: codes.Internal,
		},
		"a step timeout is deadline exceeded": {
			err:  gatewayError(t, codes.DeadlineExceeded, "endorsement timeout expired while collecting first endorsement"),
			code: codes.DeadlineExceeded, sentinel: context.DeadlineExceeded,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := f.callError(context.Background(), tc.err, "", false)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code = %v, want %v (%v)", got, tc.code, err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if tc.code == codes.Internal && err.Error() != internalMessage {
				t.Errorf("message %q leaks detail; want %q", err.Error(), internalMessage)
			}
		})
	}
}

func TestFabricSendErrorsLeaveTheStatusUnknown(t *testing.T) {
	f := &Fabric{}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := map[string]struct {
		ctx  context.Context
		err  error
		code codes.Code
	}{
		"no orderer reachable":             {context.Background(), gatewayError(t, codes.Unavailable, "no orderers could successfully process transaction"), codes.DeadlineExceeded},
		"the commit-status wait timed out": {context.Background(), gatewayError(t, codes.DeadlineExceeded, "context deadline exceeded"), codes.DeadlineExceeded},
		"the caller canceled":              {canceled, gatewayError(t, codes.Canceled, "context canceled"), codes.Canceled},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := f.unknownError(tc.ctx, tc.err, "tx1")
			if got := status.Code(err); got != tc.code {
				t.Errorf("code = %v, want %v", got, tc.code)
			}
			if !errors.Is(err, ErrCommitStatusUnknown) || err.TxID() != "tx1" {
				t.Errorf("%v: want ErrCommitStatusUnknown naming tx1", err)
			}
		})
	}
}

func TestFabricRecognisesPeerReplies(t *testing.T) {
	tests := map[string]struct {
		err               error
		disagree, missing bool
	}{
		"endorsers that disagree": {
			err:      gatewayError(t, codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info", "ProposalResponsePayloads do not match"),
			disagree: true,
		},
		"a first endorser that refuses": {
			err: gatewayError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info", "NOT_FOUND: record rec-1"),
		},
		"a transaction the ledger does not hold": {
			err:     gatewayError(t, codes.Aborted, "failed to evaluate transaction, see attached details for more info", "Failed to get block for txID abc, error no such transaction ID [abc] in index"),
			missing: true,
		},
		"another look-up failure": {
			err: gatewayError(t, codes.Aborted, "failed to evaluate transaction, see attached details for more info", "Failed to get block for txID abc, error leveldb: closed"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := peersDisagree(tc.err); got != tc.disagree {
				t.Errorf("peersDisagree = %v, want %v", got, tc.disagree)
			}
			if got := txNotFound(tc.err); got != tc.missing {
				t.Errorf("txNotFound = %v, want %v", got, tc.missing)
			}
		})
	}
}

// highSSigner is an ECDSA signer that always returns the high-S form of
// its signature, as a PKCS#11 token may.
type highSSigner struct{ k *ecdsa.PrivateKey }

func (h highSSigner) Public() crypto.PublicKey { return h.k.Public() }

func (h highSSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	der, err := h.k.Sign(r, digest, opts)
	if err != nil {
		return nil, err
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	n := h.k.Curve.Params().N
	if sig.S.Cmp(new(big.Int).Rsh(n, 1)) <= 0 {
		sig.S = new(big.Int).Sub(n, sig.S)
	}
	return asn1.Marshal(sig)
}

func TestFabricSignaturesHaveALowS(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := signerSign(highSSigner{k})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("synthetic proposal"))
	der, err := sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		t.Fatal(err)
	}
	if sig.S.Cmp(new(big.Int).Rsh(k.Curve.Params().N, 1)) > 0 {
		t.Error("the signature has a high S, which Fabric rejects")
	}
	if !ecdsa.Verify(&k.PublicKey, digest[:], sig.R, sig.S) {
		t.Error("the normalised signature does not verify")
	}
}

func TestNewFabricChecksItsArguments(t *testing.T) {
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tests := map[string]struct {
		conn               *grpc.ClientConn
		channel, chaincode string
		reader             Identity
	}{
		"no connection":             {nil, "medprov", "medprov", Identity{}},
		"no channel":                {conn, "", "medprov", Identity{}},
		"no chaincode":              {conn, "medprov", "", Identity{}},
		"a reader without a signer": {conn, "medprov", "medprov", Identity{MSPID: "HospitalAMSP"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewFabric(tc.conn, tc.channel, tc.chaincode, tc.reader)
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("NewFabric: %v, want InvalidArgument", err)
			}
		})
	}
}

func TestFabricTransactionPersistsItsSignedBytes(t *testing.T) {
	tx := &Transaction{id: "tx1", name: domain.TxRegisterPatient, args: []string{"key"}, backend: fabricTx{signed: []byte("signed envelope")}}
	enc, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := RestoreTransaction(enc)
	if err != nil {
		t.Fatal(err)
	}
	ft, ok := got.backend.(fabricTx)
	if !ok || string(ft.signed) != "signed envelope" || got.ID() != "tx1" || !got.sent.Load() {
		t.Errorf("restored %+v, want the same signed bytes, marked possibly sent", got)
	}
	if _, err := RestoreTransaction([]byte(`{"format":1,"backend":"fabric","txId":"tx1","function":"f"}`)); status.Code(err) != codes.InvalidArgument {
		t.Errorf("restoring a fabric transaction without its signed bytes: %v, want InvalidArgument", err)
	}
	if got := validationCode(peer.TxValidationCode_MVCC_READ_CONFLICT); got != CodeMVCCReadConflict {
		t.Errorf("validationCode = %s, want %s", got, CodeMVCCReadConflict)
	}
}
