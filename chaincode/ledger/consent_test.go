package ledger_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

func TestNormalizeAcceptsAValidGrant(t *testing.T) {
	g, from, until, err := validGrant().Normalize()
	wantCode(t, err, nil)
	if !slices.Equal(g.Scope.RecordIDs, []string{"rec-001", "rec-002"}) {
		t.Errorf("recordIds = %v, want sorted", g.Scope.RecordIDs)
	}
	if !slices.Equal(g.Scope.DocTypes, []string{"11506-3", "Observation"}) {
		t.Errorf("docTypes = %v, want sorted", g.Scope.DocTypes)
	}
	if !slices.Equal(g.Purposes, []ledger.Purpose{"CAREMGT", "TREAT"}) {
		t.Errorf("purposes = %v, want sorted", g.Purposes)
	}
	if !from.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !until.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("window = %v .. %v", from, until)
	}
}

func TestNormalizeDoesNotChangeTheCallersSlices(t *testing.T) {
	in := validGrant()
	ids := slices.Clone(in.Scope.RecordIDs)
	purposes := slices.Clone(in.Purposes)
	if _, _, _, err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.Scope.RecordIDs, ids) || !slices.Equal(in.Purposes, purposes) {
		t.Errorf("Normalize reordered its receiver's lists")
	}
}

func TestNormalizeSortsAndDeduplicates(t *testing.T) {
	g := validGrant()
	g.Scope.RecordIDs = []string{"rec-b", "rec-a", "rec-b", "rec-a", "rec-c"}
	g.Scope.DocTypes = []string{"Observation", "11506-3", "Observation"}
	g.Purposes = []ledger.Purpose{"TREAT", "HRESCH", "TREAT", "CAREMGT", "HRESCH"}
	n, _, _, err := g.Normalize()
	wantCode(t, err, nil)
	if want := []string{"rec-a", "rec-b", "rec-c"}; !slices.Equal(n.Scope.RecordIDs, want) {
		t.Errorf("recordIds = %v, want %v", n.Scope.RecordIDs, want)
	}
	if want := []string{"11506-3", "Observation"}; !slices.Equal(n.Scope.DocTypes, want) {
		t.Errorf("docTypes = %v, want %v", n.Scope.DocTypes, want)
	}
	if want := []ledger.Purpose{"CAREMGT", "HRESCH", "TREAT"}; !slices.Equal(n.Purposes, want) {
		t.Errorf("purposes = %v, want %v", n.Purposes, want)
	}
}

