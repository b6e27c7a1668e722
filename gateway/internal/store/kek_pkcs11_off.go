//go:build !pkcs11

package store

import (
	"context"
	"errors"
	"log/slog"
)

// ErrPKCS11Unsupported is returned by OpenPKCS11Keyring in binaries built
// without the pkcs11 build tag.
var ErrPKCS11Unsupported = errors.New("built without PKCS#11 support: build with -tags pkcs11")

// PKCS11Keyring is a keyring whose KEKs live on a PKCS#11 token. This binary
// was built without the pkcs11 tag, so no value of it can be opened.
type PKCS11Keyring struct{}

// OpenPKCS11Keyring always fails with ErrPKCS11Unsupported in this build.
func OpenPKCS11Keyring(module, tokenLabel, pin string, opts ...PKCS11Option) (*PKCS11Keyring, error) {
	return nil, ErrPKCS11Unsupported
}

// Active fails with ErrPKCS11Unsupported.
func (k *PKCS11Keyring) Active(ctx context.Context) (KEK, error) { return nil, ErrPKCS11Unsupported }

// Lookup fails with ErrPKCS11Unsupported.
func (k *PKCS11Keyring) Lookup(ctx context.Context, id string) (KEK, error) {
	return nil, ErrPKCS11Unsupported
}

// Generate fails with ErrPKCS11Unsupported.
func (k *PKCS11Keyring) Generate(ctx context.Context) (string, error) {
	return "", ErrPKCS11Unsupported
}

// SetActive fails with ErrPKCS11Unsupported.
func (k *PKCS11Keyring) SetActive(ctx context.Context, id string) error {
	return ErrPKCS11Unsupported
}

// Delete fails with ErrPKCS11Unsupported.
func (k *PKCS11Keyring) Delete(ctx context.Context, id string) error {
	return ErrPKCS11Unsupported
}

// Close does nothing.
func (k *PKCS11Keyring) Close() error { return nil }

// LogValue describes the keyring.
func (k *PKCS11Keyring) LogValue() slog.Value { return slog.StringValue("pkcs11 (unsupported)") }
