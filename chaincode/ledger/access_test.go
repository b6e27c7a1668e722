package ledger_test

import (
	"slices"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

var (
	validFrom  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	validUntil = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestConsentCheck(t *testing.T) {
	cases := map[string]struct {
		consent func(*ledger.Consent)
		rec     func(*ledger.Record)
		msp     string
		role    ledger.Role
		purpose ledger.Purpose
		now     time.Time
		want    ledger.DenialReason // "" means covered
	}{
		"a consent for all records covers the request":                   {},
		"a consent naming the record ID covers it":                       {consent: func(c *ledger.Consent) { c.Scope = ledger.Scope{RecordIDs: []string{"rec-000", "rec-001"}} }},
		"a consent naming the doc type covers it":                        {consent: func(c *ledger.Consent) { c.Scope = ledger.Scope{DocTypes: []string{"11506-3"}} }},
		"a consent for the caller's role covers it":                      {consent: func(c *ledger.Consent) { c.Grantee.Role = ledger.RoleClinician }},
		"a consent at exactly ValidFrom covers it":                       {now: validFrom},
		"a consent one second before ValidUntil covers it":               {now: validUntil.Add(-time.Second)},
		"a consent up to V covers a V record":                            {consent: func(c *ledger.Consent) { c.MaxConfidentiality = ledger.ConfVeryRestricted }, rec: func(r *ledger.Record) { r.Confidentiality = ledger.ConfVeryRestricted }},
		"a consent up to N covers a U record":                            {rec: func(r *ledger.Record) { r.Confidentiality = ledger.ConfUnrestricted }},
		"a consent to another organisation is no consent":                {msp: orgA, want: ledger.DenyNoConsent},
		"a consent of another patient is no consent":                     {rec: func(r *ledger.Record) { r.Patient = other }, want: ledger.DenyNoConsent},
		"a revoked consent is reported as revoked":                       {consent: func(c *ledger.Consent) { c.Status = ledger.ConsentRevoked }, want: ledger.DenyConsentRevoked},
		"a consent with an unknown status counts as revoked":             {consent: func(c *ledger.Consent) { c.Status = "" }, want: ledger.DenyConsentRevoked},
		"a consent one second before ValidFrom is not yet valid":         {now: validFrom.Add(-time.Second), want: ledger.DenyConsentNotYetValid},
		"a consent at exactly ValidUntil has expired":                    {now: validUntil, want: ledger.DenyConsentExpired},
		"a consent after ValidUntil has expired":                         {now: validUntil.Add(time.Hour), want: ledger.DenyConsentExpired},
		"a consent for clinicians does not cover a researcher":           {consent: func(c *ledger.Consent) { c.Grantee.Role = ledger.RoleClinician }, role: ledger.RoleResearcher, want: ledger.DenyRoleNotCovered},
		"a consent for TREAT does not cover HRESCH":                      {purpose: ledger.PurposeResearch, want: ledger.DenyPurposeNotCovered},
		"a consent for TREAT does not cover ETREAT":                      {purpose: ledger.PurposeEmergencyTreatment, want: ledger.DenyPurposeNotCovered},
		"a consent naming other record IDs does not cover the record":    {consent: func(c *ledger.Consent) { c.Scope = ledger.Scope{RecordIDs: []string{"rec-002"}} }, want: ledger.DenyScopeNotCovered},
		"a consent naming other doc types does not cover the record":     {consent: func(c *ledger.Consent) { c.Scope = ledger.Scope{DocTypes: []string{"34133-9"}} }, want: ledger.DenyScopeNotCovered},
		"a consent naming the doc type as a record ID does not cover it": {consent: func(c *ledger.Consent) { c.Scope = ledger.Scope{RecordIDs: []string{"11506-3"}} }, want: ledger.DenyScopeNotCovered},
		"a consent up to N does not cover an R record":                   {rec: func(r *ledger.Record) { r.Confidentiality = ledger.ConfRestricted }, want: ledger.DenyConfidentialityAboveConsent},
		"a consent up to L does not cover an M record":                   {consent: func(c *ledger.Consent) { c.MaxConfidentiality = ledger.ConfLow }, rec: func(r *ledger.Record) { r.Confidentiality = ledger.ConfModerate }, want: ledger.DenyConfidentialityAboveConsent},
		"the first failing check is reported (revoked and expired)":      {consent: func(c *ledger.Consent) { c.Status = ledger.ConsentRevoked }, now: validUntil, want: ledger.DenyConsentRevoked},
		"the first failing check is reported (purpose and scope)":        {consent: func(c *ledger.Consent) { c.Scope = ledger.Scope{RecordIDs: []string{"rec-009"}} }, purpose: ledger.PurposeResearch, want: ledger.DenyPurposeNotCovered},
		"another organisation is reported before any other failure":      {consent: func(c *ledger.Consent) { c.Status = ledger.ConsentRevoked }, msp: orgA, want: ledger.DenyNoConsent},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, rec := consent("consent-001"), record()
			if tc.consent != nil {
				tc.consent(&c)
			}
			if tc.rec != nil {
				tc.rec(&rec)
			}
			msp, role, purpose, now := orgB, ledger.RoleClinician, ledger.PurposeTreatment, t0
			if tc.msp != "" {
				msp = tc.msp
			}
			if tc.role != "" {
				role = tc.role
			}
			if tc.purpose != "" {
				purpose = tc.purpose
			}
			if !tc.now.IsZero() {
				now = tc.now
			}
			got := c.Check(rec, msp, role, purpose, now)
			if tc.want == "" {
				if !got.Covers || got.Reason != "" {
					t.Fatalf("got %+v, want covered", got)
				}
				return
			}
			if got.Covers || got.Reason != tc.want {
				t.Fatalf("got %+v, want denied with %s", got, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	clinician := ledger.Requester{MSPID: orgB, Role: ledger.RoleClinician, CertFingerprint: hashB}
	researcher := ledger.Requester{MSPID: orgB, Role: ledger.RoleResearcher, CertFingerprint: hashB}
	treat := ledger.AccessRequest{RecordID: "rec-001", Purpose: ledger.PurposeTreatment}
	glass := ledger.AccessRequest{RecordID: "rec-001", Purpose: ledger.PurposeEmergencyTreatment, JustificationCode: ledger.JustifyLifeThreatening, JustificationHash: hashA}
	glassNoCode := ledger.AccessRequest{RecordID: "rec-001", Purpose: ledger.PurposeEmergencyTreatment}
	with := func(id string, f func(*ledger.Consent)) ledger.Consent {
		c := consent(id)
		f(&c)
		return c
	}
	revoked := with("c-revoked", func(c *ledger.Consent) { c.Status = ledger.ConsentRevoked })
	expired := with("c-expired", func(c *ledger.Consent) { c.ValidUntil = t0 })
	future := with("c-future", func(c *ledger.Consent) { c.ValidFrom = t0.Add(time.Second) })
	wrongPurpose := with("c-purpose", func(c *ledger.Consent) { c.Purposes = []ledger.Purpose{ledger.PurposeResearch} })
	wrongScope := with("c-scope", func(c *ledger.Consent) { c.Scope = ledger.Scope{DocTypes: []string{"34133-9"}} })
	wrongRole := with("c-role", func(c *ledger.Consent) { c.Grantee.Role = ledger.RoleResearcher })
	tooLow := with("c-low", func(c *ledger.Consent) { c.MaxConfidentiality = ledger.ConfLow })
	otherOrg := with("c-org", func(c *ledger.Consent) { c.Grantee.MSPID = "Org9MSP" })
	etreat := with("c-etreat", func(c *ledger.Consent) { c.Purposes = []ledger.Purpose{ledger.PurposeEmergencyTreatment} })
	byID := with("c-id", func(c *ledger.Consent) { c.Scope = ledger.Scope{RecordIDs: []string{"rec-001"}} })
	byType := with("c-type", func(c *ledger.Consent) { c.Scope = ledger.Scope{DocTypes: []string{"11506-3"}} })
	all := consent("c-all")

	cases := map[string]struct {
		rec      func(*ledger.Record)
		req      ledger.AccessRequest
		who      ledger.Requester
		consents []ledger.Consent
		decision ledger.Decision
		reason   ledger.DenialReason
		basis    string // consent ID of a CONSENT basis
	}{
		"a consent for all records grants access":                                      {req: treat, who: clinician, consents: []ledger.Consent{all}, decision: ledger.DecisionGranted, basis: "c-all"},
		"a consent by record ID grants access":                                         {req: treat, who: clinician, consents: []ledger.Consent{byID}, decision: ledger.DecisionGranted, basis: "c-id"},
		"a consent by doc type grants access":                                          {req: treat, who: clinician, consents: []ledger.Consent{byType}, decision: ledger.DecisionGranted, basis: "c-type"},
		"a researcher is granted by a consent for all roles":                           {req: treat, who: researcher, consents: []ledger.Consent{all}, decision: ledger.DecisionGranted, basis: "c-all"},
		"the first matching consent is the basis":                                      {req: treat, who: clinician, consents: []ledger.Consent{revoked, byID, all}, decision: ledger.DecisionGranted, basis: "c-id"},
		"no consents at all deny with NO_CONSENT":                                      {req: treat, who: clinician, decision: ledger.DecisionDenied, reason: ledger.DenyNoConsent},
		"a consent to another org denies with NO_CONSENT":                              {req: treat, who: clinician, consents: []ledger.Consent{otherOrg}, decision: ledger.DecisionDenied, reason: ledger.DenyNoConsent},
		"a revoked consent denies with CONSENT_REVOKED":                                {req: treat, who: clinician, consents: []ledger.Consent{revoked}, decision: ledger.DecisionDenied, reason: ledger.DenyConsentRevoked},
		"a future consent denies with CONSENT_NOT_YET_VALID":                           {req: treat, who: clinician, consents: []ledger.Consent{future}, decision: ledger.DecisionDenied, reason: ledger.DenyConsentNotYetValid},
		"a consent ending now denies with CONSENT_EXPIRED":                             {req: treat, who: clinician, consents: []ledger.Consent{expired}, decision: ledger.DecisionDenied, reason: ledger.DenyConsentExpired},
		"a consent for another role denies with ROLE_NOT_COVERED":                      {req: treat, who: clinician, consents: []ledger.Consent{wrongRole}, decision: ledger.DecisionDenied, reason: ledger.DenyRoleNotCovered},
		"a consent for another purpose denies with PURPOSE_NOT_COVERED":                {req: treat, who: clinician, consents: []ledger.Consent{wrongPurpose}, decision: ledger.DecisionDenied, reason: ledger.DenyPurposeNotCovered},
		"a consent for other records denies with SCOPE_NOT_COVERED":                    {req: treat, who: clinician, consents: []ledger.Consent{wrongScope}, decision: ledger.DecisionDenied, reason: ledger.DenyScopeNotCovered},
		"a consent below the record's level denies with CONFIDENTIALITY_ABOVE_CONSENT": {req: treat, who: clinician, consents: []ledger.Consent{tooLow}, decision: ledger.DecisionDenied, reason: ledger.DenyConfidentialityAboveConsent},
		"an erased record is denied with RECORD_ERASED even with consent":              {rec: func(r *ledger.Record) { r.Status = ledger.StatusErased }, req: treat, who: clinician, consents: []ledger.Consent{all}, decision: ledger.DecisionDenied, reason: ledger.DenyRecordErased},
		"an erased record is denied with RECORD_ERASED even in an emergency":           {rec: func(r *ledger.Record) { r.Status = ledger.StatusErased }, req: glass, who: clinician, decision: ledger.DecisionDenied, reason: ledger.DenyRecordErased},
		"the closest consent's reason is reported, whatever the order":                 {req: treat, who: clinician, consents: []ledger.Consent{tooLow, otherOrg, revoked, wrongPurpose, expired}, decision: ledger.DecisionDenied, reason: ledger.DenyConfidentialityAboveConsent},
		"the closest consent's reason is reported when it comes first":                 {req: treat, who: clinician, consents: []ledger.Consent{wrongScope, future, otherOrg}, decision: ledger.DecisionDenied, reason: ledger.DenyScopeNotCovered},
		"purpose beats role and expiry as the closest":                                 {req: treat, who: clinician, consents: []ledger.Consent{expired, wrongPurpose, wrongRole}, decision: ledger.DecisionDenied, reason: ledger.DenyPurposeNotCovered},
		"a tie goes to the first consent":                                              {req: treat, who: clinician, consents: []ledger.Consent{wrongScope, with("c-scope2", func(c *ledger.Consent) { c.Scope = ledger.Scope{RecordIDs: []string{"rec-009"}} })}, decision: ledger.DecisionDenied, reason: ledger.DenyScopeNotCovered},
		"a clinician breaks the glass without consent":                                 {req: glass, who: clinician, decision: ledger.DecisionEmergency},
		"a clinician breaks the glass past failing consents":                           {req: glass, who: clinician, consents: []ledger.Consent{revoked, wrongPurpose}, decision: ledger.DecisionEmergency},
		"a researcher cannot break the glass":                                          {req: glass, who: researcher, decision: ledger.DecisionDenied, reason: ledger.DenyNoConsent},
		"a records officer cannot break the glass":                                     {req: glass, who: ledger.Requester{MSPID: orgB, Role: ledger.RoleRecordsOfficer}, consents: []ledger.Consent{revoked}, decision: ledger.DecisionDenied, reason: ledger.DenyConsentRevoked},
		"ETREAT without a justification code is no emergency":                          {req: glassNoCode, who: clinician, decision: ledger.DecisionDenied, reason: ledger.DenyNoConsent},
		"a matching consent wins over break-the-glass":                                 {req: glass, who: clinician, consents: []ledger.Consent{wrongPurpose, etreat}, decision: ledger.DecisionGranted, basis: "c-etreat"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec := record()
			if tc.rec != nil {
				tc.rec(&rec)
			}
			ev := ledger.Decide(rec, tc.req, tc.who, tc.consents, t0)
			if ev.Decision != tc.decision || ev.DenialReason != tc.reason {
				t.Fatalf("got %s/%s, want %s/%s", ev.Decision, ev.DenialReason, tc.decision, tc.reason)
			}
			// Fields copied from the inputs.
			if ev.Kind != ledger.KindAccessEvent || ev.SchemaVersion != ledger.SchemaVersion ||
				ev.RecordID != rec.RecordID || ev.Version != rec.Version || ev.Custodian != rec.Custodian ||
				ev.Patient != rec.Patient || ev.Requester != tc.who || ev.Purpose != tc.req.Purpose {
				t.Errorf("event fields not copied: %+v", ev)
			}
			if ev.TxID != "" || !ev.At.IsZero() {
				t.Errorf("Decide set transaction fields: %+v", ev)
			}
			switch tc.decision {
			case ledger.DecisionGranted:
				if ev.Basis == nil || ev.Basis.Type != ledger.BasisConsent || ev.Basis.ConsentID != tc.basis {
					t.Errorf("basis = %+v, want CONSENT %s", ev.Basis, tc.basis)
				}
				if len(ev.Alerts) != 0 {
					t.Errorf("alerts = %v, want none", ev.Alerts)
				}
			case ledger.DecisionEmergency:
				want := ledger.Basis{Type: ledger.BasisBreakTheGlass, JustificationCode: tc.req.JustificationCode, JustificationHash: tc.req.JustificationHash}
				if ev.Basis == nil || *ev.Basis != want {
					t.Errorf("basis = %+v, want %+v", ev.Basis, want)
				}
				if !slices.Equal(ev.Alerts, []ledger.Alert{ledger.AlertEmergency}) {
					t.Errorf("alerts = %v, want [EMERGENCY_ACCESS]", ev.Alerts)
				}
			case ledger.DecisionDenied:
				if ev.Basis != nil || len(ev.Alerts) != 0 {
					t.Errorf("a denial has basis %+v and alerts %v", ev.Basis, ev.Alerts)
				}
			}
		})
	}
}

func TestAccessRequestValidate(t *testing.T) {
	cases := map[string]struct {
		req ledger.AccessRequest
		arg string // "" means accepted
	}{
		"a TREAT request is accepted":                         {ledger.AccessRequest{RecordID: "rec-001", Purpose: "TREAT"}, ""},
		"an ETREAT request without justification is accepted": {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT"}, ""},
		"an ETREAT request with a code is accepted":           {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationCode: "PATIENT-UNABLE-TO-CONSENT"}, ""},
		"an ETREAT request with a code and hash is accepted":  {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationCode: "LIFE-THREATENING", JustificationHash: hashA}, ""},
		"a bad record ID is rejected":                         {ledger.AccessRequest{RecordID: "r", Purpose: "TREAT"}, "request.recordId"},
		"a missing purpose is rejected":                       {ledger.AccessRequest{RecordID: "rec-001"}, "request.purpose"},
		"an unknown purpose is rejected":                      {ledger.AccessRequest{RecordID: "rec-001", Purpose: "treat"}, "request.purpose"},
		"a justification code with TREAT is rejected":         {ledger.AccessRequest{RecordID: "rec-001", Purpose: "TREAT", JustificationCode: "LIFE-THREATENING"}, "request.justificationCode"},
		"an unknown justification code is rejected":           {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationCode: "BORED"}, "request.justificationCode"},
		"a justification hash without a code is rejected":     {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationHash: hashA}, "request.justificationHash"},
		"an uppercase justification hash is rejected":         {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationCode: "LIFE-THREATENING", JustificationHash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "request.justificationHash"},
		"a short justification hash is rejected":              {ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationCode: "LIFE-THREATENING", JustificationHash: "abc"}, "request.justificationHash"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.arg == "" {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, tc.arg)
			}
		})
	}
	for _, c := range ledger.JustificationCodes {
		r := ledger.AccessRequest{RecordID: "rec-001", Purpose: "ETREAT", JustificationCode: c}
		if err := r.Validate(); err != nil {
			t.Errorf("justification code %s: %v", c, err)
		}
	}
}