func TestNormalize(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("rec-%03d", i)
		}
		return out
	}
	cases := map[string]struct {
		mutate func(*ledger.ConsentGrant)
		arg    string // "" means the grant is accepted
	}{
		"a grant without a role is accepted":      {func(g *ledger.ConsentGrant) { g.Grantee.Role = "" }, ""},
		"a grant to records officers is accepted": {func(g *ledger.ConsentGrant) { g.Grantee.Role = ledger.RoleRecordsOfficer }, ""},
		"a grant to researchers is accepted":      {func(g *ledger.ConsentGrant) { g.Grantee.Role = ledger.RoleResearcher }, ""},
		"a grant to auditors is rejected":         {func(g *ledger.ConsentGrant) { g.Grantee.Role = ledger.RoleAuditor }, "consent.grantee.role"},
		"a grant to admins is rejected":           {func(g *ledger.ConsentGrant) { g.Grantee.Role = ledger.RoleAdmin }, "consent.grantee.role"},
		"a grant to an unknown role is rejected":  {func(g *ledger.ConsentGrant) { g.Grantee.Role = "nurse" }, "consent.grantee.role"},
		"a bad consent ID is rejected":            {func(g *ledger.ConsentGrant) { g.ConsentID = "c" }, "consent.consentId"},
		"a bad patient pseudonym is rejected":     {func(g *ledger.ConsentGrant) { g.Patient = "patient-1" }, "consent.patient"},
		"a bad grantee MSP ID is rejected":        {func(g *ledger.ConsentGrant) { g.Grantee.MSPID = "Org 2" }, "consent.grantee.mspId"},
		"an empty grantee MSP ID is rejected":     {func(g *ledger.ConsentGrant) { g.Grantee.MSPID = "" }, "consent.grantee.mspId"},
		"scope all alone is accepted":             {func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{All: true} }, ""},
		"scope all with empty lists is accepted": {func(g *ledger.ConsentGrant) {
			g.Scope = ledger.Scope{All: true, RecordIDs: []string{}, DocTypes: []string{}}
		}, ""},
		"record IDs alone are accepted":                    {func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{RecordIDs: []string{"rec-001"}} }, ""},
		"doc types alone are accepted":                     {func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{DocTypes: []string{"Observation"}} }, ""},
		"scope all with record IDs is rejected":            {func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{All: true, RecordIDs: []string{"rec-001"}} }, "consent.scope"},
		"scope all with doc types is rejected":             {func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{All: true, DocTypes: []string{"Observation"}} }, "consent.scope"},
		"an empty scope is rejected":                       {func(g *ledger.ConsentGrant) { g.Scope = ledger.Scope{} }, "consent.scope"},
		"a bad record ID in scope is rejected by index":    {func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = []string{"rec-001", "x"} }, "consent.scope.recordIds[1]"},
		"a bad doc type in scope is rejected by index":     {func(g *ledger.ConsentGrant) { g.Scope.DocTypes = []string{"11506-4"} }, "consent.scope.docTypes[0]"},
		"100 record IDs are accepted":                      {func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = many(100) }, ""},
		"101 record IDs are rejected":                      {func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = many(101) }, "consent.scope.recordIds"},
		"no purposes are rejected":                         {func(g *ledger.ConsentGrant) { g.Purposes = nil }, "consent.purposes"},
		"an empty purpose list is rejected":                {func(g *ledger.ConsentGrant) { g.Purposes = []ledger.Purpose{} }, "consent.purposes"},
		"an unknown purpose is rejected by index":          {func(g *ledger.ConsentGrant) { g.Purposes = []ledger.Purpose{"TREAT", "MARKT"} }, "consent.purposes[1]"},
		"101 purposes are rejected":                        {func(g *ledger.ConsentGrant) { g.Purposes = slices.Repeat([]ledger.Purpose{"TREAT"}, 101) }, "consent.purposes"},
		"a bad max confidentiality is rejected":            {func(g *ledger.ConsentGrant) { g.MaxConfidentiality = "X" }, "consent.maxConfidentiality"},
		"an empty max confidentiality is rejected":         {func(g *ledger.ConsentGrant) { g.MaxConfidentiality = "" }, "consent.maxConfidentiality"},
		"a bad notBefore is rejected":                      {func(g *ledger.ConsentGrant) { g.NotBefore = "2026-01-01" }, "consent.notBefore"},
		"a bad notAfter is rejected":                       {func(g *ledger.ConsentGrant) { g.NotAfter = "2027-01-01T00:00:00+01:00" }, "consent.notAfter"},
		"notAfter equal to notBefore is rejected":          {func(g *ledger.ConsentGrant) { g.NotAfter = g.NotBefore }, "consent.notAfter"},
		"notAfter before notBefore is rejected":            {func(g *ledger.ConsentGrant) { g.NotAfter = "2025-12-31T23:59:59Z" }, "consent.notAfter"},
		"a one-second window is accepted":                  {func(g *ledger.ConsentGrant) { g.NotAfter = "2026-01-01T00:00:01Z" }, ""},
		"a window of exactly the maximum is accepted":      {func(g *ledger.ConsentGrant) { g.NotAfter = addTo(g.NotBefore, ledger.MaxConsentDuration) }, ""},
		"a window one second over the maximum is rejected": {func(g *ledger.ConsentGrant) { g.NotAfter = addTo(g.NotBefore, ledger.MaxConsentDuration+time.Second) }, "consent.notAfter"},
		"sequence 0 is rejected":                           {func(g *ledger.ConsentGrant) { g.Sequence = 0 }, "consent.sequence"},
		"sequence 1 is accepted":                           {func(g *ledger.ConsentGrant) { g.Sequence = 1 }, ""},
		"the largest sequence is accepted":                 {func(g *ledger.ConsentGrant) { g.Sequence = ^uint64(0) }, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := validGrant()
			tc.mutate(&g)
			_, _, _, err := g.Normalize()
			if tc.arg == "" {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, tc.arg)
			}
		})
	}
}

