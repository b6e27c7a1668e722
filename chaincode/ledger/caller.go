package ledger

import "slices"

// Caller is who signed the transaction, as the chaincode reads it from the
// signer's certificate: the MSP ID, the medprov.role and medprov.clearance
// attributes, and the SHA-256 fingerprint of the certificate.
type Caller struct {
	MSPID           string
	Role            Role
	Clearance       Confidentiality
	CertFingerprint string
}

// Requester returns the caller as the requester of an access event.
func (c Caller) Requester() Requester {
	return Requester{MSPID: c.MSPID, Role: c.Role, CertFingerprint: c.CertFingerprint}
}

// Sees reports whether the caller's clearance reaches a record's
// confidentiality. Records it does not reach are hidden: left out of lists
// and NOT_FOUND when read directly.
func (c Caller) Sees(r Record) bool { return c.Clearance.Covers(r.Confidentiality) }

// IsAuditor reports whether the caller holds the auditor role.
func (c Caller) IsAuditor() bool { return c.Role == RoleAuditor }

// Transaction names: the on-chain API. Once deployed a name is forever.
const (
	TxAnchorRecord          = "AnchorRecord"
	TxAmendRecord           = "AmendRecord"
	TxEraseRecord           = "EraseRecord"
	TxGetRecord             = "GetRecord"
	TxGetRecordVersion      = "GetRecordVersion"
	TxRecordHistory         = "RecordHistory"
	TxListPatientRecords    = "ListPatientRecords"
	TxVerifyRecord          = "VerifyRecord"
	TxRegisterPatient       = "RegisterPatient"
	TxRotatePatientKey      = "RotatePatientKey"
	TxGetPatient            = "GetPatient"
	TxGrantConsent          = "GrantConsent"
	TxRevokeConsent         = "RevokeConsent"
	TxGetConsent            = "GetConsent"
	TxListConsentsByPatient = "ListConsentsByPatient"
	TxListConsentsByGrantee = "ListConsentsByGrantee"
	TxRequestAccess         = "RequestAccess"
	TxLogAccess             = "LogAccess"
	TxGetAccessEvent        = "GetAccessEvent"
	TxAccessHistory         = "AccessHistory"
	TxAlerts                = "Alerts"
	TxSetOrgEndpoint        = "SetOrgEndpoint"
	TxGetOrgEndpoint        = "GetOrgEndpoint"
)

// baselineRoles may submit Baseline:Put: the operators who run load tests.
// Clinicians and researchers have no use for it, and auditors write
// nothing.
var baselineRoles = []Role{RoleRecordsOfficer, RoleAdmin}

var (
	staff      = []Role{RoleClinician, RoleRecordsOfficer}
	readers    = []Role{RoleClinician, RoleRecordsOfficer, RoleResearcher}
	everyone   = Roles
	trailRoles = []Role{RoleRecordsOfficer, RoleAdmin, RoleAuditor}
)

// rolePolicy lists, per transaction, the roles that may call it at all.
// Organisation rules (custodian only, grantee only) and clearance come on
// top, in the contract.
var rolePolicy = map[string][]Role{
	TxAnchorRecord:          staff,
	TxAmendRecord:           staff,
	TxEraseRecord:           {RoleRecordsOfficer},
	TxGetRecord:             staff,
	TxGetRecordVersion:      staff,
	TxRecordHistory:         staff,
	TxListPatientRecords:    staff,
	TxVerifyRecord:          everyone,
	TxRegisterPatient:       staff,
	TxRotatePatientKey:      staff,
	TxGetPatient:            everyone,
	TxGrantConsent:          staff,
	TxRevokeConsent:         staff,
	TxGetConsent:            everyone,
	TxListConsentsByPatient: everyone,
	TxListConsentsByGrantee: everyone,
	TxRequestAccess:         readers,
	TxLogAccess:             readers,
	TxGetAccessEvent:        everyone,
	TxAccessHistory:         trailRoles,
	TxAlerts:                trailRoles,
	TxSetOrgEndpoint:        {RoleAdmin},
	TxGetOrgEndpoint:        everyone,
	TxBaselinePut:           baselineRoles,
}

// Authorize checks that the caller's role may call transaction tx.
func (c Caller) Authorize(tx string) error {
	allowed, ok := rolePolicy[tx]
	if !ok {
		return Internal("authorize", errUnknownTx(tx))
	}
	if !slices.Contains(allowed, c.Role) {
		return PermissionDenied("role %s may not call %s; allowed: %s", c.Role, tx, joinCodes(allowed))
	}
	return nil
}

// AllowedRoles returns the roles that may call tx, for documentation.
func AllowedRoles(tx string) []Role { return slices.Clone(rolePolicy[tx]) }

type errUnknownTx string

func (e errUnknownTx) Error() string { return "no role policy for transaction " + string(e) }
