package server_test

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/internal/devnet"
)

func TestAdminStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.admin(t, devnet.HospitalB, "admin")

	st, err := admin.Status(ctx, &gatewayv1.StatusRequest{})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.GetMspId() != devnet.HospitalB || st.GetLedgerBackend() != "embedded" || st.GetKekId() == "" ||
		st.GetStartTime() == nil || st.GetRecordsPending() != 0 || st.GetRecordsAnchored() != 0 || st.GetBlockHeight() == 0 {
		t.Errorf("Status = %v", st)
	}

	for _, user := range []string{"clinician", "officer", "auditor", "researcher"} {
		t.Run("a "+user+" may not read the status", func(t *testing.T) {
			_, err := f.admin(t, devnet.HospitalB, user).Status(ctx, &gatewayv1.StatusRequest{})
			wantCode(t, err, codes.PermissionDenied, "admin")
		})
	}
	t.Run("a caller outside the wallet may not read the status", func(t *testing.T) {
		_, err := f.admin(t, devnet.HospitalB, "").Status(ctx, &gatewayv1.StatusRequest{})
		wantCode(t, err, codes.PermissionDenied, "")
	})
}

func TestRotateKeysKeepsRecordsReadable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.register(t, devnet.HospitalA).Pseudonym
	clinician := f.records(t, devnet.HospitalA, "clinician")
	admin := f.admin(t, devnet.HospitalA, "admin")
	docs := map[string][]byte{"rotate-1": document(30, 200_000), "rotate-2": document(31, 5)}
	for id, doc := range docs {
		addRecord(t, clinician, recordMetadata(id, patient), doc)
	}
	if _, err := recAmend(ctx, clinician, &gatewayv1.AmendmentMetadata{RecordId: "rotate-2", Reason: gatewayv1.AmendmentReason_AMENDMENT_REASON_ADDENDUM}, document(32, 50)); err != nil {
		t.Fatalf("AmendRecord: %v", err)
	}
	before, err := admin.Status(ctx, &gatewayv1.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if before.GetRecordsAnchored() != 3 || before.GetRecordsPending() != 0 {
		t.Errorf("Status counts %d anchored, %d pending; want 3 (two records, one amended) and 0", before.GetRecordsAnchored(), before.GetRecordsPending())
	}

	t.Run("only an admin may rotate keys, and a refusal changes nothing", func(t *testing.T) {
		for _, user := range []string{"officer", "clinician", "auditor"} {
			_, err := f.admin(t, devnet.HospitalA, user).RotateKeys(ctx, &gatewayv1.RotateKeysRequest{})
			wantCode(t, err, codes.PermissionDenied, "admin")
		}
		st, err := admin.Status(ctx, &gatewayv1.StatusRequest{})
		if err != nil || st.GetKekId() != before.GetKekId() {
			t.Fatalf("after refused rotations the KEK is %s, was %s (%v)", st.GetKekId(), before.GetKekId(), err)
		}
	})

	rotated, err := admin.RotateKeys(ctx, &gatewayv1.RotateKeysRequest{})
	if err != nil {
		t.Fatalf("RotateKeys: %v", err)
	}
	if rotated.GetPreviousKekId() != before.GetKekId() || rotated.GetKekId() == before.GetKekId() || rotated.GetKekId() == "" {
		t.Errorf("RotateKeys = %v, KEK before %s", rotated, before.GetKekId())
	}
	if rotated.GetRewrapped() != 3 {
		t.Errorf("rewrapped %d data keys, want 3 (two records, one amended)", rotated.GetRewrapped())
	}
	after, err := admin.Status(ctx, &gatewayv1.StatusRequest{})
	if err != nil || after.GetKekId() != rotated.GetKekId() {
		t.Fatalf("Status after rotation names KEK %s, want %s (%v)", after.GetKekId(), rotated.GetKekId(), err)
	}
	for id, doc := range docs {
		if _, got, _, err := getRecord(ctx, clinician, readRequest(id, 1)); err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("GetRecord %s after rotation: %v, content equal %v", id, err, bytes.Equal(got, doc))
		}
	}

	t.Run("concurrent rotations end with every key under the active KEK", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]error, 3)
		for i := range results {
			wg.Go(func() {
				_, results[i] = admin.RotateKeys(ctx, &gatewayv1.RotateKeysRequest{})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch status.Code(err) {
			case codes.OK:
				ok++
			case codes.FailedPrecondition:
			default:
				t.Errorf("a concurrent RotateKeys failed: %v", err)
			}
		}
		if ok == 0 {
			t.Fatal("no concurrent rotation succeeded")
		}
		// A rotation now finds nothing left under an older KEK but what it
		// rewraps itself: all three keys.
		again, err := admin.RotateKeys(ctx, &gatewayv1.RotateKeysRequest{})
		if err != nil || again.GetRewrapped() != 3 {
			t.Fatalf("RotateKeys after concurrent rotations = %v, %v", again, err)
		}
		for id, doc := range docs {
			if _, got, _, err := getRecord(ctx, clinician, readRequest(id, 1)); err != nil || !bytes.Equal(got, doc) {
				t.Fatalf("GetRecord %s after rotations: %v", id, err)
			}
		}
	})
}