func TestLogAccessRequestValidate(t *testing.T) {
	yes, no := true, false
	cases := map[string]struct {
		req ledger.LogAccessRequest
		arg string
	}{
		"a request without a version is accepted":           {ledger.LogAccessRequest{RecordID: "rec-001", Purpose: "TREAT", CareRelationship: &yes}, ""},
		"a request with a version is accepted":              {ledger.LogAccessRequest{RecordID: "rec-001", Version: 3, Purpose: "TREAT", CareRelationship: &yes}, ""},
		"a request outside a care relationship is accepted": {ledger.LogAccessRequest{RecordID: "rec-001", Purpose: "HOPERAT", CareRelationship: &no}, ""},
		"a bad record ID is rejected":                       {ledger.LogAccessRequest{RecordID: "", Purpose: "TREAT", CareRelationship: &yes}, "request.recordId"},
		"a negative version is rejected":                    {ledger.LogAccessRequest{RecordID: "rec-001", Version: -1, Purpose: "TREAT", CareRelationship: &yes}, "request.version"},
		"a bad purpose is rejected":                         {ledger.LogAccessRequest{RecordID: "rec-001", Purpose: "SNOOP", CareRelationship: &yes}, "request.purpose"},
		"a missing care relationship is rejected":           {ledger.LogAccessRequest{RecordID: "rec-001", Purpose: "TREAT"}, "request.careRelationship"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.arg == "" {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, tc.arg)
			}
		})
	}
}

func TestLogAccessRequestCareRelationshipMustBeSent(t *testing.T) {
	// Omitting careRelationship in JSON must not read as false.
	var r ledger.LogAccessRequest
	wantCode(t, ledger.DecodeStrict("request", `{"recordId":"rec-001","purpose":"TREAT"}`, &r), nil)
	wantInvalid(t, r.Validate(), "request.careRelationship")
	wantCode(t, ledger.DecodeStrict("request", `{"recordId":"rec-001","purpose":"TREAT","careRelationship":false}`, &r), nil)
	wantCode(t, r.Validate(), nil)
}
