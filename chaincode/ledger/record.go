package ledger

import "time"

// Record statuses.
const (
	StatusActive     = "active"
	StatusSuperseded = "superseded"
	StatusErased     = "erased"
)

// Record is the evidence for one version of a medical record: who holds it,
// who wrote it, what kind of document it is, how confidential, and the
// salted commitment to its content. It holds no content.
type Record struct {
	Kind            string          `json:"kind"`
	SchemaVersion   int             `json:"schemaVersion"`
	RecordID        string          `json:"recordId"`
	Version         int             `json:"version"`
	Patient         string          `json:"patient"`
	Custodian       string          `json:"custodian"`
	Author          Author          `json:"author"`
	DocType         string          `json:"docType"`
	Confidentiality Confidentiality `json:"confidentiality"`
	Commitment      string          `json:"commitment"`
	AnchoredAt      time.Time       `json:"anchoredAt"`
	TxID            string          `json:"txId"`
	Status          string          `json:"status"`
	PreviousVersion int             `json:"previousVersion,omitempty"`
	AmendmentReason AmendmentReason `json:"amendmentReason,omitempty"`
	DerivedFrom     *DerivedFrom    `json:"derivedFrom,omitempty"`
	Erasure         *Erasure        `json:"erasure,omitempty"`
}

// Author identifies who anchored a record version: role and the SHA-256
// fingerprint of the signer's certificate.
type Author struct {
	Role            Role   `json:"role"`
	CertFingerprint string `json:"certFingerprint"`
}

// DerivedFrom names the record a verified copy was made from.
type DerivedFrom struct {
	Custodian string `json:"custodian"`
	RecordID  string `json:"recordId"`
	Version   int    `json:"version"`
}

// Erasure is the tombstone of an erased record: when, why, and in which
// transaction. The commitment stays; with the salt destroyed off-chain it
// links to nothing.
type Erasure struct {
	Reason   ErasureReason `json:"reason"`
	ErasedAt time.Time     `json:"erasedAt"`
	TxID     string        `json:"txId"`
}

// AnchorRequest is the argument of AnchorRecord.
type AnchorRequest struct {
	RecordID        string          `json:"recordId"`
	Patient         string          `json:"patient"`
	DocType         string          `json:"docType"`
	Confidentiality Confidentiality `json:"confidentiality"`
	Commitment      string          `json:"commitment"`
	DerivedFrom     *DerivedFrom    `json:"derivedFrom,omitempty"`
}

// Validate checks every field of an anchor request.
func (r AnchorRequest) Validate() error {
	if err := CheckID("request.recordId", r.RecordID); err != nil {
		return err
	}
	if err := CheckPseudonym("request.patient", r.Patient); err != nil {
		return err
	}
	if err := CheckDocType("request.docType", r.DocType); err != nil {
		return err
	}
	if _, err := ParseConfidentiality("request.confidentiality", string(r.Confidentiality)); err != nil {
		return err
	}
	if err := CheckHash32("request.commitment", r.Commitment); err != nil {
		return err
	}
	if d := r.DerivedFrom; d != nil {
		if err := CheckMSPID("request.derivedFrom.custodian", d.Custodian); err != nil {
			return err
		}
		if err := CheckID("request.derivedFrom.recordId", d.RecordID); err != nil {
			return err
		}
		if d.Version < 1 || d.Version > maxVersion {
			return InvalidArgument("request.derivedFrom.version", "want a version number from 1 to %d", maxVersion)
		}
	}
	return nil
}

// AmendRequest is the argument of AmendRecord. DocType and Confidentiality
// are optional: empty keeps the previous version's values.
type AmendRequest struct {
	RecordID        string          `json:"recordId"`
	Commitment      string          `json:"commitment"`
	Reason          AmendmentReason `json:"reason"`
	DocType         string          `json:"docType,omitempty"`
	Confidentiality Confidentiality `json:"confidentiality,omitempty"`
}

// Validate checks every field of an amend request.
func (r AmendRequest) Validate() error {
	if err := CheckID("request.recordId", r.RecordID); err != nil {
		return err
	}
	if err := CheckHash32("request.commitment", r.Commitment); err != nil {
		return err
	}
	if _, err := parseCode("request.reason", string(r.Reason), AmendmentReasons); err != nil {
		return err
	}
	if r.DocType != "" {
		if err := CheckDocType("request.docType", r.DocType); err != nil {
			return err
		}
	}
	if r.Confidentiality != "" {
		if _, err := ParseConfidentiality("request.confidentiality", string(r.Confidentiality)); err != nil {
			return err
		}
	}
	return nil
}

// EraseRequest is the argument of EraseRecord.
type EraseRequest struct {
	RecordID string        `json:"recordId"`
	Reason   ErasureReason `json:"reason"`
}

// Validate checks every field of an erase request.
func (r EraseRequest) Validate() error {
	if err := CheckID("request.recordId", r.RecordID); err != nil {
		return err
	}
	_, err := parseCode("request.reason", string(r.Reason), ErasureReasons)
	return err
}

// Verification is the answer of VerifyRecord.
// The other fields are set only on a match.
type Verification struct {
	RecordID   string     `json:"recordId"`
	Version    int        `json:"version"`
	Match      bool       `json:"match"`
	Status     string     `json:"status,omitempty"`
	Custodian  string     `json:"custodian,omitempty"`
	TxID       string     `json:"txId,omitempty"`
	AnchoredAt *time.Time `json:"anchoredAt,omitempty"`
}
