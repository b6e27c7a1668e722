package ledger

import "testing"

func TestMarshalBinaryRefusesUnknownBackends(t *testing.T) {
	tx := &Transaction{id: "tx-1", name: "F"}
	if _, err := tx.MarshalBinary(); err == nil {
		t.Fatal("MarshalBinary of a transaction without backend state succeeded")
	}
}
