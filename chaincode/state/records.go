package state

import (
	"strconv"

	"github.com/medprov/medprov/chaincode/ledger"
)

// recordHead points at a record's latest version.
type recordHead struct {
	document
	Latest int `json:"latest"`
}

const kindRecordHead = "recordHead"

// LatestVersion returns the latest version number of a record, or
// ledger.ErrNotFound.
func (s *Store) LatestVersion(recordID string) (int, error) {
	k, err := s.key(objRecordHead, recordID)
	if err != nil {
		return 0, err
	}
	var h recordHead
	if err := s.read(k, kindRecordHead, "record "+recordID, &h); err != nil {
		return 0, err
	}
	return h.Latest, nil
}

// Record returns one version of a record, or ledger.ErrNotFound.
func (s *Store) Record(recordID string, version int) (ledger.Record, error) {
	k, err := s.key(objRecord, recordID, versionAttr(version))
	if err != nil {
		return ledger.Record{}, err
	}
	var r ledger.Record
	err = s.read(k, ledger.KindRecord, "record "+recordID+" version "+strconv.Itoa(version), &r)
	return r, err
}

// LatestRecord returns the latest version of a record.
func (s *Store) LatestRecord(recordID string) (ledger.Record, error) {
	v, err := s.LatestVersion(recordID)
	if err != nil {
		return ledger.Record{}, err
	}
	return s.Record(recordID, v)
}

// RecordExists reports whether any version of recordID exists.
func (s *Store) RecordExists(recordID string) (bool, error) {
	k, err := s.key(objRecordHead, recordID)
	if err != nil {
		return false, err
	}
	return s.exists(k)
}

// PutRecord writes one version of a record. With latest set it also moves
// the head to it and, for version 1, adds the patient index entry.
func (s *Store) PutRecord(r ledger.Record, latest bool) error {
	r.Kind, r.SchemaVersion = ledger.KindRecord, ledger.SchemaVersion
	k, err := s.key(objRecord, r.RecordID, versionAttr(r.Version))
	if err != nil {
		return err
	}
	if err := s.write(k, r); err != nil {
		return err
	}
	if !latest {
		return nil
	}
	hk, err := s.key(objRecordHead, r.RecordID)
	if err != nil {
		return err
	}
	h := recordHead{document: document{Kind: kindRecordHead, SchemaVersion: ledger.SchemaVersion}, Latest: r.Version}
	if err := s.write(hk, h); err != nil {
		return err
	}
	if r.Version == 1 {
		return s.mark(objPatientRecord, r.Custodian, r.Patient, r.RecordID)
	}
	return nil
}

// RecordVersions returns one page of the versions of a record that keep
// accepts, oldest first.
func (s *Store) RecordVersions(recordID string, size int32, bookmark string, keep func(ledger.Record) bool) ([]ledger.Record, string, error) {
	inner, err := decodeBookmark("bookmark", "versions", bookmark)
	if err != nil {
		return nil, "", err
	}
	var out []ledger.Record
	_, next, err := s.visiblePage("bookmark", objRecord, []string{recordID}, size, inner, func(a []string) (bool, error) {
		v, err := strconv.Atoi(a[1])
		if err != nil {
			return false, ledger.Internal("record key", err)
		}
		r, err := s.Record(recordID, v)
		if err != nil || !keep(r) {
			return false, err
		}
		out = append(out, r)
		return true, nil
	})
	return out, encodeBookmark("versions", next), err
}

// PatientRecords returns one page of the latest versions of a patient's
// records held by custodian that keep accepts, by record ID.
func (s *Store) PatientRecords(custodian, patient string, size int32, bookmark string, keep func(ledger.Record) bool) ([]ledger.Record, string, error) {
	inner, err := decodeBookmark("bookmark", "patient-records", bookmark)
	if err != nil {
		return nil, "", err
	}
	var out []ledger.Record
	_, next, err := s.visiblePage("bookmark", objPatientRecord, []string{custodian, patient}, size, inner, func(a []string) (bool, error) {
		r, err := s.LatestRecord(a[2])
		if err != nil || !keep(r) {
			return false, err
		}
		out = append(out, r)
		return true, nil
	})
	return out, encodeBookmark("patient-records", next), err
}
