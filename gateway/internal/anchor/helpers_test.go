package anchor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	domain "github.com/medprov/medprov/chaincode/ledger"

	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/internal/devnet"
)

// env is a development consortium, a store and an anchorer in one
// directory.
type env struct {
	dir     string
	net     *devnet.Network
	ledger  ledger.Ledger
	store   *store.Store
	a       *Anchorer
	id      ledger.Identity // a clinician of hospital A, clearance N
	patient string          // a registered patient's pseudonym
}

// openEnv opens (or creates) the consortium, the keyring and the store in
// dir. The patient is registered on first use and remembered in dir.
func openEnv(t testing.TB, dir string) *env {
	t.Helper()
	n, err := devnet.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, net: n, ledger: ledger.NewEmbedded(n.Ledger)}
	c, err := n.User(devnet.HospitalA, "clinician", string(domain.RoleClinician), string(domain.ConfNormal))
	if err != nil {
		t.Fatal(err)
	}
	e.id = ledger.Identity{MSPID: c.MSPID(), CertPEM: c.Identity.CertPEM, Signer: c.Identity.Key}
	keys, err := store.NewFileKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = store.Open(filepath.Join(dir, "store"), keys); err != nil {
		t.Fatal(err)
	}
	if e.a, err = New(e.store, e.ledger, nil); err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(dir, "patient")
	if b, err := os.ReadFile(pf); err == nil {
		e.patient = string(b)
	} else {
		p, err := devnet.NewPatient()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ledger.Submit(context.Background(), e.id, domain.TxRegisterPatient, p.PublicKey); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pf, []byte(p.Pseudonym), 0o600); err != nil {
			t.Fatal(err)
		}
		e.patient = p.Pseudonym
	}
	return e
}

func (e *env) close() {
	_ = e.store.Close()
	_ = e.ledger.Close()
}

// newEnv opens an env in a fresh directory, closed when the test ends.
func newEnv(t testing.TB) *env {
	e := openEnv(t, t.TempDir())
	t.Cleanup(e.close)
	return e
}

// request is an AddRequest for recordID of the env's patient.
func (e *env) request(recordID string) AddRequest {
	return AddRequest{RecordID: recordID, Patient: e.patient, DocType: "11506-3", Confidentiality: domain.ConfNormal}
}

// contentOf is the content of a test record, derived from its ID.
func contentOf(recordID string) []byte {
	return bytes.Repeat([]byte("content of "+recordID+"\n"), 1+len(recordID)%7)
}

// commitmentOf is the commitment the ledger must hold for content.
func commitmentOf(salt, content []byte) string {
	return domain.Commitment(salt, sha256.Sum256(content))
}

// verification is VerifyRecord's answer.
type verification struct {
	Match bool   `json:"match"`
	TxID  string `json:"txId"`
}

// verify runs VerifyRecord for version 1 of recordID with commitment.
func (e *env) verify(t testing.TB, recordID, commitment string) verification {
	t.Helper()
	out, err := e.ledger.Evaluate(context.Background(), e.id, domain.TxVerifyRecord, recordID, "1", commitment)
	if err != nil {
		t.Fatalf("VerifyRecord %s: %v", recordID, err)
	}
	var v verification
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// onLedger reports whether the ledger holds recordID.
func (e *env) onLedger(t testing.TB, recordID string) bool {
	t.Helper()
	_, err := e.ledger.Evaluate(context.Background(), e.id, domain.TxGetRecord, recordID)
	if errors.Is(err, domain.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("GetRecord %s: %v", recordID, err)
	}
	return true
}

// ledgerRecords lists the record IDs and commitments of the env's patient
// on the ledger.
func (e *env) ledgerRecords(t testing.TB) map[string]domain.Record {
	t.Helper()
	out := map[string]domain.Record{}
	bookmark := ""
	for {
		raw, err := e.ledger.Evaluate(context.Background(), e.id, domain.TxListPatientRecords, e.patient, "1000", bookmark)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Items    []domain.Record `json:"items"`
			Bookmark string          `json:"bookmark"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			if _, dup := out[r.RecordID]; dup {
				t.Errorf("record %s listed twice", r.RecordID)
			}
			out[r.RecordID] = r
		}
		if page.Bookmark == "" {
			return out
		}
		bookmark = page.Bookmark
	}
}

// readContent decrypts version 1 of recordID.
func (e *env) readContent(t testing.TB, recordID string) []byte {
	t.Helper()
	r, _, err := e.store.Open(context.Background(), recordID, 1)
	if err != nil {
		t.Fatalf("open %s: %v", recordID, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", recordID, err)
	}
	return b
}

// storedIDs returns, for every blob file, its record ID and version; it
// fails the test on a temporary or unparseable file.
func (e *env) storedIDs(t testing.TB) map[string][]int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.dir, "store", "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	for _, de := range ents {
		name := de.Name()
		h, v, ok := strings.Cut(name, ".")
		var id []byte
		var version int
		if ok {
			_, err1 := fmt.Sscanf(h, "%x", &id)
			_, err2 := fmt.Sscanf(v, "%d", &version)
			ok = err1 == nil && err2 == nil && fmt.Sprintf("%x.%d", id, version) == name
		}
		if !ok {
			t.Errorf("unexpected file in the blob directory: %s", name)
			continue
		}
		out[string(id)] = append(out[string(id)], version)
	}
	return out
}
