package anchor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
)

// ErrPending reports an amendment refused because a version of the record
// is still pending in the store (being anchored, or left for the
// reconciler); nothing was stored.
var ErrPending = errors.New("anchor: a version of the record is still pending")

// AmendRequest describes a new version of a stored, anchored record.
// DocType and Confidentiality are optional: empty keeps the previous
// version's values on the ledger.
type AmendRequest struct {
	RecordID        string
	Reason          domain.AmendmentReason
	DocType         string
	Confidentiality domain.Confidentiality
}

// Amend stores the content read from content as the next version of
// req.RecordID (the highest version in the store + 1) and anchors its
// salted commitment on the ledger with AmendRecord, submitted as id; the
// previous version becomes superseded on the ledger. It goes through the
// same crash-safe steps as Add (pending entry, persisted transaction,
// commit, mark anchored), and Reconcile finishes or rolls back an
// interrupted amendment like an interrupted add.
//
// Errors:
//   - ErrInvalid for a request the chaincode would refuse; nothing is
//     stored.
//   - ErrBusy if the record is being anchored or reconciled already.
//   - store.ErrNotFound if the store holds no version of the record,
//     store.ErrErased if it was erased, ErrPending if a version is still
//     pending; nothing is stored.
//   - Otherwise as Add: the store's errors from Put, the chaincode's
//     errors (NOT_FOUND for a record of another organisation or hidden,
//     FAILED_PRECONDITION if erased on the ledger, PERMISSION_DENIED, ...)
//     and ledger.ErrConflict after the allowed attempts discard the new
//     version; an unknown outcome leaves it pending for Reconcile.
func (a *Anchorer) Amend(ctx context.Context, id ledger.Identity, req AmendRequest, content io.Reader) (Anchored, error) {
	label := fmt.Sprintf("amend record %q", req.RecordID)
	ar := domain.AmendRequest{
		RecordID: req.RecordID, Reason: req.Reason, DocType: req.DocType,
		Confidentiality: req.Confidentiality,
		Commitment:      strings.Repeat("0", 64), // checked now, replaced after Put
	}
	if err := ar.Validate(); err != nil {
		return Anchored{}, fmt.Errorf("%s: %w: %v", label, ErrInvalid, err)
	}
	release, ok := a.claim(req.RecordID)
	if !ok {
		return Anchored{}, fmt.Errorf("%s: %w", label, ErrBusy)
	}
	defer release()

	next, err := a.nextVersion(req.RecordID)
	if err != nil {
		return Anchored{}, fmt.Errorf("%s: %w", label, err)
	}
	label = fmt.Sprintf("amend record %q to version %d", req.RecordID, next)
	e, err := a.store.Put(ctx, req.RecordID, next, content)
	if err != nil {
		return Anchored{}, fmt.Errorf("%s: %w", label, err)
	}
	if a.crashed("put") {
		return Anchored{}, errCrashed
	}
	ar.Commitment = e.Commitment
	return a.anchorEntry(ctx, id, label, e, domain.TxAmendRecord, ar)
}

// nextVersion returns the version an amendment of recordID stores: the
// highest stored version + 1, provided every stored version is anchored.
// Versions are stored contiguously from 1 (Add stores 1, Amend the next,
// and only the highest can be pending and discarded), so it probes 1, 2,
// ... until one is missing. The caller holds the record's claim.
func (a *Anchorer) nextVersion(recordID string) (int, error) {
	v := firstVersion
	for ; v <= store.MaxVersion; v++ {
		e, err := a.store.Get(recordID, v)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return 0, err
		}
		switch e.State {
		case store.StateAnchored:
		case store.StatePending:
			return 0, fmt.Errorf("%w: version %d", ErrPending, v)
		case store.StateErased:
			return 0, fmt.Errorf("version %d: %w", v, store.ErrErased)
		default:
			return 0, fmt.Errorf("version %d in unexpected state %q", v, e.State)
		}
	}
	if v == firstVersion {
		return 0, fmt.Errorf("no version stored: %w", store.ErrNotFound)
	}
	return v, nil
}
