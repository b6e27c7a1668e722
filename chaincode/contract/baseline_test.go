package contract

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/medprov/medprov/chaincode/ledger"
)

// fakeStub is the part of a peer's stub that the front door, the contract
// API and Baseline:Put use: the call, the signer, the transaction time, and
// a state map with an event. Any other stub method panics (nil interface),
// which a test would notice.
type fakeStub struct {
	shim.ChaincodeStubInterface
	args    [][]byte
	creator []byte
	state   map[string][]byte
	event   *peer.ChaincodeEvent
}

func (s *fakeStub) GetArgs() [][]byte { return s.args }

func (s *fakeStub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

func (s *fakeStub) GetFunctionAndParameters() (string, []string) {
	a := s.GetStringArgs()
	if len(a) == 0 {
		return "", nil
	}
	return a[0], a[1:]
}

func (s *fakeStub) GetCreator() ([]byte, error) { return s.creator, nil }
func (s *fakeStub) GetTxID() string             { return strings.Repeat("ab", 32) }
func (s *fakeStub) GetChannelID() string        { return "medprov" }

func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)), nil
}

func (s *fakeStub) CreateCompositeKey(obj string, attrs []string) (string, error) {
	return shim.CreateCompositeKey(obj, attrs)
}

func (s *fakeStub) GetState(key string) ([]byte, error) { return s.state[key], nil }

func (s *fakeStub) PutState(key string, value []byte) error {
	s.state[key] = value
	return nil
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	s.event = &peer.ChaincodeEvent{EventName: name, Payload: payload}
	return nil
}

