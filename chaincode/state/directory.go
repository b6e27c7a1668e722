package state

import "github.com/medprov/medprov/chaincode/ledger"

// OrgEndpoint returns an organisation's directory entry, or
// ledger.ErrNotFound.
func (s *Store) OrgEndpoint(mspID string) (ledger.OrgEndpoint, error) {
	k, err := s.key(objOrg, mspID)
	if err != nil {
		return ledger.OrgEndpoint{}, err
	}
	var e ledger.OrgEndpoint
	err = s.read(k, ledger.KindOrgEndpoint, "directory entry for "+mspID, &e)
	return e, err
}

// PutOrgEndpoint writes an organisation's directory entry.
func (s *Store) PutOrgEndpoint(e ledger.OrgEndpoint) error {
	e.Kind, e.SchemaVersion = ledger.KindOrgEndpoint, ledger.SchemaVersion
	k, err := s.key(objOrg, e.MSPID)
	if err != nil {
		return err
	}
	return s.write(k, e)
}
