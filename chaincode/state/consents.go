package state

import "github.com/medprov/medprov/chaincode/ledger"

// Consent returns a consent, or ledger.ErrNotFound.
func (s *Store) Consent(consentID string) (ledger.Consent, error) {
	k, err := s.key(objConsent, consentID)
	if err != nil {
		return ledger.Consent{}, err
	}
	var c ledger.Consent
	err = s.read(k, ledger.KindConsent, "consent "+consentID, &c)
	return c, err
}

// ConsentExists reports whether a consent ID is taken.
func (s *Store) ConsentExists(consentID string) (bool, error) {
	k, err := s.key(objConsent, consentID)
	if err != nil {
		return false, err
	}
	return s.exists(k)
}

// PutConsent writes a consent; with isNew it also adds the index entries.
func (s *Store) PutConsent(c ledger.Consent, isNew bool) error {
	c.Kind, c.SchemaVersion = ledger.KindConsent, ledger.SchemaVersion
	k, err := s.key(objConsent, c.ConsentID)
	if err != nil {
		return err
	}
	if err := s.write(k, c); err != nil {
		return err
	}
	if !isNew {
		return nil
	}
	if err := s.mark(objConsentByPatient, c.Patient, c.ConsentID); err != nil {
		return err
	}
	return s.mark(objConsentByGrantee, c.Grantee.MSPID, c.Patient, c.ConsentID)
}

// ConsentsFor returns every consent a patient granted to an organisation,
// ordered by consent ID. It reads without pagination, so it may run in a
// transaction that writes.
func (s *Store) ConsentsFor(granteeMSP, patient string) ([]ledger.Consent, error) {
	keys, err := s.all(objConsentByGrantee, []string{granteeMSP, patient})
	if err != nil {
		return nil, err
	}
	out := make([]ledger.Consent, 0, len(keys))
	for _, a := range keys {
		c, err := s.Consent(a[2])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ConsentsByPatient returns one page of a patient's consents that keep
// accepts.
func (s *Store) ConsentsByPatient(patient string, size int32, bookmark string, keep func(ledger.Consent) bool) ([]ledger.Consent, string, error) {
	return s.consentPage(objConsentByPatient, []string{patient}, "consents-by-patient", size, bookmark, keep)
}

// ConsentsByGrantee returns one page of the consents granted to an
// organisation.
func (s *Store) ConsentsByGrantee(granteeMSP string, size int32, bookmark string, keep func(ledger.Consent) bool) ([]ledger.Consent, string, error) {
	return s.consentPage(objConsentByGrantee, []string{granteeMSP}, "consents-by-grantee", size, bookmark, keep)
}

func (s *Store) consentPage(obj string, prefix []string, tag string, size int32, bookmark string, keep func(ledger.Consent) bool) ([]ledger.Consent, string, error) {
	inner, err := decodeBookmark("bookmark", tag, bookmark)
	if err != nil {
		return nil, "", err
	}
	var out []ledger.Consent
	_, next, err := s.visiblePage("bookmark", obj, prefix, size, inner, func(a []string) (bool, error) {
		c, err := s.Consent(a[len(a)-1])
		if err != nil || !keep(c) {
			return false, err
		}
		out = append(out, c)
		return true, nil
	})
	return out, encodeBookmark(tag, next), err
}
