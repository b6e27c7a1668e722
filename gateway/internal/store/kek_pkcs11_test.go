//go:build pkcs11

package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
)

const (
	testTokenLabel = "medprov-test"
	testUserPIN    = "1234"
	testSOPIN      = "5678"
)

// newSoftHSMToken creates a fresh SoftHSM2 token in a temporary directory
// and returns the module path. It skips the test unless
// MEDPROV_SOFTHSM_MODULE names libsofthsm2.so. SOFTHSM2_CONF is set for the
// test, so tests using it must not run in parallel.
func newSoftHSMToken(t *testing.T) string {
	t.Helper()
	module := os.Getenv("MEDPROV_SOFTHSM_MODULE")
	if module == "" {
		t.Skip("PKCS#11 tests need SoftHSM2: set MEDPROV_SOFTHSM_MODULE to libsofthsm2.so (or run make test-pkcs11)")
	}
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("MEDPROV_SOFTHSM_MODULE: %v", err)
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		t.Fatalf("softhsm2-util not found: %v", err)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", testTokenLabel, "--pin", testUserPIN, "--so-pin", testSOPIN).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return module
}

func openTestPKCS11(t *testing.T, module string) *PKCS11Keyring {
	t.Helper()
	k, err := OpenPKCS11Keyring(module, testTokenLabel, testUserPIN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return k
}

func TestPKCS11WrapUnwrap(t *testing.T) {
	module := newSoftHSMToken(t)
	ctx := context.Background()
	k := openTestPKCS11(t, module)
	a, err := k.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dek := make([]byte, 32)
	rand.Read(dek)
	w1, err := a.Wrap(ctx, dek)
	if err != nil {
		t.Fatal(err)
	}
	if len(w1) != 1+wrapNonceSize+32+tagSize || w1[0] != wrapFormat {
		t.Fatalf("wrapped key: %d bytes, format %d", len(w1), w1[0])
	}
	if bytes.Contains(w1, dek) {
		t.Fatal("wrapped key contains the DEK")
	}
	w2, _ := a.Wrap(ctx, dek)
	if bytes.Equal(w1, w2) {
		t.Fatal("two wraps of one DEK are equal (IV reuse)")
	}
	got, err := a.Unwrap(ctx, w1)
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}

	// Tampering with any byte fails with ErrCorrupt.
	for i := range w1 {
		bad := bytes.Clone(w1)
		bad[i] ^= 0x01
		if _, err := a.Unwrap(ctx, bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Unwrap with byte %d flipped: %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := a.Unwrap(ctx, w1[:len(w1)-1]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Unwrap truncated: %v, want ErrCorrupt", err)
	}
	// The session still works after failed decryptions.
	if got, err := a.Unwrap(ctx, w1); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("Unwrap after failures = %x, %v", got, err)
	}

	// Another key cannot unwrap it.
	id2, err := k.Generate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Lookup(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unwrap(ctx, w1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Unwrap under another key: %v, want ErrCorrupt", err)
	}
	if act, _ := k.Active(ctx); act.ID() != id2 {
		t.Fatalf("active = %s after Generate, want %s", act.ID(), id2)
	}
	if _, err := k.Lookup(ctx, "p11-0000000000000000"); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("Lookup unknown: %v, want ErrKeyUnavailable", err)
	}

	// Concurrent use.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				w, err := b.Wrap(ctx, dek)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := b.Unwrap(ctx, w); err != nil || !bytes.Equal(got, dek) {
					t.Errorf("concurrent Unwrap = %x, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPKCS11KeyNotExtractable(t *testing.T) {
	module := newSoftHSMToken(t)
	ctx := context.Background()
	k := openTestPKCS11(t, module)
	a, err := k.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := a.(*pkcs11KEK).handle
	k.mu.Lock()
	defer k.mu.Unlock()
	attrs, err := k.mod.ctx.GetAttributeValue(k.session, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if pkcs11Bool(attrs[0].Value) || !pkcs11Bool(attrs[1].Value) || !pkcs11Bool(attrs[2].Value) || !pkcs11Bool(attrs[3].Value) {
		t.Fatalf("extractable=%x sensitive=%x never-extractable=%x token=%x", attrs[0].Value, attrs[1].Value, attrs[2].Value, attrs[3].Value)
	}
	v, err := k.mod.ctx.GetAttributeValue(k.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if err == nil {
		t.Fatalf("CKA_VALUE readable: %d bytes", len(v[0].Value))
	}
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE)) {
		t.Logf("CKA_VALUE: %v (want CKR_ATTRIBUTE_SENSITIVE)", err)
	}
}

func TestPKCS11ReopenKeepsActive(t *testing.T) {
	module := newSoftHSMToken(t)
	ctx := context.Background()
	k1 := openTestPKCS11(t, module)
	id, err := k1.Generate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := k1.Active(ctx)
	w, err := a.Wrap(ctx, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := k1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Wrap(ctx, make([]byte, 32)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wrap after Close: %v, want ErrClosed", err)
	}
	k2 := openTestPKCS11(t, module)
	a2, err := k2.Active(ctx)
	if err != nil || a2.ID() != id {
		t.Fatalf("active after reopen = %v, %v; want %s", a2, err, id)
	}
	if _, err := a2.Unwrap(ctx, w); err != nil {
		t.Fatal(err)
	}
	// A wrong PIN fails, also while another keyring is logged in to the
	// token (when C_Login itself would not check it).
	if k, err := OpenPKCS11Keyring(module, testTokenLabel, "0000"); err == nil {
		k.Close()
		t.Fatal("open with a wrong PIN succeeded")
	}
	if k, err := OpenPKCS11Keyring(module, "no-such-token", testUserPIN); err == nil {
		k.Close()
		t.Fatal("open of a missing token succeeded")
	}
	if err := k2.Close(); err != nil {
		t.Fatal(err)
	}
	if k, err := OpenPKCS11Keyring(module, testTokenLabel, "0000"); err == nil {
		k.Close()
		t.Fatal("open with a wrong PIN succeeded")
	}
}

func TestPKCS11StoreRewrap(t *testing.T) {
	module := newSoftHSMToken(t)
	ctx := context.Background()
	k := openTestPKCS11(t, module)
	s, err := Open(filepath.Join(t.TempDir(), "store"), k)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, _ := k.Active(ctx)
	data := content("pkcs11", 200_000)
	e := put(t, s, "rec-1", 1, data)
	if e.KEKID != first.ID() {
		t.Fatalf("entry KEK = %s, want %s", e.KEKID, first.ID())
	}
	if got := readAll(t, s, "rec-1", 1); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	second, err := k.Generate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.RewrapAll(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RewrapAll = %d, %v; want 1", n, err)
	}
	if e, err := s.Get("rec-1", 1); err != nil || e.KEKID != second {
		t.Fatalf("after RewrapAll: KEK %q, %v; want %s", e.KEKID, err, second)
	}
	if err := k.Delete(ctx, second); err == nil {
		t.Fatal("Delete of the active key succeeded")
	}
	if err := k.Delete(ctx, first.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Lookup(ctx, first.ID()); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("Lookup deleted key: %v", err)
	}
	if got := readAll(t, s, "rec-1", 1); !bytes.Equal(got, data) {
		t.Fatal("content differs after rotation")
	}
}
