package walkthrough

// The shapes below are the parts of the CLI's -o json output that the
// steps read, as cli/README.md documents them.

type statusOut struct {
	MSPID         string `json:"mspId"`
	LedgerBackend string `json:"ledgerBackend"`
	BlockHeight   uint64 `json:"blockHeight"`
}

type keygenOut struct {
	Pseudonym      string `json:"pseudonym"`
	PrivateKeyFile string `json:"privateKeyFile"`
	PublicKeyFile  string `json:"publicKeyFile"`
}

type patientOut struct {
	Pseudonym    string `json:"pseudonym"`
	Sequence     uint64 `json:"sequence"`
	RegisteredBy string `json:"registeredBy"`
}

type addOut struct {
	RecordID      string `json:"recordId"`
	Version       uint32 `json:"version"`
	TxID          string `json:"txId"`
	BlockNumber   uint64 `json:"blockNumber"`
	ContentSHA256 string `json:"contentSha256"`
}

type signedConsentOut struct {
	Consent struct {
		ConsentID string `json:"consentId"`
		Sequence  uint64 `json:"sequence"`
	} `json:"consent"`
	Signature string `json:"signature"`
}

type consentOut struct {
	ConsentID  string `json:"consentId"`
	Status     string `json:"status"`
	Patient    string `json:"patient"`
	GrantTxID  string `json:"grantTxId"`
	RevokeTxID string `json:"revokeTxId"`
}

type derivedFromOut struct {
	Custodian string `json:"custodian"`
	RecordID  string `json:"recordId"`
	Version   uint32 `json:"version"`
}

type erasureOut struct {
	Reason string `json:"reason"`
	TxID   string `json:"txId"`
}

type evidenceOut struct {
	RecordID    string          `json:"recordId"`
	Version     uint32          `json:"version"`
	Patient     string          `json:"patient"`
	Custodian   string          `json:"custodian"`
	Commitment  string          `json:"commitment"`
	TxID        string          `json:"txId"`
	Status      string          `json:"status"`
	DerivedFrom *derivedFromOut `json:"derivedFrom"`
	Erasure     *erasureOut     `json:"erasure"`
}

type basisOut struct {
	Type              string `json:"type"`
	ConsentID         string `json:"consentId"`
	JustificationCode string `json:"justificationCode"`
}

type eventOut struct {
	TxID      string `json:"txId"`
	RecordID  string `json:"recordId"`
	Custodian string `json:"custodian"`
	Requester struct {
		MSPID string `json:"mspId"`
		Role  string `json:"role"`
	} `json:"requester"`
	Purpose      string    `json:"purpose"`
	Decision     string    `json:"decision"`
	Basis        *basisOut `json:"basis"`
	DenialReason string    `json:"denialReason"`
	Alerts       []string  `json:"alerts"`
}

type decisionOut struct {
	BlockNumber uint64   `json:"blockNumber"`
	Event       eventOut `json:"event"`
}

type fetchOut struct {
	Source   evidenceOut `json:"source"`
	Copy     evidenceOut `json:"copy"`
	Download *struct {
		File          string `json:"file"`
		ContentSHA256 string `json:"contentSha256"`
		AccessTxID    string `json:"accessTxId"`
	} `json:"download"`
}

type receiptOut struct {
	File       string `json:"file"`
	RecordID   string `json:"recordId"`
	Version    int    `json:"version"`
	Custodian  string `json:"custodian"`
	Commitment string `json:"commitment"`
}

type verifyOut struct {
	Match         bool   `json:"match"`
	ContentSHA256 string `json:"contentSha256"`
	Custodian     string `json:"custodian"`
	VerifyRecord  struct {
		RecordID   string `json:"recordId"`
		Version    string `json:"version"`
		Commitment string `json:"commitment"`
	} `json:"verifyRecord"`
}
