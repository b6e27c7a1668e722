package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	mspIDPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	hostnamePattern  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9_-]{0,62}))*\.?$`)
	channelPattern   = regexp.MustCompile(`^[a-z][a-z0-9.-]{0,248}$`)
	chaincodePattern = regexp.MustCompile(`^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$`)
	envNamePattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	// identityNamePattern matches wallet identity names (as internal/devca names identities).
	identityNamePattern = regexp.MustCompile(`^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}$`)
)

// Enumerations accepted by Validate.
var (
	Backends     = []string{BackendEmbedded, BackendFabric}
	KeyringTypes = []string{KeyringFile, KeyringPKCS11}
	LogLevels    = []string{"debug", "info", "warn", "error"}
	LogFormats   = []string{"json", "text"}
)

// maxTokenLabel is the length of a PKCS#11 token label (CK_TOKEN_INFO.label).
const maxTokenLabel = 32

// Validate reports every problem with c as a *KeyError naming the key and
// what is expected, joined with errors.Join in the order of Leaves; nil
// means c is usable. Settings of the ledger backend and keyring type that are
// not selected are not checked. Validate is a pure function of c and the
// working directory (against which it makes relative directory names
// absolute to compare them): it does not look at the file system (see
// CheckFiles) or the environment, and its messages never contain the values
// they reject.
func (c Config) Validate() error {
	var v validator

	v.required("org.mspId", c.Org.MSPID, "the organisation's Fabric MSP ID, e.g. HospitalAMSP")
	if c.Org.MSPID != "" && !mspIDPattern.MatchString(c.Org.MSPID) {
		v.add("org.mspId", "must be letters, digits, '.', '_' or '-', starting with a letter or digit, at most 128 characters")
	}

	v.address("listen.grpc", c.Listen.GRPC, false)
	v.address("listen.rest", c.Listen.REST, false)
	v.address("listen.metrics", c.Listen.Metrics, false)
	v.distinct([]string{"listen.grpc", "listen.rest", "listen.metrics"}, []string{c.Listen.GRPC, c.Listen.REST, c.Listen.Metrics})

	v.path("tls.certFile", c.TLS.CertFile, "PEM certificate file for mTLS")
	v.path("tls.keyFile", c.TLS.KeyFile, "PEM private key file of tls.certFile")
	v.path("tls.clientCAFile", c.TLS.ClientCAFile, "PEM file of the CA certificates that client certificates must chain to")

	v.path("wallet.dir", c.Wallet.Dir, "directory of enrolled identities in Fabric MSP layout")
	if v.required("wallet.serviceIdentity", c.Wallet.ServiceIdentity, "the name of the gateway's own identity in the wallet") && !identityNamePattern.MatchString(c.Wallet.ServiceIdentity) {
		v.add("wallet.serviceIdentity", "must be the name of a directory in wallet.dir: 1 to 64 letters, digits, '.', '-', '_' or '@', not starting with '.' or '-'")
	}

	if v.oneOf("ledger.backend", c.Ledger.Backend, Backends) {
		switch c.Ledger.Backend {
		case BackendEmbedded:
			v.path("ledger.embedded.dir", c.Ledger.Embedded.Dir, "data directory of the embedded ledger")
		case BackendFabric:
			f := c.Ledger.Fabric
			v.address("ledger.fabric.peerEndpoint", f.PeerEndpoint, true)
			v.path("ledger.fabric.peerTLSCAFile", f.PeerTLSCAFile, "PEM CA certificate of the peer's TLS certificate")
			if v.required("ledger.fabric.channel", f.Channel, "the Fabric channel name") && !channelPattern.MatchString(f.Channel) {
				v.add("ledger.fabric.channel", "must be a Fabric channel name: lower-case letters, digits, '.' and '-', starting with a letter, at most 249 characters")
			}
			if v.required("ledger.fabric.chaincode", f.Chaincode, "the chaincode name") && !chaincodePattern.MatchString(f.Chaincode) {
				v.add("ledger.fabric.chaincode", "must be a Fabric chaincode name: letters and digits, optionally separated by single '-' or '_'")
			}
		}
	}

	v.path("store.dir", c.Store.Dir, "directory of the encrypted record store")
	if v.oneOf("store.keyring.type", c.Store.Keyring.Type, KeyringTypes) {
		switch c.Store.Keyring.Type {
		case KeyringFile:
			if v.path("store.keyring.file.dir", c.Store.Keyring.File.Dir, "directory of the key-encryption key files") &&
				strings.TrimSpace(c.Store.Dir) != "" && !strings.ContainsRune(c.Store.Dir, 0) &&
				overlap(c.Store.Keyring.File.Dir, c.Store.Dir) {
				v.add("store.keyring.file.dir", "must not be store.dir, be inside it, nor contain it: keys kept with the ciphertext defeat erasure and backups")
			}
		case KeyringPKCS11:
			p := c.Store.Keyring.PKCS11
			v.path("store.keyring.pkcs11.module", p.Module, "path of the PKCS#11 module (shared library)")
			if v.required("store.keyring.pkcs11.tokenLabel", p.TokenLabel, "label of the PKCS#11 token") && len(p.TokenLabel) > maxTokenLabel {
				v.add("store.keyring.pkcs11.tokenLabel", fmt.Sprintf("must be at most %d bytes", maxTokenLabel))
			}
			if v.required("store.keyring.pkcs11.pinEnv", p.PINEnv, "NAME of the environment variable that holds the token PIN") && !envNamePattern.MatchString(p.PINEnv) {
				v.add("store.keyring.pkcs11.pinEnv", "must be the NAME of an environment variable (letters, digits and '_', not starting with a digit), never the PIN itself")
			}
		}
	}

	v.duration("ledger.commitTimeout", c.Ledger.CommitTimeout, time.Second, 10*time.Minute)
	v.duration("exchange.accessTicketTTL", c.Exchange.AccessTicketTTL, time.Second, 24*time.Hour)
	v.duration("exchange.timeout", c.Exchange.Timeout, time.Second, 24*time.Hour)
	v.duration("reconciler.interval", c.Reconciler.Interval, time.Second, 24*time.Hour)
	if cf := c.Events.CheckpointFile; cf != "" && v.path("events.checkpointFile", cf, "file of the event checkpoint") {
		if strings.HasSuffix(cf, string(filepath.Separator)) || filepath.Base(cf) == "." || filepath.Base(cf) == ".." {
			v.add("events.checkpointFile", "must name a file, not a directory")
		}
	}
	v.oneOf("log.level", c.Log.Level, LogLevels)
	v.oneOf("log.format", c.Log.Format, LogFormats)
	v.duration("shutdown.grace", c.Shutdown.Grace, time.Second, time.Hour)

	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(key, problem string) {
	v.errs = append(v.errs, &KeyError{Key: key, Problem: problem})
}

// required reports an empty value and returns whether the value is set.
func (v *validator) required(key, value, what string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(key, "required: "+what)
		return false
	}
	return true
}

// path checks a file or directory name and returns whether it is usable.
func (v *validator) path(key, value, what string) bool {
	if !v.required(key, value, what) {
		return false
	}
	if strings.ContainsRune(value, 0) {
		v.add(key, "must not contain a NUL byte")
		return false
	}
	return true
}

func (v *validator) oneOf(key, value string, allowed []string) bool {
	if !slices.Contains(allowed, value) {
		v.add(key, "must be one of "+strings.Join(allowed, ", "))
		return false
	}
	return true
}

func (v *validator) duration(key string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.add(key, fmt.Sprintf("must be a duration between %s and %s", shortDuration(lo), shortDuration(hi)))
	}
}

// address checks host:port. A remote address (dial) needs a host and a
// port from 1; a listening address may have an empty host (all interfaces)
// and port 0 (any free port).
func (v *validator) address(key, value string, remote bool) {
	const want = "must be host:port with a numeric port, e.g. 127.0.0.1:7443"
	if !v.required(key, value, "address as host:port") {
		return
	}
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		v.add(key, want)
		return
	}
	lo := uint64(0)
	if remote {
		lo = 1
	}
	n, ok := parsePort(port)
	switch {
	case !ok || uint64(n) < lo:
		v.add(key, fmt.Sprintf("port must be a number from %d to 65535", lo))
	case host == "" && remote:
		v.add(key, "host required: "+want[len("must be "):])
	case host != "" && net.ParseIP(strings.SplitN(host, "%", 2)[0]) == nil && !hostnamePattern.MatchString(host):
		v.add(key, "host must be an IP address or a DNS name")
	}
}

// parsePort reads the port of an address as address accepts it: decimal,
// 0 to 65535. Leading zeros are allowed and ignored, as the net package
// does when it listens: 07443 is port 7443.
func parsePort(port string) (uint16, bool) {
	n, err := strconv.ParseUint(port, 10, 16)
	return uint16(n), err == nil
}

// distinct reports a listening address that would collide with an earlier
// one: the same port number, on the same host or where either is a
// wildcard. Ports are compared as numbers; IP literals are compared as
// addresses (::ffff:127.0.0.1 is 127.0.0.1, 0:0::1 is ::1) and DNS names
// without regard to case or a trailing dot. It does not resolve names, so
// localhost and 127.0.0.1 are different hosts to it. Port 0 never
// collides, and an address that the address check refuses is skipped.
func (v *validator) distinct(keys, values []string) {
	type listener struct {
		host listenHost
		port uint16
		ok   bool
	}
	ls := make([]listener, len(values))
	for i, value := range values {
		h, p, err := net.SplitHostPort(value)
		if err != nil {
			continue
		}
		n, ok := parsePort(p)
		ls[i] = listener{host: parseListenHost(h), port: n, ok: ok && n != 0}
	}
	for i := range ls {
		if !ls[i].ok {
			continue
		}
		for j := range i {
			if !ls[j].ok || ls[i].port != ls[j].port {
				continue
			}
			if ls[i].host.wildcard() || ls[j].host.wildcard() || ls[i].host.same(ls[j].host) {
				v.add(keys[i], "must not use the same port as "+keys[j])
				break
			}
		}
	}
}

// listenHost is the host of a listening address in comparable form.
type listenHost struct {
	ip   net.IP // nil for a DNS name or the empty host
	zone string // IPv6 zone, as written
	name string // lower-case DNS name without a trailing dot
}

func parseListenHost(host string) listenHost {
	addr, zone, _ := strings.Cut(host, "%")
	if ip := net.ParseIP(addr); ip != nil {
		return listenHost{ip: ip, zone: zone}
	}
	return listenHost{name: strings.TrimSuffix(strings.ToLower(host), ".")}
}

// wildcard reports the empty host or an unspecified address (0.0.0.0, ::),
// which listen on every interface.
func (h listenHost) wildcard() bool {
	if h.ip != nil {
		return h.ip.IsUnspecified()
	}
	return h.name == ""
}

func (h listenHost) same(o listenHost) bool {
	if h.ip != nil || o.ip != nil {
		return h.ip.Equal(o.ip) && h.zone == o.zone
	}
	return h.name == o.name
}

// overlap reports whether directory a is b, lies inside b, or contains b,
// after making both absolute and clean. It compares names only: it does not
// follow symbolic links.
func overlap(a, b string) bool {
	return within(a, b) || within(b, a)
}

// within reports whether dir is parent or inside it, on path-element
// boundaries (/srv/store-keys is not inside /srv/store).
func within(dir, parent string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(parent)
	if err1 != nil || err2 != nil {
		d, p = filepath.Clean(dir), filepath.Clean(parent)
	}
	rel, err := filepath.Rel(p, d)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// shortDuration prints 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// CheckFiles looks at the files and directories c names and reports, as
// *KeyErrors joined in the order of Leaves, each that is missing or of the
// wrong kind. Unlike Validate its messages include the path, which is not a
// secret. main runs it after Load, before it builds anything.
//
// It requires tls.certFile, tls.keyFile, tls.clientCAFile and, for the
// selected backend and keyring, ledger.fabric.peerTLSCAFile and
// store.keyring.pkcs11.module to be files, and wallet.dir to be a
// directory. store.dir, ledger.embedded.dir and store.keyring.file.dir are
// created by their owners when missing, so they need only not be something
// other than a directory. It does not read contents: the packages that parse
// them report bad PEM. It does not check the PIN variable; main reads it.
func (c Config) CheckFiles() error {
	var errs []error
	file := func(key, p string) { errs = appendErr(errs, key, p, false, false) }
	dir := func(key, p string, mayBeMissing bool) { errs = appendErr(errs, key, p, true, mayBeMissing) }

	file("tls.certFile", c.TLS.CertFile)
	file("tls.keyFile", c.TLS.KeyFile)
	file("tls.clientCAFile", c.TLS.ClientCAFile)
	dir("wallet.dir", c.Wallet.Dir, false)
	switch c.Ledger.Backend {
	case BackendEmbedded:
		dir("ledger.embedded.dir", c.Ledger.Embedded.Dir, true)
	case BackendFabric:
		file("ledger.fabric.peerTLSCAFile", c.Ledger.Fabric.PeerTLSCAFile)
	}
	dir("store.dir", c.Store.Dir, true)
	switch c.Store.Keyring.Type {
	case KeyringFile:
		dir("store.keyring.file.dir", c.Store.Keyring.File.Dir, true)
	case KeyringPKCS11:
		file("store.keyring.pkcs11.module", c.Store.Keyring.PKCS11.Module)
	}
	if c.Events.CheckpointFile != "" {
		errs = appendErr(errs, "events.checkpointFile", c.Events.CheckpointFile, false, true)
	}
	return errors.Join(errs...)
}

func appendErr(errs []error, key, p string, wantDir, mayBeMissing bool) []error {
	if p == "" {
		return append(errs, &KeyError{Key: key, Problem: "required"})
	}
	info, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) && mayBeMissing:
		return errs
	case errors.Is(err, fs.ErrNotExist):
		return append(errs, &KeyError{Key: key, Problem: fmt.Sprintf("%s does not exist", p)})
	case err != nil:
		return append(errs, &KeyError{Key: key, Problem: fmt.Sprintf("cannot stat %s: %v", p, errors.Unwrap(err))})
	case wantDir && !info.IsDir():
		return append(errs, &KeyError{Key: key, Problem: fmt.Sprintf("%s is not a directory", p)})
	case !wantDir && !info.Mode().IsRegular():
		return append(errs, &KeyError{Key: key, Problem: fmt.Sprintf("%s is not a regular file", p)})
	}
	return errs
}
