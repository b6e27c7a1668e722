package ledger

// CopyAccessScanLimit is how many access events of a source record
// AnchorRecord reads, in time order, to find the grant that entitles the
// caller's organisation to a copy. A record with more events before that
// grant cannot be copied: the check fails closed.
const CopyAccessScanLimit = 1000

// GrantsCopy reports whether access event ev entitles organisation
// requesterMSP to anchor a copy of the record version d names: ev must be
// about that record and version, requested by requesterMSP about a record
// held by another organisation (so not a LogAccess of the custodian's own
// staff), and decided GRANTED or EMERGENCY. The custodian named by d is
// checked against the source record by CheckCopy, not here.
func (ev AccessEvent) GrantsCopy(d DerivedFrom, requesterMSP string) bool {
	return ev.RecordID == d.RecordID && ev.Version == d.Version &&
		ev.Requester.MSPID == requesterMSP && ev.Custodian != requesterMSP &&
		(ev.Decision == DecisionGranted || ev.Decision == DecisionEmergency)
}

// CheckCopy checks the anchor request of a copy, made by a caller of
// organisation callerMSP, against src, the record version its DerivedFrom
// names. The copy must name a source version held by another organisation,
// by the custodian DerivedFrom states, and not erased; and it must carry
// the source's patient and document type and a confidentiality at least
// the source's (U < L < M < N < R < V), so that a copy is never easier to
// see than its source.
//
// It returns INVALID_ARGUMENT when req has no DerivedFrom, and otherwise
// FAILED_PRECONDITION naming the argument at fault (request.derivedFrom,
// request.derivedFrom.custodian, request.patient, request.docType,
// request.confidentiality). Messages never repeat the values of the request
// or of the source.
func CheckCopy(req AnchorRequest, src Record, callerMSP string) error {
	d := req.DerivedFrom
	switch {
	case d == nil:
		return InvalidArgument("request.derivedFrom", "want the record version the copy was made from")
	case src.RecordID != d.RecordID || src.Version != d.Version:
		return FailedPrecondition("request.derivedFrom: the source checked is not the record version named")
	case src.Custodian == callerMSP:
		return FailedPrecondition("request.derivedFrom: the source record is held by the caller's own organisation; a copy is of another custodian's record")
	case src.Custodian != d.Custodian:
		return FailedPrecondition("request.derivedFrom.custodian: want the custodian of the source record")
	case src.Status == StatusErased:
		return FailedPrecondition("request.derivedFrom: the source record is erased; it can no longer be copied")
	case req.Patient != src.Patient:
		return FailedPrecondition("request.patient: want the patient of the source record")
	case req.DocType != src.DocType:
		return FailedPrecondition("request.docType: want the document type of the source record")
	case !req.Confidentiality.Covers(src.Confidentiality):
		return FailedPrecondition("request.confidentiality: want at least the confidentiality of the source record")
	}
	return nil
}