// fabricAttrOID is the Fabric CA attribute extension.
var fabricAttrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// creator returns a serialized identity of msp with a self-signed
// certificate carrying role (none when "") in the Fabric CA attribute
// extension.
func creator(t *testing.T, mspID, role string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "synthetic-user"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if role != "" {
		attrs, _ := json.Marshal(map[string]map[string]string{"attrs": {AttrRole: role, AttrClearance: "V"}})
		tmpl.ExtraExtensions = []pkix.Extension{{Id: fabricAttrOID, Value: attrs}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invoke(t *testing.T, cc *Chaincode, stub *fakeStub, args ...string) *peer.Response {
	t.Helper()
	stub.args = nil
	for _, a := range args {
		stub.args = append(stub.args, []byte(a))
	}
	return cc.Invoke(stub)
}

func TestBaselinePutWritesOneFixedKey(t *testing.T) {
	cc, err := New()
	if err != nil {
		t.Fatal(err)
	}
	stub := &fakeStub{creator: creator(t, "HospitalAMSP", string(ledger.RoleRecordsOfficer)), state: map[string][]byte{}}
	resp := invoke(t, cc, stub, ledger.TxBaselinePut, "00ff")
	if resp.Status != shim.OK {
		t.Fatalf("Baseline:Put: status %d: %s", resp.Status, resp.Message)
	}
	if string(resp.Payload) != `{"nonce":"00ff"}` {
		t.Errorf("payload = %s", resp.Payload)
	}
	key, _ := shim.CreateCompositeKey("medprov.baseline", []string{"00ff"})
	if len(stub.state) != 1 {
		t.Fatalf("wrote %d keys, want 1: %v", len(stub.state), stub.state)
	}
	var doc struct {
		Kind          string `json:"kind"`
		SchemaVersion int    `json:"schemaVersion"`
	}
	if err := json.Unmarshal(stub.state[key], &doc); err != nil || doc.Kind != ledger.KindBaseline || doc.SchemaVersion != ledger.SchemaVersion {
		t.Errorf("stored %q (%v), want the baseline document", stub.state[key], err)
	}
	if stub.event == nil || stub.event.EventName != ledger.EventBaselinePut || string(stub.event.Payload) != `{"nonce":"00ff"}` {
		t.Errorf("event = %v, want %s with the nonce", stub.event, ledger.EventBaselinePut)
	}

	// Another nonce writes the same bytes under another key.
	before := stub.state[key]
	if resp := invoke(t, cc, stub, ledger.TxBaselinePut, strings.Repeat("9", 64)); resp.Status != shim.OK {
		t.Fatalf("Baseline:Put of a 64-digit nonce: %s", resp.Message)
	}
	other, _ := shim.CreateCompositeKey("medprov.baseline", []string{strings.Repeat("9", 64)})
	if len(stub.state) != 2 || string(stub.state[other]) != string(before) {
		t.Errorf("second put: state %v, want two keys with the same value", stub.state)
	}
}

func TestBaselinePutRefusesBadCallsAndChangesNothing(t *testing.T) {
	cc, err := New()
	if err != nil {
		t.Fatal(err)
	}
	officer := creator(t, "HospitalAMSP", string(ledger.RoleRecordsOfficer))
	tests := map[string]struct {
		creator  []byte
		args     []string
		want     error
		wantText string
	}{
		"an empty nonce is refused":               {officer, []string{ledger.TxBaselinePut, ""}, ledger.ErrInvalidArgument, "nonce"},
		"a 65-digit nonce is refused":             {officer, []string{ledger.TxBaselinePut, strings.Repeat("a", 65)}, ledger.ErrInvalidArgument, "nonce"},
		"upper-case hex is refused":               {officer, []string{ledger.TxBaselinePut, "ABCD"}, ledger.ErrInvalidArgument, "nonce"},
		"free text is refused":                    {officer, []string{ledger.TxBaselinePut, "patient has flu"}, ledger.ErrInvalidArgument, "nonce"},
		"a nonce with a key separator is refused": {officer, []string{ledger.TxBaselinePut, "ab\x00cd"}, ledger.ErrInvalidArgument, "nonce"},
		"a missing nonce is refused":              {officer, []string{ledger.TxBaselinePut}, ledger.ErrInvalidArgument, "Baseline:Put takes 1 argument(s): nonce"},
		"two arguments are refused":               {officer, []string{ledger.TxBaselinePut, "ab", "cd"}, ledger.ErrInvalidArgument, "arguments"},
		"the unqualified name is unknown":         {officer, []string{"Put", "ab"}, ledger.ErrInvalidArgument, "unknown transaction"},
		"a clinician may not put":                 {creator(t, "HospitalAMSP", string(ledger.RoleClinician)), []string{ledger.TxBaselinePut, "ab"}, ledger.ErrPermissionDenied, "Baseline:Put"},
		"an auditor may not put":                  {creator(t, "HealthAuthorityMSP", string(ledger.RoleAuditor)), []string{ledger.TxBaselinePut, "ab"}, ledger.ErrPermissionDenied, "Baseline:Put"},
		"a caller without a role may not put":     {creator(t, "HospitalAMSP", ""), []string{ledger.TxBaselinePut, "ab"}, ledger.ErrPermissionDenied, AttrRole},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stub := &fakeStub{creator: tc.creator, state: map[string][]byte{}}
			resp := invoke(t, cc, stub, tc.args...)
			if resp.Status == shim.OK {
				t.Fatalf("succeeded with payload %s", resp.Payload)
			}
			if got := ledger.ParseError(resp.Message); !errors.Is(got, tc.want) || !strings.Contains(got.Message, tc.wantText) {
				t.Errorf("error %q, want %v naming %q", resp.Message, tc.want, tc.wantText)
			}
			if len(stub.state) != 0 || stub.event != nil {
				t.Errorf("a refused call changed state %v or set event %v", stub.state, stub.event)
			}
		})
	}
}

func TestBaselineAllowsRecordsOfficersAndAdmins(t *testing.T) {
	cc, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []ledger.Role{ledger.RoleRecordsOfficer, ledger.RoleAdmin} {
		stub := &fakeStub{creator: creator(t, "HospitalBMSP", string(role)), state: map[string][]byte{}}
		if resp := invoke(t, cc, stub, ledger.TxBaselinePut, "01"); resp.Status != shim.OK {
			t.Errorf("%s: %s", role, resp.Message)
		}
	}
}
