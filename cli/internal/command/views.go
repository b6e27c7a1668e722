package command

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/cli/internal/output"
	"github.com/medprov/medprov/internal/receipt"
)

// The views below are what the gateway-backed commands print: the API's
// messages with codes spelled as on the ledger and times in RFC 3339 UTC.
// They hold evidence, never record content.

// timeLayout renders times in UTC with the shortest fraction.
const timeLayout = "2006-01-02T15:04:05.999999999Z07:00"

// ts renders a timestamp, or "" when unset.
func ts(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(timeLayout)
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

type authorView struct {
	Role            string `json:"role"`
	CertFingerprint string `json:"certFingerprint"`
}

type derivedFromView struct {
	Custodian string `json:"custodian"`
	RecordID  string `json:"recordId"`
	Version   uint32 `json:"version"`
}

type erasureView struct {
	Reason   string `json:"reason"`
	ErasedAt string `json:"erasedAt"`
	TxID     string `json:"txId"`
}

// evidenceView is the on-chain evidence of one record version.
type evidenceView struct {
	RecordID        string           `json:"recordId"`
	Version         uint32           `json:"version"`
	Patient         string           `json:"patient"`
	Custodian       string           `json:"custodian"`
	Author          authorView       `json:"author"`
	DocType         string           `json:"docType"`
	Confidentiality string           `json:"confidentiality"`
	Commitment      string           `json:"commitment"`
	AnchoredAt      string           `json:"anchoredAt"`
	TxID            string           `json:"txId"`
	Status          string           `json:"status"`
	PreviousVersion uint32           `json:"previousVersion,omitempty"`
	AmendmentReason string           `json:"amendmentReason,omitempty"`
	DerivedFrom     *derivedFromView `json:"derivedFrom,omitempty"`
	Erasure         *erasureView     `json:"erasure,omitempty"`
}

func viewEvidence(e *gatewayv1.RecordEvidence) evidenceView {
	if e == nil {
		return evidenceView{}
	}
	v := evidenceView{
		RecordID:        e.GetRecordId(),
		Version:         e.GetVersion(),
		Patient:         e.GetPatient(),
		Custodian:       e.GetCustodian(),
		Author:          authorView{Role: roleCodes.name(e.GetAuthor().GetRole()), CertFingerprint: e.GetAuthor().GetCertFingerprint()},
		DocType:         e.GetDocType(),
		Confidentiality: confidentialityCodes.name(e.GetConfidentiality()),
		Commitment:      e.GetCommitment(),
		AnchoredAt:      ts(e.GetAnchoredAt()),
		TxID:            e.GetTxId(),
		Status:          recordStatusCodes.name(e.GetStatus()),
		PreviousVersion: e.GetPreviousVersion(),
		AmendmentReason: amendmentReasonCodes.name(e.GetAmendmentReason()),
	}
	if d := e.GetDerivedFrom(); d != nil {
		v.DerivedFrom = &derivedFromView{Custodian: d.GetCustodian(), RecordID: d.GetRecordId(), Version: d.GetVersion()}
	}
	if x := e.GetErasure(); x != nil {
		v.Erasure = &erasureView{Reason: erasureReasonCodes.name(x.GetReason()), ErasedAt: ts(x.GetErasedAt()), TxID: x.GetTxId()}
	}
	return v
}

func (v evidenceView) Rows() []output.Row {
	rows := []output.Row{
		{Name: "record id", Value: v.RecordID},
		{Name: "version", Value: u32(v.Version)},
		{Name: "status", Value: v.Status},
		{Name: "patient", Value: v.Patient},
		{Name: "custodian", Value: v.Custodian},
		{Name: "doc type", Value: v.DocType},
		{Name: "confidentiality", Value: v.Confidentiality},
		{Name: "author", Value: v.Author.Role + " " + v.Author.CertFingerprint},
		{Name: "commitment", Value: v.Commitment},
		{Name: "anchored at", Value: v.AnchoredAt},
		{Name: "tx id", Value: v.TxID},
	}
	if v.PreviousVersion != 0 {
		rows = append(rows, output.Row{Name: "previous version", Value: u32(v.PreviousVersion)})
	}
	if v.AmendmentReason != "" {
		rows = append(rows, output.Row{Name: "amendment reason", Value: v.AmendmentReason})
	}
	if d := v.DerivedFrom; d != nil {
		rows = append(rows, output.Row{Name: "derived from", Value: fmt.Sprintf("%s %s v%d", d.Custodian, d.RecordID, d.Version)})
	}
	if x := v.Erasure; x != nil {
		rows = append(rows, output.Row{Name: "erasure", Value: fmt.Sprintf("%s at %s in tx %s", x.Reason, x.ErasedAt, x.TxID)})
	}
	return rows
}

// evidenceList is a list of record versions, one line each.
type evidenceList []evidenceView

func (l evidenceList) Columns() []string {
	return []string{"record id", "version", "status", "doc type", "conf", "custodian", "anchored at", "reason", "tx id"}
}

func (l evidenceList) Lines() [][]string {
	lines := make([][]string, 0, len(l))
	for _, v := range l {
		reason := v.AmendmentReason
		if v.Erasure != nil {
			reason = "erased: " + v.Erasure.Reason
		}
		lines = append(lines, []string{v.RecordID, u32(v.Version), v.Status, v.DocType, v.Confidentiality, v.Custodian, v.AnchoredAt, reason, v.TxID})
	}
	return lines
}

type requesterView struct {
	MSPID           string `json:"mspId"`
	Role            string `json:"role"`
	CertFingerprint string `json:"certFingerprint"`
}

type basisView struct {
	Type              string `json:"type"`
	ConsentID         string `json:"consentId,omitempty"`
	JustificationCode string `json:"justificationCode,omitempty"`
	JustificationHash string `json:"justificationHash,omitempty"`
}

// eventView is one access event.
type eventView struct {
	TxID             string        `json:"txId"`
	At               string        `json:"at"`
	RecordID         string        `json:"recordId"`
	Version          uint32        `json:"version"`
	Custodian        string        `json:"custodian"`
	Patient          string        `json:"patient,omitempty"`
	Requester        requesterView `json:"requester"`
	Purpose          string        `json:"purpose"`
	Decision         string        `json:"decision"`
	Basis            *basisView    `json:"basis,omitempty"`
	DenialReason     string        `json:"denialReason,omitempty"`
	CareRelationship bool          `json:"careRelationship"`
	Alerts           []string      `json:"alerts,omitempty"`
}

func viewEvent(e *gatewayv1.AccessEvent) eventView {
	if e == nil {
		return eventView{}
	}
	v := eventView{
		TxID:      e.GetTxId(),
		At:        ts(e.GetAt()),
		RecordID:  e.GetRecordId(),
		Version:   e.GetVersion(),
		Custodian: e.GetCustodian(),
		Patient:   e.GetPatient(),
		Requester: requesterView{
			MSPID:           e.GetRequester().GetMspId(),
			Role:            roleCodes.name(e.GetRequester().GetRole()),
			CertFingerprint: e.GetRequester().GetCertFingerprint(),
		},
		Purpose:          purposeCodes.name(e.GetPurpose()),
		Decision:         decisionCodes.name(e.GetDecision()),
		DenialReason:     denialCodes.name(e.GetDenialReason()),
		CareRelationship: e.GetCareRelationship(),
	}
	if b := e.GetBasis(); b != nil && b.GetType() != gatewayv1.BasisType_BASIS_TYPE_UNSPECIFIED {
		v.Basis = &basisView{
			Type:              basisCodes.name(b.GetType()),
			ConsentID:         b.GetConsentId(),
			JustificationCode: justificationCodes.name(b.GetJustificationCode()),
			JustificationHash: b.GetJustificationHash(),
		}
	}
	if len(e.GetAlerts()) > 0 {
		v.Alerts = names(alertCodes, e.GetAlerts())
	}
	return v
}

// basis renders the basis in one cell: the basis type and its consent or
// justification, or for a denial the reason.
func (v eventView) basis() string {
	if v.DenialReason != "" {
		return v.DenialReason
	}
	if v.Basis == nil {
		return ""
	}
	parts := []string{v.Basis.Type}
	for _, p := range []string{v.Basis.ConsentID, v.Basis.JustificationCode} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

func (v eventView) requester() string {
	if v.Requester.Role == "" {
		return v.Requester.MSPID
	}
	return v.Requester.MSPID + "/" + v.Requester.Role
}

func (v eventView) Rows() []output.Row {
	rows := []output.Row{
		{Name: "decision", Value: v.Decision},
		{Name: "tx id", Value: v.TxID},
		{Name: "at", Value: v.At},
		{Name: "record", Value: v.RecordID + " v" + u32(v.Version)},
		{Name: "custodian", Value: v.Custodian},
	}
	if v.Patient != "" {
		rows = append(rows, output.Row{Name: "patient", Value: v.Patient})
	}
	rows = append(rows,
		output.Row{Name: "requester", Value: v.requester() + " " + v.Requester.CertFingerprint},
		output.Row{Name: "purpose", Value: v.Purpose},
	)
	if v.DenialReason != "" {
		rows = append(rows, output.Row{Name: "denial reason", Value: v.DenialReason})
	} else {
		rows = append(rows, output.Row{Name: "basis", Value: v.basis()})
	}
	if v.Basis != nil && v.Basis.JustificationHash != "" {
		rows = append(rows, output.Row{Name: "justification hash", Value: v.Basis.JustificationHash})
	}
	if v.Basis != nil && v.Basis.Type == string(ledger.BasisCustodianStaff) {
		rows = append(rows, output.Row{Name: "care relationship", Value: strconv.FormatBool(v.CareRelationship)})
	}
	return append(rows, output.Row{Name: "alerts", Value: strings.Join(v.Alerts, ",")})
}

// eventList is a list of access events, one line each.
type eventList []eventView

func (l eventList) Columns() []string {
	return []string{"time", "decision", "requester", "record", "purpose", "basis", "alerts"}
}

func (l eventList) Lines() [][]string {
	lines := make([][]string, 0, len(l))
	for _, v := range l {
		lines = append(lines, []string{v.At, v.Decision, v.requester(), v.RecordID + " v" + u32(v.Version), v.Purpose, v.basis(), strings.Join(v.Alerts, ",")})
	}
	return lines
}

type granteeView struct {
	MSPID string `json:"mspId"`
	Role  string `json:"role,omitempty"`
}

type scopeView struct {
	All       bool     `json:"all"`
	RecordIDs []string `json:"recordIds,omitempty"`
	DocTypes  []string `json:"docTypes,omitempty"`
}

// consentView is a consent as stored on the ledger.
type consentView struct {
	ConsentID          string      `json:"consentId"`
	Patient            string      `json:"patient"`
	Grantee            granteeView `json:"grantee"`
	Scope              scopeView   `json:"scope"`
	Purposes           []string    `json:"purposes"`
	MaxConfidentiality string      `json:"maxConfidentiality"`
	NotBefore          string      `json:"notBefore"`
	NotAfter           string      `json:"notAfter"`
	Sequence           uint64      `json:"sequence"`
	Status             string      `json:"status"`
	Signature          string      `json:"signature,omitempty"`
	SubmittedBy        string      `json:"submittedBy,omitempty"`
	GrantedAt          string      `json:"grantedAt,omitempty"`
	GrantTxID          string      `json:"grantTxId,omitempty"`
	RevokedAt          string      `json:"revokedAt,omitempty"`
	RevokeTxID         string      `json:"revokeTxId,omitempty"`
	RevokeSignature    string      `json:"revokeSignature,omitempty"`
}

func b64OrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

func viewConsent(c *gatewayv1.Consent) consentView {
	g := c.GetGrant()
	return consentView{
		ConsentID:          g.GetConsentId(),
		Patient:            g.GetPatient(),
		Grantee:            granteeView{MSPID: g.GetGrantee().GetMspId(), Role: roleCodes.name(g.GetGrantee().GetRole())},
		Scope:              scopeView{All: g.GetScope().GetAll(), RecordIDs: g.GetScope().GetRecordIds(), DocTypes: g.GetScope().GetDocTypes()},
		Purposes:           names(purposeCodes, g.GetPurposes()),
		MaxConfidentiality: confidentialityCodes.name(g.GetMaxConfidentiality()),
		NotBefore:          ts(g.GetNotBefore()),
		NotAfter:           ts(g.GetNotAfter()),
		Sequence:           g.GetSequence(),
		Status:             consentStatusCodes.name(c.GetStatus()),
		Signature:          b64OrEmpty(c.GetSignature()),
		SubmittedBy:        c.GetSubmittedBy(),
		GrantedAt:          ts(c.GetGrantedAt()),
		GrantTxID:          c.GetGrantTxId(),
		RevokedAt:          ts(c.GetRevokedAt()),
		RevokeTxID:         c.GetRevokeTxId(),
		RevokeSignature:    b64OrEmpty(c.GetRevokeSignature()),
	}
}

func (v consentView) scope() string {
	if v.Scope.All {
		return "all"
	}
	var parts []string
	for _, r := range v.Scope.RecordIDs {
		parts = append(parts, "record:"+r)
	}
	for _, d := range v.Scope.DocTypes {
		parts = append(parts, "type:"+d)
	}
	return strings.Join(parts, ",")
}

func (v consentView) Rows() []output.Row {
	return []output.Row{
		{Name: "consent id", Value: v.ConsentID},
		{Name: "status", Value: v.Status},
		{Name: "patient", Value: v.Patient},
		{Name: "grantee", Value: strings.TrimSuffix(v.Grantee.MSPID+"/"+v.Grantee.Role, "/")},
		{Name: "scope", Value: v.scope()},
		{Name: "purposes", Value: strings.Join(v.Purposes, ",")},
		{Name: "max confidentiality", Value: v.MaxConfidentiality},
		{Name: "not before", Value: v.NotBefore},
		{Name: "not after", Value: v.NotAfter},
		{Name: "sequence", Value: u64(v.Sequence)},
		{Name: "submitted by", Value: v.SubmittedBy},
		{Name: "granted at", Value: v.GrantedAt},
		{Name: "grant tx id", Value: v.GrantTxID},
		{Name: "revoked at", Value: v.RevokedAt},
		{Name: "revoke tx id", Value: v.RevokeTxID},
	}
}

// consentList is a list of consents, one line each.
type consentList []consentView

func (l consentList) Columns() []string {
	return []string{"consent id", "status", "patient", "grantee", "scope", "purposes", "max conf", "not before", "not after"}
}

func (l consentList) Lines() [][]string {
	lines := make([][]string, 0, len(l))
	for _, v := range l {
		lines = append(lines, []string{v.ConsentID, v.Status, v.Patient, strings.TrimSuffix(v.Grantee.MSPID+"/"+v.Grantee.Role, "/"), v.scope(), strings.Join(v.Purposes, ","), v.MaxConfidentiality, v.NotBefore, v.NotAfter})
	}
	return lines
}

// patientView is a registered patient.
type patientView struct {
	Pseudonym    string `json:"pseudonym"`
	PublicKey    string `json:"publicKey"`
	KeyAlgorithm string `json:"keyAlgorithm"`
	KeyVersion   uint32 `json:"keyVersion"`
	Sequence     uint64 `json:"sequence"`
	RegisteredBy string `json:"registeredBy"`
	RegisteredAt string `json:"registeredAt"`
	UpdatedAt    string `json:"updatedAt"`
}

func viewPatient(p *gatewayv1.Patient) patientView {
	return patientView{
		Pseudonym:    p.GetPseudonym(),
		PublicKey:    b64OrEmpty(p.GetPublicKey()),
		KeyAlgorithm: keyAlgorithmCodes.name(p.GetKeyAlgorithm()),
		KeyVersion:   p.GetKeyVersion(),
		Sequence:     p.GetSequence(),
		RegisteredBy: p.GetRegisteredBy(),
		RegisteredAt: ts(p.GetRegisteredAt()),
		UpdatedAt:    ts(p.GetUpdatedAt()),
	}
}

func (v patientView) Rows() []output.Row {
	return []output.Row{
		{Name: "pseudonym", Value: v.Pseudonym},
		{Name: "public key", Value: v.PublicKey},
		{Name: "key algorithm", Value: v.KeyAlgorithm},
		{Name: "key version", Value: u32(v.KeyVersion)},
		{Name: "sequence", Value: u64(v.Sequence)},
		{Name: "registered by", Value: v.RegisteredBy},
		{Name: "registered at", Value: v.RegisteredAt},
		{Name: "updated at", Value: v.UpdatedAt},
	}
}

// directoryView is an organisation's directory entry.
type directoryView struct {
	MSPID        string `json:"mspId"`
	Endpoint     string `json:"endpoint"`
	TLSCACertPEM string `json:"tlsCaCertPem"`
	TLSCASubject string `json:"tlsCaSubject"`
	TLSCASHA256  string `json:"tlsCaSha256"`
	UpdatedAt    string `json:"updatedAt"`
	TxID         string `json:"txId"`
}

func viewDirectory(e *gatewayv1.DirectoryEntry) directoryView {
	v := directoryView{
		MSPID:        e.GetMspId(),
		Endpoint:     e.GetEndpoint(),
		TLSCACertPEM: e.GetTlsCaCertPem(),
		UpdatedAt:    ts(e.GetUpdatedAt()),
		TxID:         e.GetTxId(),
	}
	if b, _ := pem.Decode([]byte(v.TLSCACertPEM)); b != nil {
		sum := sha256.Sum256(b.Bytes)
		v.TLSCASHA256 = hex.EncodeToString(sum[:])
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			v.TLSCASubject = c.Subject.String()
		}
	}
	return v
}

func (v directoryView) Rows() []output.Row {
	return []output.Row{
		{Name: "msp id", Value: v.MSPID},
		{Name: "endpoint", Value: v.Endpoint},
		{Name: "tls ca subject", Value: v.TLSCASubject},
		{Name: "tls ca sha256", Value: v.TLSCASHA256},
		{Name: "updated at", Value: v.UpdatedAt},
		{Name: "tx id", Value: v.TxID},
	}
}

// errNoField is wrapped by errors about a gateway answer that lacks a
// field the API promises.
var errNoField = errors.New("the gateway's answer lacks a field")

// toReceipt converts the API's receipt into the JSON receipt of
// internal/receipt, which verify reads, and checks it.
func toReceipt(r *gatewayv1.Receipt) (receipt.Receipt, error) {
	if r == nil {
		return receipt.Receipt{}, fmt.Errorf("%w: receipt", errNoField)
	}
	if r.GetAnchoredAt() == nil {
		return receipt.Receipt{}, fmt.Errorf("%w: receipt.anchored_at", errNoField)
	}
	rc := receipt.Receipt{
		RecordID:    r.GetRecordId(),
		Version:     int(r.GetVersion()),
		Custodian:   r.GetCustodian(),
		Commitment:  r.GetCommitment(),
		TxID:        r.GetTxId(),
		BlockNumber: r.GetBlockNumber(),
		AnchoredAt:  r.GetAnchoredAt().AsTime().UTC(),
	}
	if len(r.GetSalt()) > 0 {
		rc.Salt = r.GetSalt()
	}
	if err := rc.Validate(); err != nil {
		return receipt.Receipt{}, fmt.Errorf("the gateway's receipt is not valid: %w", err)
	}
	return rc, nil
}

// wholeSecond parses an RFC 3339 time flag in whole seconds, as the API
// wants its windows; "" is unset (nil).
func wholeSecond(flag, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, usagef(flag, "want an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", s)
	}
	if t.Nanosecond() != 0 {
		return nil, usagef(flag, "want whole seconds, without a fraction")
	}
	return timestamppb.New(t), nil
}

// fmtVerify is an error about a gateway answer that contradicts the
// request or itself; it exits with ExitVerifyFailed.
func fmtVerify(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrVerificationFailed, fmt.Sprintf(format, args...))
}

// window parses --from and --to; --to must be after --from.
func window(from, to string) (*timestamppb.Timestamp, *timestamppb.Timestamp, error) {
	f, err := wholeSecond("--from", from)
	if err != nil {
		return nil, nil, err
	}
	t, err := wholeSecond("--to", to)
	if err != nil {
		return nil, nil, err
	}
	if f != nil && t != nil && !t.AsTime().After(f.AsTime()) {
		return nil, nil, usagef("--to", "must be after --from")
	}
	return f, t, nil
}