func TestMaxConsentDurationIsTenYears(t *testing.T) {
	// Ten years of 366 days: at least any ten calendar years.
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if tenYears := from.AddDate(10, 0, 0).Sub(from); ledger.MaxConsentDuration < tenYears {
		t.Fatalf("MaxConsentDuration %v is shorter than ten calendar years %v", ledger.MaxConsentDuration, tenYears)
	}
	if elevenYears := from.AddDate(11, 0, 0).Sub(from); ledger.MaxConsentDuration >= elevenYears {
		t.Fatalf("MaxConsentDuration %v reaches eleven years", ledger.MaxConsentDuration)
	}
}

func addTo(s string, d time.Duration) string {
	t, err := time.Parse(ledger.TimeLayout, s)
	if err != nil {
		panic(err)
	}
	return t.Add(d).Format(ledger.TimeLayout)
}

// hand-built encoding, independent of encoding.go, after its documented
// layout: prefix, then length-prefixed strings, counted lists, 8-byte
// integers, one byte for a boolean.
type spec struct{ bytes.Buffer }

func (s *spec) str(x string) {
	_ = binary.Write(&s.Buffer, binary.BigEndian, uint32(len(x)))
	s.WriteString(x)
}

func (s *spec) list(xs ...string) {
	_ = binary.Write(&s.Buffer, binary.BigEndian, uint32(len(xs)))
	for _, x := range xs {
		s.str(x)
	}
}

func (s *spec) u64(n uint64) { _ = binary.Write(&s.Buffer, binary.BigEndian, n) }

func TestGrantCanonicalBytesFollowTheDocumentedLayout(t *testing.T) {
	g, _, _, err := validGrant().Normalize()
	wantCode(t, err, nil)
	var s spec
	s.WriteString("medprov.consent.grant.v1\x00")
	s.str("consent-001")
	s.str(patient)
	s.str(orgB)
	s.str("clinician")
	s.WriteByte(0)
	s.list("rec-001", "rec-002")
	s.list("11506-3", "Observation")
	s.list("CAREMGT", "TREAT")
	s.str("N")
	s.str("2026-01-01T00:00:00Z")
	s.str("2027-01-01T00:00:00Z")
	s.u64(1)
	if got := g.CanonicalBytes(); !bytes.Equal(got, s.Bytes()) {
		t.Fatalf("CanonicalBytes =\n%x\nwant\n%x", got, s.Bytes())
	}
}

func TestRevocationCanonicalBytesFollowTheDocumentedLayout(t *testing.T) {
	r := ledger.ConsentRevocation{ConsentID: "consent-001", Patient: patient, Sequence: 0x0102030405060708}
	var s spec
	s.WriteString("medprov.consent.revoke.v1\x00")
	s.str("consent-001")
	s.str(patient)
	s.u64(0x0102030405060708)
	if got := r.CanonicalBytes(); !bytes.Equal(got, s.Bytes()) {
		t.Fatalf("CanonicalBytes =\n%x\nwant\n%x", got, s.Bytes())
	}
}

func TestKeyRotationCanonicalBytesFollowTheDocumentedLayout(t *testing.T) {
	key := spkiB64(t, ed25519Seed(9).Public())
	r := ledger.KeyRotation{Patient: patient, NewPublicKey: key, Sequence: 2}
	var s spec
	s.WriteString("medprov.patient.rotate.v1\x00")
	s.str(patient)
	s.str(key)
	s.u64(2)
	if got := r.CanonicalBytes(); !bytes.Equal(got, s.Bytes()) {
		t.Fatalf("CanonicalBytes =\n%x\nwant\n%x", got, s.Bytes())
	}
}

func TestCanonicalBytesOfDifferentDocumentKindsNeverCollide(t *testing.T) {
	// The same field values under the three prefixes give three encodings.
	rev := ledger.ConsentRevocation{ConsentID: "pt-0000000000000000000000000000000000000001", Patient: patient, Sequence: 1}
	rot := ledger.KeyRotation{Patient: "pt-0000000000000000000000000000000000000001", NewPublicKey: patient, Sequence: 1}
	if bytes.Equal(rev.CanonicalBytes(), rot.CanonicalBytes()) {
		t.Fatal("a revocation and a rotation encode to the same bytes")
	}
}

