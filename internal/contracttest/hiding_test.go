package contracttest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/internal/devnet"
)

// pageAll follows bookmarks from a first call and returns every item ID and
// every bookmark seen.
func pageAll[T any](t *testing.T, call func(bookmark string) ([]byte, error), id func(T) string) (ids, bookmarks []string) {
	t.Helper()
	bookmark := ""
	for range 100 {
		page := must[ledger.Page[T]](t)(call(bookmark))
		for _, it := range page.Items {
			ids = append(ids, id(it))
		}
		if page.Bookmark == "" {
			return ids, bookmarks
		}
		bookmarks = append(bookmarks, page.Bookmark)
		bookmark = page.Bookmark
	}
	t.Fatal("paging did not end")
	return nil, nil
}

// decodedBookmark returns the bookmark's bytes, as anyone could decode them.
func decodedBookmark(t *testing.T, b string) string {
	raw, err := base64.RawURLEncoding.DecodeString(b)
	if err != nil {
		t.Fatalf("bookmark %q is not base64url: %v", b, err)
	}
	return string(raw)
}

func TestBookmarksNeverNameHiddenItems(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	low := e.user(devnet.HospitalA, "clinician", "L")
	p := e.registerPatient(officer)
	// Records alternate between visible (L) and hidden (V) for clearance L.
	var visible, hidden []string
	for i := range 8 {
		conf := ledger.ConfLow
		if i%2 == 1 {
			conf = ledger.ConfVeryRestricted
		}
		rec := e.anchor(officer, p.Pseudonym, "18842-5", conf)
		if conf == ledger.ConfLow {
			visible = append(visible, rec.RecordID)
		} else {
			hidden = append(hidden, rec.RecordID)
		}
	}
	for _, size := range []string{"1", "2", "3"} {
		t.Run("records in pages of "+size, func(t *testing.T) {
			ids, bookmarks := pageAll(t, func(b string) ([]byte, error) {
				return low.Evaluate(e.ctx, ledger.TxListPatientRecords, p.Pseudonym, size, b)
			}, func(r ledger.Record) string { return r.RecordID })
			if fmt.Sprint(ids) != fmt.Sprint(visible) {
				t.Fatalf("listed %v, want exactly %v", ids, visible)
			}
			for _, b := range bookmarks {
				for _, h := range hidden {
					if strings.Contains(decodedBookmark(t, b), h) {
						t.Fatalf("bookmark names hidden record %s", h)
					}
				}
			}
		})
	}

	// Consents: HospitalB sees those granted to it, not those to HealthAuthority.
	clinicianB := e.user(devnet.HospitalB, "clinician", "N")
	var mine, others []string
	for i := range 6 {
		grantee := devnet.HospitalB
		if i%2 == 1 {
			grantee = devnet.HealthAuthority
		}
		c, err := e.grant(e.user(devnet.HealthAuthority, "records-officer", "N"), p, grantee, nil)
		if err != nil {
			t.Fatal(err)
		}
		if grantee == devnet.HospitalB {
			mine = append(mine, c.ConsentID)
		} else {
			others = append(others, c.ConsentID)
		}
	}
	ids, bookmarks := pageAll(t, func(b string) ([]byte, error) {
		return clinicianB.Evaluate(e.ctx, ledger.TxListConsentsByPatient, p.Pseudonym, "1", b)
	}, func(c ledger.Consent) string { return c.ConsentID })
	if fmt.Sprint(ids) != fmt.Sprint(mine) {
		t.Fatalf("consents listed %v, want exactly %v", ids, mine)
	}
	for _, b := range bookmarks {
		for _, o := range others {
			if strings.Contains(decodedBookmark(t, b), o) {
				t.Fatalf("bookmark names a consent the caller may not see: %s", o)
			}
		}
	}
}

func TestAuditByRecordHidesRecordsAboveClearance(t *testing.T) {
	e := newEnv(t)
	officer := e.user(devnet.HospitalA, "records-officer", "V")
	lowOfficer := e.user(devnet.HospitalA, "records-officer", "U")
	p := e.registerPatient(officer)
	secret := e.anchor(officer, p.Pseudonym, "18842-5", ledger.ConfVeryRestricted)
	care := true
	must[ledger.AccessEvent](t)(submit(e.ctx, officer, ledger.TxLogAccess, asJSON(t, ledger.LogAccessRequest{RecordID: secret.RecordID, Purpose: ledger.PurposeTreatment, CareRelationship: &care})))
	_, hiddenErr := lowOfficer.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, ledger.AuditQuery{RecordID: secret.RecordID}))
	_, missingErr := lowOfficer.Evaluate(e.ctx, ledger.TxAccessHistory, asJSON(t, ledger.AuditQuery{RecordID: "rec-not-there"}))
	if !errors.Is(hiddenErr, ledger.ErrNotFound) || !errors.Is(missingErr, ledger.ErrNotFound) {
		t.Fatalf("hidden: %v; missing: %v; want NOT_FOUND for both", hiddenErr, missingErr)
	}
}

func TestForgedDayBookmarksCannotWidenTheWindow(t *testing.T) {
	e := newEnv(t)
	auditor := e.user(devnet.HealthAuthority, "auditor", "U")
	forged := base64.RawURLEncoding.EncodeToString([]byte("time|-8520336000000000000|7258118400000000000|1700-01-02|"))
	for _, fn := range []string{ledger.TxAccessHistory, ledger.TxAlerts} {
		_, err := auditor.Evaluate(e.ctx, fn, `{"bookmark":"`+forged+`"}`)
		if fn == ledger.TxAlerts {
			forgedAlerts := base64.RawURLEncoding.EncodeToString([]byte("alerts|-8520336000000000000|7258118400000000000|1700-01-02|"))
			_, err = auditor.Evaluate(e.ctx, fn, `{"bookmark":"`+forgedAlerts+`"}`)
		}
		if !errors.Is(err, ledger.ErrInvalidArgument) {
			t.Fatalf("%s with a 500-year bookmark: %v, want INVALID_ARGUMENT", fn, err)
		}
	}
}
