package ledger_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Each fuzz target checks a property, not only the absence of panics. Seeds
// live in testdata/fuzz/FuzzXxx/ and in f.Add calls; run one with
//
//	go test -run=^$ -fuzz=^FuzzXxx$ -fuzztime=10s ./ledger/

// wantArgError fails unless err is INVALID_ARGUMENT about an argument under
// prefix.
func wantArgError(t *testing.T, err error, prefix string) {
	t.Helper()
	var e *ledger.Error
	if !errors.As(err, &e) || e.Code != ledger.CodeInvalidArgument {
		t.Fatalf("got %v, want INVALID_ARGUMENT", err)
	}
	if !strings.HasPrefix(e.Message, prefix) {
		t.Fatalf("message %q does not name an argument under %q", e.Message, prefix)
	}
}

// checkOneJSONValue fails when DecodeStrict accepted something that is not
// exactly one JSON value, such as a value followed by a stray '}'.
func checkOneJSONValue(t *testing.T, s string) {
	if !json.Valid([]byte(s)) {
		t.Fatalf("DecodeStrict accepted input that is not one JSON value: %q", s)
	}
}

func FuzzDecodeAnchorRequest(f *testing.F) {
	f.Add(`{"recordId":"rec-001","patient":"` + patient + `","docType":"11506-3","confidentiality":"N","commitment":"` + hashA + `"}`)
	f.Add(`{"recordId":"rec-001","patient":"` + patient + `","docType":"Observation","confidentiality":"V","commitment":"` + hashB + `","derivedFrom":{"custodian":"Org1MSP","recordId":"rec-000","version":2}}`)
	f.Add(`{"recordId":"rec-001"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var r ledger.AnchorRequest
		if err := ledger.DecodeStrict("request", s, &r); err != nil {
			wantArgError(t, err, "request: ")
			return
		}
		checkOneJSONValue(t, s)
		if len(s) > ledger.MaxRequestBytes {
			t.Fatalf("accepted %d bytes", len(s))
		}
		if err := r.Validate(); err != nil {
			wantArgError(t, err, "request.")
			return
		}
		// A valid request survives a JSON round trip unchanged.
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again ledger.AnchorRequest
		if err := ledger.DecodeStrict("request", string(b), &again); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed %+v into %+v", r, again)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("round-tripped request is invalid: %v", err)
		}
	})
}

func FuzzDecodeConsentGrant(f *testing.F) {
	f.Add(`{"consentId":"consent-001","patient":"` + patient + `","grantee":{"mspId":"Org2MSP","role":"clinician"},"scope":{"all":false,"recordIds":["rec-2","rec-1","rec-2"],"docTypes":["Observation","11506-3"]},"purposes":["TREAT","CAREMGT","TREAT"],"maxConfidentiality":"N","notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z","sequence":1}`)
	f.Add(`{"consentId":"consent-002","patient":"` + patient + `","grantee":{"mspId":"Org2MSP"},"scope":{"all":true},"purposes":["HRESCH"],"maxConfidentiality":"V","notBefore":"2026-01-01T00:00:00Z","notAfter":"2036-01-01T00:00:00Z","sequence":18446744073709551615}`)
	f.Add(`{"scope":{"all":true,"recordIds":[]},"purposes":[]}`)
	f.Fuzz(func(t *testing.T, s string) {
		var g ledger.ConsentGrant
		if err := ledger.DecodeStrict("consent", s, &g); err != nil {
			wantArgError(t, err, "consent: ")
			return
		}
		_ = g.CanonicalBytes() // must not panic on any decoded grant
		n, from, until, err := g.Normalize()
		if err != nil {
			wantArgError(t, err, "consent.")
			return
		}
		checkOneJSONValue(t, s)
		b1 := n.CanonicalBytes()
		if !bytes.HasPrefix(b1, []byte("medprov.consent.grant.v1\x00")) {
			t.Fatalf("canonical bytes lack the prefix")
		}
		// The normal form is sorted and free of duplicates.
		for name, l := range map[string][]string{"recordIds": n.Scope.RecordIDs, "docTypes": n.Scope.DocTypes} {
			if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
				t.Fatalf("%s %q not sorted and unique", name, l)
			}
		}
		if !slices.IsSorted(n.Purposes) || len(slices.Compact(slices.Clone(n.Purposes))) != len(n.Purposes) || len(n.Purposes) == 0 {
			t.Fatalf("purposes %q not sorted, unique and non-empty", n.Purposes)
		}
		if n.Scope.All == (len(n.Scope.RecordIDs)+len(n.Scope.DocTypes) > 0) {
			t.Fatalf("scope %+v mixes all with lists", n.Scope)
		}
		if !until.After(from) || until.Sub(from) > ledger.MaxConsentDuration || n.Sequence == 0 {
			t.Fatalf("window %v..%v or sequence %d out of bounds", from, until, n.Sequence)
		}
		if n.Grantee.Role == ledger.RoleAuditor || n.Grantee.Role == ledger.RoleAdmin {
			t.Fatalf("grant to %s accepted", n.Grantee.Role)
		}
		// Normalize is idempotent.
		n2, from2, until2, err := n.Normalize()
		if err != nil {
			t.Fatalf("normalising a normal grant: %v", err)
		}
		if b2 := n2.CanonicalBytes(); !bytes.Equal(b1, b2) || !from.Equal(from2) || !until.Equal(until2) {
			t.Fatalf("Normalize is not idempotent:\n%x\n%x", b1, b2)
		}
		// A JSON round trip of the normal form signs the same bytes.
		j, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var back ledger.ConsentGrant
		if err := ledger.DecodeStrict("consent", string(j), &back); err != nil {
			t.Fatalf("re-decoding %s: %v", j, err)
		}
		n3, _, _, err := back.Normalize()
		if err != nil {
			t.Fatalf("re-normalising: %v", err)
		}
		if b3 := n3.CanonicalBytes(); !bytes.Equal(b1, b3) {
			t.Fatalf("JSON round trip changed the canonical bytes")
		}
	})
}

func FuzzDecodeAccessRequest(f *testing.F) {
	f.Add(`{"recordId":"rec-001","purpose":"TREAT"}`, uint8(0))
	f.Add(`{"recordId":"rec-001","purpose":"ETREAT","justificationCode":"LIFE-THREATENING","justificationHash":"`+hashA+`"}`, uint8(1))
	f.Add(`{"recordId":"rec-001","purpose":"TREAT","justificationCode":"LIFE-THREATENING"}`, uint8(2))
	f.Fuzz(func(t *testing.T, s string, role uint8) {
		var r ledger.AccessRequest
		if err := ledger.DecodeStrict("request", s, &r); err != nil {
			wantArgError(t, err, "request: ")
			return
		}
		if err := r.Validate(); err != nil {
			wantArgError(t, err, "request.")
			return
		}
		checkOneJSONValue(t, s)
		if r.JustificationCode != "" && r.Purpose != ledger.PurposeEmergencyTreatment {
			t.Fatalf("justification code accepted with purpose %s", r.Purpose)
		}
		if r.JustificationHash != "" && r.JustificationCode == "" {
			t.Fatalf("justification hash accepted without a code")
		}
		b, _ := json.Marshal(r)
		var again ledger.AccessRequest
		if err := ledger.DecodeStrict("request", string(b), &again); err != nil || again != r {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
		// Decide on the request, by a caller of any role, with one consent
		// for TREAT only.
		who := ledger.Requester{MSPID: orgB, Role: ledger.Roles[int(role)%len(ledger.Roles)]}
		rec := record()
		rec.RecordID = r.RecordID
		ev := ledger.Decide(rec, r, who, []ledger.Consent{consent("c-1")}, t0)
		switch ev.Decision {
		case ledger.DecisionGranted:
			if r.Purpose != ledger.PurposeTreatment || ev.Basis == nil || ev.Basis.ConsentID != "c-1" {
				t.Fatalf("granted %+v for %+v", ev.Basis, r)
			}
		case ledger.DecisionEmergency:
			if who.Role != ledger.RoleClinician || r.Purpose != ledger.PurposeEmergencyTreatment || r.JustificationCode == "" {
				t.Fatalf("emergency access for %s with %+v", who.Role, r)
			}
			if !slices.Equal(ev.Alerts, []ledger.Alert{ledger.AlertEmergency}) {
				t.Fatalf("emergency without its alert")
			}
		case ledger.DecisionDenied:
			if ev.DenialReason == "" || ev.Basis != nil {
				t.Fatalf("denial %+v", ev)
			}
			if r.Purpose == ledger.PurposeTreatment {
				t.Fatalf("TREAT denied despite a covering consent")
			}
		default:
			t.Fatalf("decision %q", ev.Decision)
		}
	})
}

func FuzzDecodeAuditQuery(f *testing.F) {
	f.Add(`{}`, int64(1772366400))
	f.Add(`{"recordId":"rec-001","from":"2020-01-01T00:00:00Z","pageSize":10,"bookmark":"x"}`, int64(1772366400))
	f.Add(`{"from":"2025-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z"}`, int64(0))
	f.Add(`{"patient":"`+patient+`","requesterMsp":"Org2MSP"}`, int64(-1))
	f.Fuzz(func(t *testing.T, s string, nowSec int64) {
		// Any second from 1970 to about 2100.
		now := time.Unix(((nowSec%4102444800)+4102444800)%4102444800, 0).UTC()
		var q ledger.AuditQuery
		if err := ledger.DecodeStrict("query", s, &q); err != nil {
			wantArgError(t, err, "query: ")
			return
		}
		w, err := q.Validate(now)
		if err != nil {
			wantArgError(t, err, "query")
			return
		}
		narrowing := 0
		for _, v := range []string{q.RecordID, q.Patient, q.RequesterMSP} {
			if v != "" {
				narrowing++
			}
		}
		if narrowing > 1 {
			t.Fatalf("accepted %d narrowing fields", narrowing)
		}
		if !w.To.After(w.From) {
			t.Fatalf("window %v..%v is empty", w.From, w.To)
		}
		if narrowing == 0 && w.To.Sub(w.From) > ledger.MaxAuditWindow {
			t.Fatalf("time-only window of %v", w.To.Sub(w.From))
		}
		if w.Bounded != (q.From != "" || q.To != "") {
			t.Fatalf("Bounded = %v for %+v", w.Bounded, q)
		}
		if q.To == "" && !w.To.After(now.Truncate(time.Second)) {
			t.Fatalf("default To %v leaves out now %v", w.To, now)
		}
		for field, v := range map[string]string{"from": q.From, "to": q.To} {
			if v == "" {
				continue
			}
			p, err := ledger.ParseTime("x", v)
			if err != nil || (field == "from" && !p.Equal(w.From)) || (field == "to" && !p.Equal(w.To)) {
				t.Fatalf("%s %q not honoured: window %+v", field, v, w)
			}
		}
		if q.PageSize < 0 || q.PageSize > ledger.MaxPageSize {
			t.Fatalf("page size %d accepted", q.PageSize)
		}
		if n := ledger.PageSizeOrDefault(q.PageSize); n < 1 || n > ledger.MaxPageSize {
			t.Fatalf("PageSizeOrDefault(%d) = %d", q.PageSize, n)
		}
	})
}

func FuzzParsePatientKey(f *testing.F) {
	f.Add(spkiB64(f, ed25519Seed(1).Public()))
	f.Add(spkiB64(f, &fixedECDSA(f).PublicKey))
	f.Add("MCowBQYDK2VwAyEA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ledger.ParsePatientKey("publicKey", s)
		if err != nil {
			wantArgError(t, err, "publicKey: ")
			return
		}
		if k.Algorithm != ledger.AlgEd25519 && k.Algorithm != ledger.AlgECDSAP256 {
			t.Fatalf("algorithm %q", k.Algorithm)
		}
		if err := ledger.CheckPseudonym("p", k.Pseudonym()); err != nil {
			t.Fatalf("pseudonym %q: %v", k.Pseudonym(), err)
		}
		again, err := ledger.ParsePatientKey("publicKey", k.Base64())
		if err != nil || again.Pseudonym() != k.Pseudonym() || again.Algorithm != k.Algorithm {
			t.Fatalf("re-parsing Base64(): %+v, %v", again, err)
		}
		if k.Base64() != s {
			t.Fatalf("accepted a non-canonical spelling %q of key %q", s, k.Base64())
		}
	})
}

// verifyKeys are the fixed keys of FuzzVerifySignature: index 0 is Ed25519,
// 1 is ECDSA P-256.
func verifyKeys(tb testing.TB) (ed25519.PrivateKey, *ecdsa.PrivateKey, [2]ledger.PatientKey) {
	ed, ec := ed25519Seed(1), fixedECDSA(tb)
	var keys [2]ledger.PatientKey
	for i, pub := range []any{ed.Public(), &ec.PublicKey} {
		k, err := ledger.ParsePatientKey("k", spkiB64(tb, pub))
		if err != nil {
			tb.Fatal(err)
		}
		keys[i] = k
	}
	return ed, ec, keys
}

func FuzzVerifySignature(f *testing.F) {
	ed, ec, keys := verifyKeys(f)
	msg := []byte("medprov.consent.grant.v1\x00synthetic")
	f.Add(uint8(0), msg, base64.StdEncoding.EncodeToString(ed25519.Sign(ed, msg)))
	d := sha256.Sum256(msg)
	ecSig, err := ecdsa.SignASN1(rand.Reader, ec, d[:])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(1), msg, base64.StdEncoding.EncodeToString(ecSig))
	f.Add(uint8(0), []byte{}, "")
	f.Fuzz(func(t *testing.T, which uint8, msg []byte, sig string) {
		i := int(which % 2)
		err := keys[i].Verify("signature", msg, sig)
		// The oracle: the standard library on the strictly decoded bytes.
		raw, decErr := base64.StdEncoding.Strict().DecodeString(sig)
		oracle := decErr == nil
		if oracle {
			if i == 0 {
				oracle = ed25519.Verify(ed.Public().(ed25519.PublicKey), msg, raw)
			} else {
				d := sha256.Sum256(msg)
				oracle = ecdsa.VerifyASN1(&ec.PublicKey, d[:], raw)
			}
		}
		if oracle && len(sig) > 200 {
			oracle = false // over the length bound
		}
		if (err == nil) != oracle {
			t.Fatalf("Verify = %v, standard library says %v", err, oracle)
		}
		if err != nil && !errors.Is(err, ledger.ErrInvalidArgument) && !errors.Is(err, ledger.ErrPermissionDenied) {
			t.Fatalf("error of the wrong class: %v", err)
		}
		if err == nil {
			// A signature never also covers a different message, nor
			// verifies under the other key.
			if keys[i].Verify("signature", append(slices.Clone(msg), 0), sig) == nil {
				t.Fatalf("signature also verifies for a longer message")
			}
			if keys[1-i].Verify("signature", msg, sig) == nil {
				t.Fatalf("signature verifies under the other key")
			}
		}
	})
}

// loincOracle implements the check digit as the LOINC manual describes it,
// differently from validate.go: the digits in odd positions from the right
// form a number that is doubled, the even-position digits are written in
// front of it, and all digits of the result are summed.
func loincOracle(s string) bool {
	body, check, ok := strings.Cut(s, "-")
	if !ok || len(body) < 1 || len(body) > 7 || len(check) != 1 || body[0] == '0' {
		return false // LOINC codes are written without leading zeros
	}
	for _, c := range body + check {
		if c < '0' || c > '9' {
			return false
		}
	}
	var odd, even strings.Builder
	for pos := 1; pos <= len(body); pos++ {
		c := body[len(body)-pos]
		if pos%2 == 1 {
			odd.WriteByte(c)
		} else {
			even.WriteByte(c)
		}
	}
	rev := func(s string) string {
		b := []byte(s)
		slices.Reverse(b)
		return string(b)
	}
	oddNum, _ := strconv.Atoi(rev(odd.String()))
	joined := rev(even.String()) + strconv.Itoa(oddNum*2)
	sum := 0
	for _, c := range joined {
		sum += int(c - '0')
	}
	return strconv.Itoa((10-sum%10)%10) == check
}

func TestLOINCOracleAgreesWithKnownCodes(t *testing.T) {
	for _, code := range []string{"11506-3", "34133-9", "18842-5", "60591-5", "8310-5", "2160-0", "12345-5"} {
		if !loincOracle(code) {
			t.Errorf("oracle rejects %s", code)
		}
	}
	for _, code := range []string{"11506-4", "12345-6", "1-1", "011506-3"} {
		if loincOracle(code) {
			t.Errorf("oracle accepts %s", code)
		}
	}
}

func FuzzCheckDocType(f *testing.F) {
	for _, s := range []string{"11506-3", "11506-4", "Observation", "observation", "0-0", "1234567-8", "12345678-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ledger.CheckDocType("docType", s)
		want := slices.Contains(ledger.FHIRDocumentTypes, s) || loincOracle(s)
		if (err == nil) != want {
			t.Fatalf("CheckDocType(%q) = %v, want accepted=%v", s, err, want)
		}
		if err != nil {
			wantArgError(t, err, "docType: ")
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Add(uint8(0), "request.recordId: want 3 to 64 characters")
	f.Add(uint8(5), "")
	f.Add(uint8(1), "NOT_FOUND: record")
	f.Add(uint8(3), "INVALID_ARGUMENT:")
	codes := []ledger.Code{
		ledger.CodeInvalidArgument, ledger.CodeNotFound, ledger.CodeAlreadyExists,
		ledger.CodePermissionDenied, ledger.CodeFailedPrecondition, ledger.CodeInternal,
	}
	f.Fuzz(func(t *testing.T, which uint8, msg string) {
		// Any error survives the wire.
		e := &ledger.Error{Code: codes[int(which)%len(codes)], Message: msg}
		got := ledger.ParseError(e.Error())
		if got.Code != e.Code || got.Message != e.Message {
			t.Fatalf("ParseError(%q) = %+v, want %+v", e.Error(), got, e)
		}
		// Any text is read either as a known code and message that render
		// back to it, or as INTERNAL carrying the whole text.
		p := ledger.ParseError(msg)
		if p.Code == ledger.CodeInternal && p.Message == msg {
			return
		}
		if !slices.Contains(codes, p.Code) || p.Error() != msg {
			t.Fatalf("ParseError(%q) = %+v renders as %q", msg, p, p.Error())
		}
	})
}