func TestRevocationValidate(t *testing.T) {
	good := ledger.ConsentRevocation{ConsentID: "consent-001", Patient: patient, Sequence: 3}
	wantCode(t, good.Validate(), nil)
	cases := map[string]struct {
		mutate func(*ledger.ConsentRevocation)
		arg    string
	}{
		"a bad consent ID is rejected":        {func(r *ledger.ConsentRevocation) { r.ConsentID = "" }, "revocation.consentId"},
		"a bad patient pseudonym is rejected": {func(r *ledger.ConsentRevocation) { r.Patient = "pt-1" }, "revocation.patient"},
		"sequence 0 is rejected":              {func(r *ledger.ConsentRevocation) { r.Sequence = 0 }, "revocation.sequence"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := good
			tc.mutate(&r)
			wantInvalid(t, r.Validate(), tc.arg)
		})
	}
}

// TestGrantCanonicalBytesAreUnambiguous: grants that differ in any single
// field, or that move bytes from one field to the next, encode differently.
func TestGrantCanonicalBytesAreUnambiguous(t *testing.T) {
	base := func() ledger.ConsentGrant {
		g, _, _, err := validGrant().Normalize()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	variants := map[string]func(*ledger.ConsentGrant){
		"the base grant":       func(*ledger.ConsentGrant) {},
		"another consent ID":   func(g *ledger.ConsentGrant) { g.ConsentID = "consent-002" },
		"another patient":      func(g *ledger.ConsentGrant) { g.Patient = other },
		"another grantee":      func(g *ledger.ConsentGrant) { g.Grantee.MSPID = orgA },
		"no grantee role":      func(g *ledger.ConsentGrant) { g.Grantee.Role = "" },
		"another grantee role": func(g *ledger.ConsentGrant) { g.Grantee.Role = ledger.RoleResearcher },
		"scope all":            func(g *ledger.ConsentGrant) { g.Scope.All = true },
		"one record ID fewer":  func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = g.Scope.RecordIDs[:1] },
		"no record IDs":        func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = nil },
		"another record ID":    func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = []string{"rec-001", "rec-003"} },
		"one doc type fewer":   func(g *ledger.ConsentGrant) { g.Scope.DocTypes = g.Scope.DocTypes[:1] },
		"a doc type moved to the record IDs": func(g *ledger.ConsentGrant) {
			g.Scope.RecordIDs = append(g.Scope.RecordIDs, "Observation")
			g.Scope.DocTypes = []string{"11506-3"}
		},
		"a record ID moved to the doc types": func(g *ledger.ConsentGrant) {
			g.Scope.RecordIDs = []string{"rec-001"}
			g.Scope.DocTypes = append(g.Scope.DocTypes, "rec-002")
		},
		"two record IDs joined into one":          func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = []string{"rec-001rec-002"} },
		"another purpose":                         func(g *ledger.ConsentGrant) { g.Purposes = []ledger.Purpose{"CAREMGT", "HRESCH"} },
		"one purpose fewer":                       func(g *ledger.ConsentGrant) { g.Purposes = []ledger.Purpose{"TREAT"} },
		"another max confidentiality":             func(g *ledger.ConsentGrant) { g.MaxConfidentiality = ledger.ConfRestricted },
		"another notBefore":                       func(g *ledger.ConsentGrant) { g.NotBefore = "2026-01-01T00:00:01Z" },
		"another notAfter":                        func(g *ledger.ConsentGrant) { g.NotAfter = "2027-01-01T00:00:01Z" },
		"another sequence":                        func(g *ledger.ConsentGrant) { g.Sequence = 2 },
		"a sequence differing in its high byte":   func(g *ledger.ConsentGrant) { g.Sequence = 1 | 1<<56 },
		"a byte moved from consent ID to patient": func(g *ledger.ConsentGrant) { g.ConsentID = "consent-00"; g.Patient = "1" + g.Patient },
		"a byte moved from grantee to role":       func(g *ledger.ConsentGrant) { g.Grantee.MSPID = "Org2MS"; g.Grantee.Role = "Pclinician" },
		"a byte moved between the two times":      func(g *ledger.ConsentGrant) { g.NotBefore += "2"; g.NotAfter = g.NotAfter[1:] },
	}
	seen := map[string]string{}
	for name, mutate := range variants {
		g := base()
		mutate(&g)
		b := string(g.CanonicalBytes())
		if prev, dup := seen[b]; dup {
			t.Errorf("%q and %q encode to the same bytes", name, prev)
		}
		seen[b] = name
	}
}

