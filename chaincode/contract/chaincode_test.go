package contract

import "testing"

func TestNewBuildsTheChaincode(t *testing.T) {
	if _, err := New(); err != nil {
		t.Fatal(err)
	}
}
