package bench

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	gatewaypb "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// decodeAnchor decodes an AnchorRecord argument as the chaincode does
// (contract.decodeRequest): the strict decoder, then Validate.
func decodeAnchor(t *testing.T, arg string) domain.AnchorRequest {
	t.Helper()
	var req domain.AnchorRequest
	if err := domain.DecodeStrict("request", arg, &req); err != nil {
		t.Fatalf("the chaincode's decoder refuses %s: %v", arg, err)
	}
	if err := req.Validate(); err != nil {
		t.Fatalf("the chaincode's validation refuses %s: %v", arg, err)
	}
	return req
}

// anchorPut returns a Put set up for TransactionAnchor as OpenPut leaves
// it, without a peer: a run ID, a seed and a registered patient.
func anchorPut(t *testing.T) *Put {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, pseudonym, err := registerArgs(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := &Put{tx: TransactionAnchor, patient: pseudonym, rand: rand.Reader}
	if p.run, err = runID(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if p.seed, err = seed(rand.Reader); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnchorCallsAreAnchorRecordsTheChaincodeAccepts(t *testing.T) {
	p := anchorPut(t)
	ids := map[string]bool{}
	commitments := map[string]bool{}
	const calls = 50
	for range calls {
		fn, args, err := p.next()
		if err != nil {
			t.Fatal(err)
		}
		if fn != domain.TxAnchorRecord || len(args) != 1 {
			t.Fatalf("next() = %s with %d arguments, want %s with 1", fn, len(args), domain.TxAnchorRecord)
		}
		req := decodeAnchor(t, args[0])
		if req.Patient != p.patient || req.DocType != benchDocType || req.Confidentiality != domain.ConfNormal || req.DerivedFrom != nil {
			t.Errorf("request %+v: want patient %s, doc type %s, confidentiality N, no derivedFrom", req, p.patient, benchDocType)
		}
		if !strings.HasPrefix(req.RecordID, "bench-"+p.run+"-") {
			t.Errorf("record ID %s does not carry the run ID %s", req.RecordID, p.run)
		}
		ids[req.RecordID] = true
		commitments[req.Commitment] = true
	}
	if len(ids) != calls || len(commitments) != calls {
		t.Errorf("%d calls made %d record IDs and %d commitments, want all distinct", calls, len(ids), len(commitments))
	}
}

func TestAnchorArgsCommitToTheContentUnderTheSalt(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, domain.SaltSize)
	doc := make([]byte, ContentSize)
	content(doc, [32]byte{1}, 1)
	const patient = "pt-0123456789abcdef0123456789abcdef01234567"
	arg, err := anchorArgs("bench-0a0b0c0d0e0f-1", patient, salt, doc)
	if err != nil {
		t.Fatal(err)
	}
	req := decodeAnchor(t, arg)
	if want := domain.Commitment(salt, sha256.Sum256(doc)); req.Commitment != want {
		t.Errorf("commitment %s, want Commitment(salt, SHA-256(content)) = %s", req.Commitment, want)
	}
	if req.RecordID != "bench-0a0b0c0d0e0f-1" || req.Patient != patient {
		t.Errorf("request %+v does not name the record and patient given", req)
	}
	other := bytes.Repeat([]byte{8}, domain.SaltSize)
	if arg2, err := anchorArgs("bench-0a0b0c0d0e0f-1", patient, other, doc); err != nil || decodeAnchor(t, arg2).Commitment == req.Commitment {
		t.Errorf("another salt gives the same commitment (err %v)", err)
	}
}

func TestAnchorArgsRefuseWhatTheChaincodeWould(t *testing.T) {
	salt := make([]byte, domain.SaltSize)
	tests := map[string]struct{ recordID, patient, field string }{
		"a record ID that is too short":  {"b", "pt-0123456789abcdef0123456789abcdef01234567", "request.recordId"},
		"a patient that is no pseudonym": {"bench-1", "patient-1", "request.patient"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := anchorArgs(tc.recordID, tc.patient, salt, []byte("synthetic"))
			if !errors.Is(err, domain.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want INVALID_ARGUMENT naming %s", err, tc.field)
			}
		})
	}
}

func TestRegisterArgsAreAKeyTheChaincodeParses(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	arg, pseudonym, err := registerArgs(pub)
	if err != nil {
		t.Fatal(err)
	}
	k, err := domain.ParsePatientKey("publicKey", arg)
	if err != nil {
		t.Fatalf("the chaincode refuses the key: %v", err)
	}
	if k.Base64() != arg || k.Pseudonym() != pseudonym {
		t.Errorf("key %s, pseudonym %s; the chaincode reads %s, %s", arg, pseudonym, k.Base64(), k.Pseudonym())
	}
	if err := domain.CheckPseudonym("patient", pseudonym); err != nil {
		t.Error(err)
	}
}

func TestBaselineCallsArePutsOfANonce(t *testing.T) {
	p := &Put{tx: TransactionBaseline, rand: rand.Reader}
	fn, args, err := p.next()
	if err != nil {
		t.Fatal(err)
	}
	if fn != domain.TxBaselinePut || len(args) != 1 {
		t.Fatalf("next() = %s with %d arguments, want %s with 1", fn, len(args), domain.TxBaselinePut)
	}
	if err := domain.CheckNonce("nonce", args[0]); err != nil {
		t.Error(err)
	}
}

func TestCallsFailWhenTheRandomSourceDoes(t *testing.T) {
	broken := iotest.ErrReader(errors.New("entropy exhausted"))
	tests := map[string]struct {
		p    *Put
		want string
	}{
		"the baseline's nonce": {&Put{tx: TransactionBaseline, rand: broken}, "nonce"},
		"the anchor's salt":    {&Put{tx: TransactionAnchor, patient: "pt-0123456789abcdef0123456789abcdef01234567", run: "0a0b0c0d0e0f", rand: broken}, "salt"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := tc.p.next(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming the %s", err, tc.want)
			}
		})
	}
}