func TestReorderedListsGiveTheSameCanonicalBytes(t *testing.T) {
	want := func() []byte {
		g, _, _, err := validGrant().Normalize()
		wantCode(t, err, nil)
		return g.CanonicalBytes()
	}()
	cases := map[string]func(*ledger.ConsentGrant){
		"record IDs reversed":        func(g *ledger.ConsentGrant) { slices.Reverse(g.Scope.RecordIDs) },
		"doc types reversed":         func(g *ledger.ConsentGrant) { slices.Reverse(g.Scope.DocTypes) },
		"purposes reversed":          func(g *ledger.ConsentGrant) { slices.Reverse(g.Purposes) },
		"record IDs repeated":        func(g *ledger.ConsentGrant) { g.Scope.RecordIDs = append(g.Scope.RecordIDs, g.Scope.RecordIDs...) },
		"doc types repeated":         func(g *ledger.ConsentGrant) { g.Scope.DocTypes = append(g.Scope.DocTypes, g.Scope.DocTypes[0]) },
		"purposes repeated reversed": func(g *ledger.ConsentGrant) { g.Purposes = append(g.Purposes, "CAREMGT", "TREAT", "CAREMGT") },
		"everything shuffled at once": func(g *ledger.ConsentGrant) {
			slices.Reverse(g.Scope.RecordIDs)
			slices.Reverse(g.Scope.DocTypes)
			slices.Reverse(g.Purposes)
		},
	}
	for name, mutate := range cases {
		t.Run(name+" give the same bytes", func(t *testing.T) {
			g := validGrant()
			g.Scope.RecordIDs = slices.Clone(g.Scope.RecordIDs)
			g.Scope.DocTypes = slices.Clone(g.Scope.DocTypes)
			g.Purposes = slices.Clone(g.Purposes)
			mutate(&g)
			n, _, _, err := g.Normalize()
			wantCode(t, err, nil)
			if got := n.CanonicalBytes(); !bytes.Equal(got, want) {
				t.Fatalf("got\n%x\nwant\n%x", got, want)
			}
		})
	}
}

// Golden vectors: each testdata/NAME.json is decoded strictly, validated,
// and its canonical bytes compared with testdata/NAME.golden (hex). Run
// `go test ./ledger/ -run TestCanonicalGolden -update` to rewrite them after
// a deliberate change of encoding, which also needs a new prefix version.
func TestCanonicalGolden(t *testing.T) {
	cases := map[string]func(t *testing.T, in string) []byte{
		"consent_grant_v1": func(t *testing.T, in string) []byte {
			var g ledger.ConsentGrant
			wantCode(t, ledger.DecodeStrict("consent", in, &g), nil)
			n, _, _, err := g.Normalize()
			wantCode(t, err, nil)
			return n.CanonicalBytes()
		},
		"consent_grant_all_v1": func(t *testing.T, in string) []byte {
			var g ledger.ConsentGrant
			wantCode(t, ledger.DecodeStrict("consent", in, &g), nil)
			n, _, _, err := g.Normalize()
			wantCode(t, err, nil)
			return n.CanonicalBytes()
		},
		"consent_revocation_v1": func(t *testing.T, in string) []byte {
			var r ledger.ConsentRevocation
			wantCode(t, ledger.DecodeStrict("revocation", in, &r), nil)
			wantCode(t, r.Validate(), nil)
			return r.CanonicalBytes()
		},
		"key_rotation_v1": func(t *testing.T, in string) []byte {
			var r ledger.KeyRotation
			wantCode(t, ledger.DecodeStrict("rotation", in, &r), nil)
			_, err := r.Validate()
			wantCode(t, err, nil)
			return r.CanonicalBytes()
		},
	}
	for name, encode := range cases {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got := hex.EncodeToString(encode(t, string(in))) + "\n"
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("canonical bytes of %s changed; signatures made by patients would no longer verify.\ngot  %s\nwant %s",
					name, strings.TrimSpace(got), strings.TrimSpace(string(want)))
			}
		})
	}
}
