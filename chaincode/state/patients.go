package state

import "github.com/medprov/medprov/chaincode/ledger"

// Patient returns a registered patient, or ledger.ErrNotFound.
func (s *Store) Patient(pseudonym string) (ledger.Patient, error) {
	k, err := s.key(objPatient, pseudonym)
	if err != nil {
		return ledger.Patient{}, err
	}
	var p ledger.Patient
	err = s.read(k, ledger.KindPatient, "patient "+pseudonym, &p)
	return p, err
}

// PatientExists reports whether a pseudonym is registered.
func (s *Store) PatientExists(pseudonym string) (bool, error) {
	k, err := s.key(objPatient, pseudonym)
	if err != nil {
		return false, err
	}
	return s.exists(k)
}

// PutPatient writes a patient.
func (s *Store) PutPatient(p ledger.Patient) error {
	p.Kind, p.SchemaVersion = ledger.KindPatient, ledger.SchemaVersion
	k, err := s.key(objPatient, p.Pseudonym)
	if err != nil {
		return err
	}
	return s.write(k, p)
}
