package store

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// State is the anchoring state of a record version.
type State string

// The states of a record version.
const (
	// StatePending: stored locally, not yet confirmed on the ledger.
	StatePending State = "pending"
	// StateAnchored: the commitment is in a committed ledger transaction.
	StateAnchored State = "anchored"
	// StateErased: crypto-shredded; only a tombstone remains.
	StateErased State = "erased"
)

// Entry describes one stored record version. Salt is secret: whoever holds
// it and the content can link the content to the on-chain commitment, so
// Entry redacts it when logged or formatted.
type Entry struct {
	RecordID string
	Version  int
	State    State
	// KEKID names the key-encryption key the data key is wrapped under.
	// Empty once erased.
	KEKID string
	// Salt is the commitment salt (ledger.SaltSize bytes). Nil once erased.
	Salt []byte
	// Commitment is ledger.Commitment(Salt, SHA-256(content)), in hex.
	Commitment string
	// CiphertextSHA256 is the SHA-256 of the whole blob file, for integrity
	// checks that need no key (Store.Check). Zero once erased.
	CiphertextSHA256 [32]byte
	// Size is the plaintext size in bytes. Zero once erased.
	Size int64
	// Prepared is the anchoring transaction prepared for a pending
	// version, as the caller encoded it for SetPrepared (opaque to the
	// store), so that after a crash the same transaction can be looked up
	// and committed again. Nil until SetPrepared, and once anchored.
	Prepared []byte
	// TxID and Block identify the ledger transaction that anchored the
	// version; empty and zero while pending.
	TxID  string
	Block uint64
	// Created is when Put stored the version; Anchored and Erased are when
	// MarkAnchored and Erase ran (zero if they have not).
	Created  time.Time
	Anchored time.Time
	Erased   time.Time
}

// LogValue renders the entry for slog with the salt redacted.
func (e Entry) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("recordID", e.RecordID),
		slog.Int("version", e.Version),
		slog.String("state", string(e.State)),
		slog.String("commitment", e.Commitment),
	}
	if e.Salt != nil {
		attrs = append(attrs, slog.String("salt", "REDACTED"))
	}
	if e.KEKID != "" {
		attrs = append(attrs, slog.String("kek", e.KEKID))
	}
	if e.TxID != "" {
		attrs = append(attrs, slog.String("txID", e.TxID), slog.Uint64("block", e.Block))
	}
	if e.Prepared != nil {
		attrs = append(attrs, slog.Bool("prepared", true))
	}
	return slog.GroupValue(attrs...)
}

// String renders the entry with the salt redacted, so that %v and %+v are
// safe to log.
func (e Entry) String() string {
	return fmt.Sprintf("Entry{record %q version %d %s commitment %s salt REDACTED}", e.RecordID, e.Version, e.State, e.Commitment)
}

// GoString is String, so that %#v is safe to log too.
func (e Entry) GoString() string { return e.String() }

// indexEntry is an Entry as stored in the bbolt index (JSON). It is the only
// place the wrapped data key lives.
type indexEntry struct {
	Schema           int       `json:"schema"`
	RecordID         string    `json:"recordId"`
	Version          int       `json:"version"`
	State            State     `json:"state"`
	Blob             string    `json:"blob,omitempty"`
	KEKID            string    `json:"kekId,omitempty"`
	WrappedDEK       []byte    `json:"wrappedDek,omitempty"`
	Salt             []byte    `json:"salt,omitempty"`
	Commitment       string    `json:"commitment"`
	CiphertextSHA256 string    `json:"ciphertextSha256,omitempty"`
	Size             int64     `json:"size"`
	Prepared         []byte    `json:"prepared,omitempty"`
	TxID             string    `json:"txId,omitempty"`
	Block            uint64    `json:"block,omitempty"`
	Created          time.Time `json:"created"`
	Anchored         time.Time `json:"anchored,omitzero"`
	Erased           time.Time `json:"erased,omitzero"`
}

const indexSchema = 1

func (ie *indexEntry) entry() Entry {
	e := Entry{
		RecordID: ie.RecordID, Version: ie.Version, State: ie.State, KEKID: ie.KEKID,
		Salt: append([]byte(nil), ie.Salt...), Commitment: ie.Commitment, Size: ie.Size,
		TxID: ie.TxID, Block: ie.Block, Created: ie.Created, Anchored: ie.Anchored, Erased: ie.Erased,
	}
	if ie.Salt == nil {
		e.Salt = nil
	}
	if ie.Prepared != nil {
		e.Prepared = append([]byte(nil), ie.Prepared...)
	}
	if ie.CiphertextSHA256 != "" {
		_, _ = hex.Decode(e.CiphertextSHA256[:], []byte(ie.CiphertextSHA256))
	}
	return e
}

// LogValue redacts the wrapped key and the salt.
func (ie *indexEntry) LogValue() slog.Value { return ie.entry().LogValue() }

// dataKey is a plaintext DEK in memory.
type dataKey []byte

// LogValue redacts the key.
func (dataKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String redacts the key.
func (dataKey) String() string { return "REDACTED" }
