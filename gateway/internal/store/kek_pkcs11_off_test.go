//go:build !pkcs11

package store

import (
	"errors"
	"strings"
	"testing"
)

func TestPKCS11KeyringUnsupported(t *testing.T) {
	k, err := OpenPKCS11Keyring("/usr/lib/softhsm/libsofthsm2.so", "token", "1234")
	if k != nil || !errors.Is(err, ErrPKCS11Unsupported) {
		t.Fatalf("OpenPKCS11Keyring = %v, %v; want ErrPKCS11Unsupported", k, err)
	}
	if !strings.Contains(err.Error(), "-tags pkcs11") {
		t.Fatalf("error %q does not say how to enable PKCS#11", err)
	}
}
