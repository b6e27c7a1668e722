package ledger_test

import (
	"slices"
	"testing"

	"github.com/medprov/medprov/chaincode/ledger"
)

func TestCallerAuthorize(t *testing.T) {
	cases := map[string]struct {
		role ledger.Role
		tx   string
		want error
	}{
		"a clinician may anchor a record":             {ledger.RoleClinician, ledger.TxAnchorRecord, nil},
		"a researcher may not anchor a record":        {ledger.RoleResearcher, ledger.TxAnchorRecord, ledger.ErrPermissionDenied},
		"only a records officer may erase":            {ledger.RoleRecordsOfficer, ledger.TxEraseRecord, nil},
		"a clinician may not erase":                   {ledger.RoleClinician, ledger.TxEraseRecord, ledger.ErrPermissionDenied},
		"a researcher may request access":             {ledger.RoleResearcher, ledger.TxRequestAccess, nil},
		"an auditor may not request access":           {ledger.RoleAuditor, ledger.TxRequestAccess, ledger.ErrPermissionDenied},
		"an admin may not request access":             {ledger.RoleAdmin, ledger.TxRequestAccess, ledger.ErrPermissionDenied},
		"an auditor may read the access history":      {ledger.RoleAuditor, ledger.TxAccessHistory, nil},
		"a clinician may not read the access history": {ledger.RoleClinician, ledger.TxAccessHistory, ledger.ErrPermissionDenied},
		"only an admin may set the endpoint":          {ledger.RoleAdmin, ledger.TxSetOrgEndpoint, nil},
		"a records officer may not set the endpoint":  {ledger.RoleRecordsOfficer, ledger.TxSetOrgEndpoint, ledger.ErrPermissionDenied},
		"anyone may verify a record":                  {ledger.RoleAuditor, ledger.TxVerifyRecord, nil},
		"a caller without a role may not verify":      {"", ledger.TxVerifyRecord, ledger.ErrPermissionDenied},
		"an unknown transaction is an internal error": {ledger.RoleAdmin, "DropAllRecords", ledger.ErrInternal},
		"a records officer may put a baseline key":    {ledger.RoleRecordsOfficer, ledger.TxBaselinePut, nil},
		"a clinician may not put a baseline key":      {ledger.RoleClinician, ledger.TxBaselinePut, ledger.ErrPermissionDenied},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wantCode(t, ledger.Caller{MSPID: orgA, Role: tc.role}.Authorize(tc.tx), tc.want)
		})
	}
}

func TestAuditorsAndAdminsNeverReadRecords(t *testing.T) {
	for _, tx := range []string{ledger.TxGetRecord, ledger.TxGetRecordVersion, ledger.TxRecordHistory, ledger.TxListPatientRecords, ledger.TxRequestAccess} {
		for _, r := range []ledger.Role{ledger.RoleAuditor, ledger.RoleAdmin} {
			if slices.Contains(ledger.AllowedRoles(tx), r) {
				t.Errorf("%s may call %s", r, tx)
			}
		}
	}
}

func TestAllowedRolesReturnsACopy(t *testing.T) {
	roles := ledger.AllowedRoles(ledger.TxEraseRecord)
	roles[0] = ledger.RoleAdmin
	wantCode(t, ledger.Caller{Role: ledger.RoleAdmin}.Authorize(ledger.TxEraseRecord), ledger.ErrPermissionDenied)
	if ledger.AllowedRoles("NoSuchTx") != nil {
		t.Error("an unknown transaction has roles")
	}
}

func TestCallerSeesAndRequester(t *testing.T) {
	c := ledger.Caller{MSPID: orgA, Role: ledger.RoleClinician, Clearance: ledger.ConfNormal, CertFingerprint: hashB}
	rec := record()
	for conf, want := range map[ledger.Confidentiality]bool{"U": true, "N": true, "R": false, "V": false} {
		rec.Confidentiality = conf
		if c.Sees(rec) != want {
			t.Errorf("clearance N sees %s = %v, want %v", conf, !want, want)
		}
	}
	if want := (ledger.Requester{MSPID: orgA, Role: ledger.RoleClinician, CertFingerprint: hashB}); c.Requester() != want {
		t.Errorf("Requester() = %+v, want %+v", c.Requester(), want)
	}
	if c.IsAuditor() || !(ledger.Caller{Role: ledger.RoleAuditor}).IsAuditor() {
		t.Error("IsAuditor is wrong")
	}
}
