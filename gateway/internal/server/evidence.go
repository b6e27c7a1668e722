package server

import (
	"context"
	"fmt"
	"strconv"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/server/convert"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/gateway/internal/wallet"
	"github.com/medprov/medprov/internal/receipt"
)

// readRecordVersion evaluates GetRecordVersion (or GetRecord for version 0,
// the latest) as identity id and decodes the record's evidence. The
// chaincode's errors (NOT_FOUND for missing, another organisation's or
// hidden) come back wrapped; an answer about another record or version is
// an internal error.
func (s *Server) readRecordVersion(ctx context.Context, id *wallet.Identity, recordID string, version int) (domain.Record, error) {
	var payload []byte
	var err error
	if version == 0 {
		payload, err = s.d.Ledger.Evaluate(ctx, id.Ledger(), domain.TxGetRecord, recordID)
	} else {
		payload, err = s.d.Ledger.Evaluate(ctx, id.Ledger(), domain.TxGetRecordVersion, recordID, strconv.Itoa(version))
	}
	if err != nil {
		return domain.Record{}, fmt.Errorf("read record %s: %w", recordID, err)
	}
	rec, err := decodeDocument[domain.Record](payload, domain.KindRecord)
	if err != nil {
		return domain.Record{}, fmt.Errorf("decode record %s: %w", recordID, err)
	}
	if rec.RecordID != recordID || (version != 0 && rec.Version != version) {
		return domain.Record{}, fmt.Errorf("read record %s: the ledger answered about another version", recordID)
	}
	return rec, nil
}

// anchoredEvidence reads a version just anchored (by AddRecord, AmendRecord
// or FetchRecord's copy) back from the ledger, as the caller, so that the
// evidence in the answer is the ledger's, and builds its receipt. The
// version is stored and anchored by then; if the read fails, the error says
// so, and GetReceipt gives the receipt later.
func (s *Server) anchoredEvidence(ctx context.Context, id *wallet.Identity, a anchor.Anchored) (*gatewayv1.RecordEvidence, *gatewayv1.Receipt, error) {
	rec, err := s.readRecordVersion(ctx, id, a.RecordID, a.Version)
	if err != nil {
		return nil, nil, fmt.Errorf("record %s version %d is stored and anchored in transaction %s, but reading its evidence back failed (GetReceipt gives it later): %w", a.RecordID, a.Version, a.TxID, err)
	}
	if rec.TxID != a.TxID || rec.Commitment != a.Commitment {
		return nil, nil, fmt.Errorf("record %s version %d: the ledger's evidence names transaction %s, the anchorer %s", a.RecordID, a.Version, rec.TxID, a.TxID)
	}
	rc, err := ledgerReceipt(rec, a.Salt, a.Block)
	if err != nil {
		return nil, nil, err
	}
	return convert.RecordEvidence(rec), rc, nil
}

// storedReceipt builds the receipt of the version whose ledger evidence is
// rec and whose store entry is e. An erased entry is store.ErrErased, a
// pending one anchor.ErrPending (FAILED_PRECONDITION, retry later); an
// entry whose commitment or transaction disagrees with the ledger's is an
// internal error (the store's numbering no longer matches the ledger's),
// never a receipt.
func storedReceipt(rec domain.Record, e store.Entry) (*gatewayv1.Receipt, error) {
	switch e.State {
	case store.StateErased:
		return nil, fmt.Errorf("receipt of record %s version %d: %w", e.RecordID, e.Version, store.ErrErased)
	case store.StatePending:
		return nil, fmt.Errorf("receipt of record %s version %d: %w", e.RecordID, e.Version, anchor.ErrPending)
	}
	if e.Commitment != rec.Commitment || e.TxID != rec.TxID {
		return nil, fmt.Errorf("record %s version %d: the store's entry disagrees with the ledger's evidence", e.RecordID, e.Version)
	}
	return ledgerReceipt(rec, e.Salt, e.Block)
}

// ledgerReceipt is the receipt of the version whose ledger evidence is rec,
// with the salt and block number that only the custodian knows. A receipt
// that does not validate is an internal error.
func ledgerReceipt(rec domain.Record, salt []byte, block uint64) (*gatewayv1.Receipt, error) {
	rc := receipt.Receipt{
		RecordID: rec.RecordID, Version: rec.Version, Custodian: rec.Custodian, Salt: salt,
		Commitment: rec.Commitment, TxID: rec.TxID, BlockNumber: block, AnchoredAt: rec.AnchoredAt,
	}
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("receipt of record %s version %d: %w", rec.RecordID, rec.Version, err)
	}
	return convert.Receipt(rc), nil
}
