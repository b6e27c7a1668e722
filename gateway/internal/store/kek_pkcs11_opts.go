package store

// PKCS11Option configures OpenPKCS11Keyring.
type PKCS11Option func(*pkcs11Config)

type pkcs11Config struct {
	namespace string
}

func defaultPKCS11Config() pkcs11Config {
	return pkcs11Config{namespace: "medprov-store"}
}

// WithPKCS11Namespace sets the CKA_APPLICATION of the token data object that
// records the active key (default "medprov-store"), so that several
// keyrings can share one token. Key labels are unique on the token anyway.
func WithPKCS11Namespace(ns string) PKCS11Option {
	return func(c *pkcs11Config) {
		if ns != "" {
			c.namespace = ns
		}
	}
}