func TestDirectoryEntry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	org := f.c.Org(devnet.HospitalA)
	caPEM, err := os.ReadFile(org.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	leafs, err := filepath.Glob(filepath.Join(org.UserDir("clinician"), "msp", "signcerts", "*.pem"))
	if err != nil || len(leafs) != 1 {
		t.Fatalf("signcerts: %v %v", leafs, err)
	}
	leafPEM, err := os.ReadFile(leafs[0])
	if err != nil {
		t.Fatal(err)
	}
	admin := f.admin(t, devnet.HospitalA, "admin")
	reader := f.admin(t, devnet.HospitalA, "researcher")

	original, err := reader.GetDirectoryEntry(ctx, &gatewayv1.GetDirectoryEntryRequest{MspId: devnet.HospitalA})
	if err != nil {
		t.Fatalf("GetDirectoryEntry: %v", err)
	}
	if original.GetEntry().GetMspId() != devnet.HospitalA || original.GetEntry().GetEndpoint() != org.Addrs.GRPC {
		t.Errorf("the published entry = %v, want endpoint %s", original.GetEntry(), org.Addrs.GRPC)
	}

	refused := map[string]struct {
		user string
		req  *gatewayv1.SetDirectoryEntryRequest
		code codes.Code
		want string
	}{
		"an endpoint without a port is refused": {
			req: &gatewayv1.SetDirectoryEntryRequest{Endpoint: "127.0.0.1", TlsCaCertPem: string(caPEM)}, code: codes.InvalidArgument, want: "endpoint",
		},
		"an empty CA certificate is refused": {
			req: &gatewayv1.SetDirectoryEntryRequest{Endpoint: "127.0.0.1:7051"}, code: codes.InvalidArgument, want: "tls_ca_cert_pem",
		},
		"two CA certificates are refused": {
			req: &gatewayv1.SetDirectoryEntryRequest{Endpoint: "127.0.0.1:7051", TlsCaCertPem: string(caPEM) + string(caPEM)}, code: codes.InvalidArgument, want: "tls_ca_cert_pem",
		},
		"a certificate that is not a CA is refused": {
			req: &gatewayv1.SetDirectoryEntryRequest{Endpoint: "127.0.0.1:7051", TlsCaCertPem: string(leafPEM)}, code: codes.InvalidArgument, want: "tls_ca_cert_pem",
		},
		"a CA certificate above 8192 bytes is refused": {
			req: &gatewayv1.SetDirectoryEntryRequest{Endpoint: "127.0.0.1:7051", TlsCaCertPem: string(caPEM) + strings.Repeat(" ", 8192)}, code: codes.InvalidArgument, want: "tls_ca_cert_pem",
		},
		"a records officer may not set the entry": {
			user: "officer", req: &gatewayv1.SetDirectoryEntryRequest{Endpoint: "127.0.0.1:7051", TlsCaCertPem: string(caPEM)}, code: codes.PermissionDenied,
		},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			user := cmp.Or(tc.user, "admin")
			_, err := f.admin(t, devnet.HospitalA, user).SetDirectoryEntry(ctx, tc.req)
			wantCode(t, err, tc.code, tc.want)
			now, err := reader.GetDirectoryEntry(ctx, &gatewayv1.GetDirectoryEntryRequest{MspId: devnet.HospitalA})
			if err != nil || !proto.Equal(now.GetEntry(), original.GetEntry()) {
				t.Fatalf("a refused SetDirectoryEntry changed the entry: %v, %v", now, err)
			}
		})
	}

	t.Run("an admin replaces the entry and every role reads it", func(t *testing.T) {
		set, err := admin.SetDirectoryEntry(ctx, &gatewayv1.SetDirectoryEntryRequest{Endpoint: "localhost:17051", TlsCaCertPem: string(caPEM)})
		if err != nil {
			t.Fatalf("SetDirectoryEntry: %v", err)
		}
		e := set.GetEntry()
		if e.GetMspId() != devnet.HospitalA || e.GetEndpoint() != "localhost:17051" || e.GetTlsCaCertPem() != string(caPEM) || !recTxID.MatchString(e.GetTxId()) || e.GetUpdatedAt() == nil {
			t.Errorf("SetDirectoryEntry = %v", e)
		}
		for _, msp := range []string{devnet.HospitalA, devnet.HospitalB} {
			got, err := f.admin(t, msp, "auditor").GetDirectoryEntry(ctx, &gatewayv1.GetDirectoryEntryRequest{MspId: devnet.HospitalA})
			if err != nil || !proto.Equal(got.GetEntry(), e) {
				t.Errorf("GetDirectoryEntry at %s = %v, %v; want %v", msp, got, err, e)
			}
		}
		// Put the published entry back, so that the consortium stays usable.
		if _, err := admin.SetDirectoryEntry(ctx, &gatewayv1.SetDirectoryEntryRequest{Endpoint: original.GetEntry().GetEndpoint(), TlsCaCertPem: original.GetEntry().GetTlsCaCertPem()}); err != nil {
			t.Fatalf("restore the entry: %v", err)
		}
	})

	lookups := map[string]struct {
		msp  string
		code codes.Code
		want string
	}{
		"an organisation without an entry is not found": {msp: "NoSuchOrgMSP", code: codes.NotFound},
		"an empty MSP ID is refused":                    {msp: "", code: codes.InvalidArgument, want: "msp_id"},
		"a malformed MSP ID is refused":                 {msp: "no spaces", code: codes.InvalidArgument, want: "msp_id"},
	}
	for name, tc := range lookups {
		t.Run(name, func(t *testing.T) {
			_, err := reader.GetDirectoryEntry(ctx, &gatewayv1.GetDirectoryEntryRequest{MspId: tc.msp})
			wantCode(t, err, tc.code, tc.want)
		})
	}
}