func TestParseTransaction(t *testing.T) {
	tests := map[string]struct {
		in       string
		want     Transaction
		workload string
	}{
		"empty is the baseline":         {"", TransactionBaseline, "put"},
		"baseline keeps the put's name": {"baseline", TransactionBaseline, "put"},
		"anchor is named put-anchor":    {"anchor", TransactionAnchor, "put-anchor"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTransaction(tc.in)
			if err != nil || got != tc.want || got.WorkloadName() != tc.workload {
				t.Errorf("ParseTransaction(%q) = %q (%s), %v; want %q (%s)", tc.in, got, got.WorkloadName(), err, tc.want, tc.workload)
			}
		})
	}
	for _, bad := range []string{"Anchor", "put", "access"} {
		if _, err := ParseTransaction(bad); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "transaction") {
			t.Errorf("ParseTransaction(%q): err = %v, want ErrOptions naming the transaction", bad, err)
		}
	}
}

// gatewayError builds an error as a peer's Gateway service returns it,
// with details as its endorsing peers report them.
func gatewayError(t *testing.T, code codes.Code, msg string, details ...string) error {
	t.Helper()
	st := status.New(code, msg)
	for _, d := range details {
		var err error
		if st, err = st.WithDetails(&gatewaypb.ErrorDetail{Address: "127.0.0.1:7051", MspId: "HospitalAMSP", Message: d}); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

func TestEndorsementErrorsCountUnderTheChaincodesCode(t *testing.T) {
	const failed = "failed to endorse transaction, see attached details for more info"
	tests := map[string]struct {
		err   error
		label string
		code  codes.Code
	}{
		"a chaincode error in the details keeps its class": {
			gatewayError(t, codes.Aborted, failed, "ALREADY_EXISTS: record bench-1"), "ALREADY_EXISTS", codes.AlreadyExists},
		"a chaincode error after the peer's prefix keeps its class": {
			gatewayError(t, codes.Aborted, failed, "chaincode response 500, PERMISSION_DENIED: request.confidentiality: above the caller's clearance L"), "PERMISSION_DENIED", codes.PermissionDenied},
		"a chaincode error in the status message keeps its class": {
			gatewayError(t, codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, NOT_FOUND: patient pt-1"), "NOT_FOUND", codes.NotFound},
		"a peer error that names no class stays the Gateway service's": {
			gatewayError(t, codes.Aborted, failed, "access denied: channel [medprov] creator org unknown"), "ABORTED", codes.Aborted},
		"an unreachable peer stays unavailable": {
			gatewayError(t, codes.Unavailable, "connection refused"), "UNAVAILABLE", codes.Unavailable},
		"an error without a status passes through": {
			errors.New("create proposal: no signer"), "UNKNOWN", codes.Unknown},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := fmt.Errorf("%w: RegisterPatient: %w", ErrSetup, endorseError(tc.err))
			if got := Code(err); got != tc.label {
				t.Errorf("Code = %s, want %s (%v)", got, tc.label, err)
			}
			if got := status.Code(err); got != tc.code {
				t.Errorf("status code = %v, want %v (%v)", got, tc.code, err)
			}
			if !errors.Is(err, tc.err) || !errors.Is(err, ErrSetup) {
				t.Errorf("%v does not wrap the Gateway service's error and ErrSetup", err)
			}
		})
	}
}
