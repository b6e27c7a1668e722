package contract

import "github.com/medprov/medprov/chaincode/ledger"

// Signature describes one transaction of the on-chain API: its name, its
// arguments in order, and whether it only reads.
type Signature struct {
	Name     string
	Args     []string
	ReadOnly bool
}

// Signatures is the on-chain API, in documentation order. The chaincode
// wrapper checks argument counts against it before the contract API sees a
// call, so that a wrong call gets a medprov error naming the arguments.
var Signatures = []Signature{
	{Name: ledger.TxAnchorRecord, Args: []string{"request"}},
	{Name: ledger.TxAmendRecord, Args: []string{"request"}},
	{Name: ledger.TxEraseRecord, Args: []string{"request"}},
	{Name: ledger.TxGetRecord, Args: []string{"recordId"}, ReadOnly: true},
	{Name: ledger.TxGetRecordVersion, Args: []string{"recordId", "version"}, ReadOnly: true},
	{Name: ledger.TxRecordHistory, Args: []string{"recordId", "pageSize", "bookmark"}, ReadOnly: true},
	{Name: ledger.TxListPatientRecords, Args: []string{"patient", "pageSize", "bookmark"}, ReadOnly: true},
	{Name: ledger.TxVerifyRecord, Args: []string{"recordId", "version", "commitment"}, ReadOnly: true},
	{Name: ledger.TxRegisterPatient, Args: []string{"publicKey"}},
	{Name: ledger.TxRotatePatientKey, Args: []string{"rotation", "signature"}},
	{Name: ledger.TxGetPatient, Args: []string{"patient"}, ReadOnly: true},
	{Name: ledger.TxGrantConsent, Args: []string{"consent", "signature"}},
	{Name: ledger.TxRevokeConsent, Args: []string{"revocation", "signature"}},
	{Name: ledger.TxGetConsent, Args: []string{"consentId"}, ReadOnly: true},
	{Name: ledger.TxListConsentsByPatient, Args: []string{"patient", "pageSize", "bookmark"}, ReadOnly: true},
	{Name: ledger.TxListConsentsByGrantee, Args: []string{"granteeMsp", "pageSize", "bookmark"}, ReadOnly: true},
	{Name: ledger.TxRequestAccess, Args: []string{"request"}},
	{Name: ledger.TxLogAccess, Args: []string{"request"}},
	{Name: ledger.TxGetAccessEvent, Args: []string{"txId"}, ReadOnly: true},
	{Name: ledger.TxAccessHistory, Args: []string{"query"}, ReadOnly: true},
	{Name: ledger.TxAlerts, Args: []string{"query"}, ReadOnly: true},
	{Name: ledger.TxSetOrgEndpoint, Args: []string{"request"}},
	{Name: ledger.TxGetOrgEndpoint, Args: []string{"mspId"}, ReadOnly: true},
}

// BaselineSignatures is the on-chain API of the Baseline contract, whose
// transaction names carry the contract's prefix. The front door checks
// them as it checks Signatures.
var BaselineSignatures = []Signature{
	{Name: ledger.TxBaselinePut, Args: []string{"nonce"}},
}
