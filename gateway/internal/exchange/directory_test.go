package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/internal/devnet"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestLedgerDirectoryReadsTheOnChainEntry(t *testing.T) {
	n, err := devnet.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.NewEmbedded(n.Ledger)
	t.Cleanup(func() { _ = l.Close() })
	ctx := context.Background()

	admin, err := n.User(devnet.HospitalA, "admin", string(domain.RoleAdmin), string(domain.ConfNormal))
	if err != nil {
		t.Fatal(err)
	}
	ca := n.Org(devnet.HospitalA).TLSCACertPEM()
	req := asJSON(t, domain.EndpointRequest{Endpoint: "gateway.hospital-a.medprov.test:7443", TLSCACertPEM: string(ca)})
	if _, err := l.Submit(ctx, identity(admin), domain.TxSetOrgEndpoint, req); err != nil {
		t.Fatal(err)
	}
	// Any member of another organisation may read the directory.
	clinB, err := n.User(devnet.HospitalB, "clinician", string(domain.RoleClinician), string(domain.ConfNormal))
	if err != nil {
		t.Fatal(err)
	}
	dir := LedgerDirectory(l, identity(clinB))

	ep, err := dir(ctx, devnet.HospitalA)
	if err != nil {
		t.Fatal(err)
	}
	if ep.MSPID != devnet.HospitalA || ep.Address != "gateway.hospital-a.medprov.test:7443" || !bytes.Equal(ep.TLSCACertPEM, ca) {
		t.Errorf("entry = %s at %s, want %s at gateway.hospital-a.medprov.test:7443 with its TLS CA", ep.MSPID, ep.Address, devnet.HospitalA)
	}

	_, err = dir(ctx, devnet.HospitalB)
	if !errors.Is(err, domain.ErrNotFound) || status.Code(err) != codes.NotFound {
		t.Errorf("entry of an organisation without one: %v (code %v), want NotFound", err, status.Code(err))
	}
	if _, err := dir(ctx, "Hospital A"); !errors.Is(err, domain.ErrInvalidArgument) || !strings.Contains(err.Error(), "mspID") {
		t.Errorf("malformed MSP ID: %v, want an invalid argument naming mspID", err)
	}
}

// fakeLedger answers Evaluate with a fixed payload; other methods are not
// used by LedgerDirectory (calling them panics on the nil interface).
type fakeLedger struct {
	ledger.Ledger
	payload []byte
	err     error
	calls   []string
}

func (f *fakeLedger) Evaluate(_ context.Context, _ ledger.Identity, tx string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, tx+"("+strings.Join(args, ",")+")")
	return f.payload, f.err
}

func TestLedgerDirectoryRefusesBadEntries(t *testing.T) {
	ca := string(newDevOrg(t, custodianMSP, "hospital-a.example").TLSCACertPEM())
	entry := func(edit func(*domain.OrgEndpoint)) []byte {
		oe := domain.OrgEndpoint{Kind: domain.KindOrgEndpoint, SchemaVersion: 1, MSPID: custodianMSP,
			Endpoint: "127.0.0.1:7443", TLSCACertPEM: ca}
		if edit != nil {
			edit(&oe)
		}
		b, err := json.Marshal(oe)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := map[string]struct {
		payload []byte
		err     error
		want    error
		field   string
	}{
		"a well-formed entry is accepted": {payload: entry(nil)},
		"a payload that is not JSON is refused": {
			payload: []byte("not json"), want: ErrBadEndpoint,
		},
		"a document of another kind is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) { oe.Kind = domain.KindAccessEvent }), want: ErrBadEndpoint, field: "kind",
		},
		"an entry of another organisation is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) { oe.MSPID = requesterMSP }), want: ErrBadEndpoint, field: "mspId",
		},
		"an address without a port is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) { oe.Endpoint = "gateway.hospital-a.example" }), want: ErrBadEndpoint, field: "endpoint",
		},
		"an address with a port out of range is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) { oe.Endpoint = "gateway.hospital-a.example:70000" }), want: ErrBadEndpoint, field: "endpoint",
		},
		"a TLS CA that is not PEM is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) { oe.TLSCACertPEM = "not a certificate" }), want: ErrBadEndpoint, field: "tlsCaCertPem",
		},
		"a TLS CA that does not parse is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) {
				oe.TLSCACertPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
			}), want: ErrBadEndpoint, field: "tlsCaCertPem",
		},
		"a TLS CA that is a key is refused": {
			payload: entry(func(oe *domain.OrgEndpoint) {
				oe.TLSCACertPEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
			}), want: ErrBadEndpoint, field: "tlsCaCertPem",
		},
		"a ledger error keeps its status": {
			err: status.Error(codes.Unavailable, "ledger unavailable"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fakeLedger{payload: tc.payload, err: tc.err}
			ep, err := LedgerDirectory(f, ledger.Identity{MSPID: requesterMSP})(context.Background(), custodianMSP)
			if want := []string{domain.TxGetOrgEndpoint + "(" + custodianMSP + ")"}; len(f.calls) != 1 || f.calls[0] != want[0] {
				t.Errorf("ledger calls = %v, want %v", f.calls, want)
			}
			switch {
			case tc.err != nil:
				if status.Code(err) != status.Code(tc.err) {
					t.Errorf("error = %v (code %v), want code %v", err, status.Code(err), status.Code(tc.err))
				}
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("error = %v, want %v", err, tc.want)
				}
				if !strings.Contains(err.Error(), tc.field) {
					t.Errorf("error %q does not name %s", err, tc.field)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if ep.MSPID != custodianMSP || ep.Address != "127.0.0.1:7443" || string(ep.TLSCACertPEM) != ca {
					t.Errorf("entry = %+v", ep)
				}
			}
		})
	}
}

// FuzzLedgerDirectory feeds arbitrary payloads to LedgerDirectory: it never
// panics, and an entry it accepts is of the organisation asked for, with
// an address the chaincode would accept and a TLS CA that parses.
func FuzzLedgerDirectory(f *testing.F) {
	ca := string(newDevOrg(f, custodianMSP, "hospital-a.example").TLSCACertPEM())
	for _, oe := range []domain.OrgEndpoint{
		{Kind: domain.KindOrgEndpoint, SchemaVersion: 1, MSPID: custodianMSP, Endpoint: "127.0.0.1:7443", TLSCACertPEM: ca},
		{Kind: domain.KindOrgEndpoint, MSPID: custodianMSP, Endpoint: "gw:0", TLSCACertPEM: ca},
		{Kind: domain.KindOrgEndpoint, MSPID: custodianMSP, Endpoint: "[::1]:7443", TLSCACertPEM: ca},
		{Kind: domain.KindOrgEndpoint, MSPID: requesterMSP, Endpoint: "gw:1", TLSCACertPEM: "x"},
	} {
		b, err := json.Marshal(oe)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"orgEndpoint"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		ep, err := LedgerDirectory(&fakeLedger{payload: payload}, ledger.Identity{})(context.Background(), custodianMSP)
		if err != nil {
			if !errors.Is(err, ErrBadEndpoint) {
				t.Fatalf("error %v does not match ErrBadEndpoint", err)
			}
			return
		}
		if ep.MSPID != custodianMSP {
			t.Fatalf("accepted an entry of %q", ep.MSPID)
		}
		if err := domain.CheckEndpoint("endpoint", ep.Address); err != nil {
			t.Fatalf("accepted address %q: %v", ep.Address, err)
		}
		if _, _, err := ep.parse(); err != nil {
			t.Fatalf("accepted an entry that does not parse: %v", err)
		}
	})
}
