package state

import (
	"fmt"
	"time"
)

// The key layout, defined once. Every key is a composite key; the object
// type names what the key holds and the attributes, in order, follow it.
const (
	// objRecord: [recordID, version as 10 digits] → ledger.Record.
	objRecord = "medprov.record"
	// objRecordHead: [recordID] → recordHead, the latest version number.
	objRecordHead = "medprov.record.head"
	// objPatientRecord: [custodian, patient, recordID] → marker.
	objPatientRecord = "medprov.record.by-patient"
	// objPatient: [pseudonym] → ledger.Patient.
	objPatient = "medprov.patient"
	// objConsent: [consentID] → ledger.Consent.
	objConsent = "medprov.consent"
	// objConsentByPatient: [patient, consentID] → marker.
	objConsentByPatient = "medprov.consent.by-patient"
	// objConsentByGrantee: [grantee MSP, patient, consentID] → marker.
	objConsentByGrantee = "medprov.consent.by-grantee"
	// objAccess: [txID] → ledger.AccessEvent.
	objAccess = "medprov.access"
	// objAccessIndex: [dimension, scope, value, time, txID] → marker. See
	// accessIndexKeys for the dimensions.
	objAccessIndex = "medprov.access.index"
	// objDenials: [requester MSP, hour] → denialCounter.
	objDenials = "medprov.access.denials"
	// objOrg: [mspID] → ledger.OrgEndpoint.
	objOrg = "medprov.org"
	// objBaseline: [nonce] → baselineValue, written by Baseline:Put only.
	objBaseline = "medprov.baseline"
)

// Access index dimensions and the scope that stands for "every custodian".
const (
	dimRecord    = "record"
	dimPatient   = "patient"
	dimRequester = "requester"
	dimDay       = "day"
	dimAlert     = "alert"
	scopeAll     = "*"
)

// marker is the value of index entries. Fabric treats an empty value as a
// delete, so markers hold one byte.
var marker = []byte{0}

// keyTimeLayout sorts lexically in time order: fixed width, UTC.
const keyTimeLayout = "2006-01-02T15:04:05.000000000Z"

func keyTime(t time.Time) string { return t.UTC().Format(keyTimeLayout) }

func dayOf(t time.Time) string { return t.UTC().Format("2006-01-02") }

func versionAttr(v int) string { return fmt.Sprintf("%010d", v) }
