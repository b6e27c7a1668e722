package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/medprov/medprov/internal/devca"
)

// org is one organisation of the test network.
type org struct {
	MSPID, Domain string
}

// The organisations, with the MSP IDs and domains of internal/devnet, so
// that the same names mean the same organisations on both ledgers.
var (
	ordererOrg = org{"OrdererMSP", "orderer.medprov.test"}
	peerOrgs   = []org{
		{"HospitalAMSP", "hospital-a.medprov.test"},
		{"HospitalBMSP", "hospital-b.medprov.test"},
		{"HealthAuthorityMSP", "health-authority.medprov.test"},
	}
)

// maxOrderers is the size of the largest ordering service in
// network/configtx.yaml (the BFT profile).
const maxOrderers = 4

// user is an identity in every peer organisation's gateway wallet.
type user struct {
	Name, Role, Clearance string
}

// users are the wallet identities of gateway/devup (its Users), so that a
// gateway on the Fabric network has the identities it has on the embedded
// one. The first is the gateway's service identity.
var users = []user{
	{"gateway", devca.RoleRecordsOfficer, devca.ClearanceV},
	{"clinician", devca.RoleClinician, devca.ClearanceN},
	{"clinician-l", devca.RoleClinician, devca.ClearanceL},
	{"officer", devca.RoleRecordsOfficer, devca.ClearanceV},
	{"researcher", devca.RoleResearcher, devca.ClearanceN},
	{"admin", devca.RoleAdmin, devca.ClearanceV},
	{"auditor", devca.RoleAuditor, devca.ClearanceV},
}

// config is what netca writes and where.
type config struct {
	cryptoDir   string
	gatewaysDir string
	orderers    int
}

// validate reports the first bad field, naming its flag.
func (c config) validate() error {
	switch {
	case c.cryptoDir == "":
		return errors.New("-crypto: required: the folder for the organisations' crypto material")
	case c.gatewaysDir == "":
		return errors.New("-gateways: required: the folder for the gateways' wallets")
	case c.orderers < 1 || c.orderers > maxOrderers:
		return fmt.Errorf("-orderers: want 1 to %d", maxOrderers)
	}
	return nil
}

// Folder layout under -crypto, that of cryptogen with the MSP ID as the
// organisation's folder:
//
//	<MSP>/ca, <MSP>/tlsca, <MSP>/msp        the organisation (devca.WriteOrg)
//	<MSP>/orderers/ordererN.<domain>/       msp/, tls/server.{crt,key}, tls/ca.crt
//	<MSP>/peers/peer0.<domain>/             msp/, tls/server.{crt,key}, tls/ca.crt
//	<MSP>/users/Admin@<domain>/             msp/ (NodeOU admin), tls/client.{crt,key}
//	<MSP>/chaincode/tls/                    server.{crt,key}, ca.crt
//
// and under -gateways, for each peer organisation:
//
//	<MSP>/wallet/<user>/                    msp/ (NodeOU client, role, clearance), tls/
//	<MSP>/server/                           the gateway's TLS server certificate
//	<MSP>/client-cas.pem                    the peer organisations' signing CAs

// orgDir returns the folder of an organisation under the crypto folder.
func orgDir(cryptoDir string, o org) string { return filepath.Join(cryptoDir, o.MSPID) }

// generate writes everything that is missing and returns how many
// identities it issued.
func generate(c config) (int, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	g := generator{}
	orderer, err := loadOrCreateOrg(orgDir(c.cryptoDir, ordererOrg), ordererOrg)
	if err != nil {
		return 0, err
	}
	base := orgDir(c.cryptoDir, ordererOrg)
	for i := 1; i <= c.orderers; i++ {
		name := fmt.Sprintf("orderer%d", i)
		if err := g.node(orderer, filepath.Join(base, "orderers", name+"."+ordererOrg.Domain), name, devca.NodeOUOrderer); err != nil {
			return g.issued, err
		}
	}
	if err := g.admin(orderer, base); err != nil {
		return g.issued, err
	}

	var clientCAs []byte
	cas := map[string]*devca.Org{}
	for _, o := range peerOrgs {
		ca, err := loadOrCreateOrg(orgDir(c.cryptoDir, o), o)
		if err != nil {
			return g.issued, err
		}
		cas[o.MSPID] = ca
		clientCAs = append(clientCAs, ca.CACertPEM()...)
	}
	for _, o := range peerOrgs {
		ca, base := cas[o.MSPID], orgDir(c.cryptoDir, o)
		if err := g.node(ca, filepath.Join(base, "peers", "peer0."+o.Domain), "peer0", devca.NodeOUPeer); err != nil {
			return g.issued, err
		}
		if err := g.admin(ca, base); err != nil {
			return g.issued, err
		}
		if err := g.tlsOnly(ca, filepath.Join(base, "chaincode", "tls"), "chaincode"); err != nil {
			return g.issued, err
		}
		gw := filepath.Join(c.gatewaysDir, o.MSPID)
		for _, u := range users {
			if err := g.identity(ca, filepath.Join(gw, "wallet", u.Name), devca.IdentityRequest{
				Name: u.Name, NodeOU: devca.NodeOUClient, Role: u.Role, Clearance: u.Clearance,
			}); err != nil {
				return g.issued, fmt.Errorf("%s wallet: %w", o.MSPID, err)
			}
		}
		// As in gateway/devup: the gateway's TLS server certificate.
		if err := g.identity(ca, filepath.Join(gw, "server"), devca.IdentityRequest{
			Name: "gateway-server", NodeOU: devca.NodeOUPeer, DNSNames: []string{"localhost"}, IPs: loopback,
		}); err != nil {
			return g.issued, fmt.Errorf("%s gateway server: %w", o.MSPID, err)
		}
		if err := writeIfChanged(filepath.Join(gw, "client-cas.pem"), clientCAs); err != nil {
			return g.issued, err
		}
	}
	return g.issued, nil
}

// loadOrCreateOrg loads the organisation in dir, or creates it there. A
// folder that holds another organisation is an error.
func loadOrCreateOrg(dir string, o org) (*devca.Org, error) {
	ok, err := exists(filepath.Join(dir, "devca.json"))
	if err != nil {
		return nil, err
	}
	if ok {
		ca, err := devca.LoadOrg(dir)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", o.MSPID, err)
		}
		if ca.MSPID != o.MSPID || ca.Domain != o.Domain {
			return nil, fmt.Errorf("%s: holds %s (%s), want %s (%s); remove the folder to start again",
				dir, ca.MSPID, ca.Domain, o.MSPID, o.Domain)
		}
		return ca, nil
	}
	ca, err := devca.NewOrg(o.MSPID, o.Domain)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", o.MSPID, err)
	}
	if err := ca.WriteOrg(dir); err != nil {
		return nil, fmt.Errorf("write %s: %w", o.MSPID, err)
	}
	return ca, nil
}

// generator issues identities that are not on disk yet and counts them.
type generator struct {
	issued int
}

// node issues a peer or orderer identity whose TLS certificate is valid for
// 127.0.0.1, localhost and <name>.<domain>.
func (g *generator) node(ca *devca.Org, dir, name, nodeOU string) error {
	return g.identity(ca, dir, devca.IdentityRequest{
		Name: name, NodeOU: nodeOU,
		DNSNames: []string{name + "." + ca.Domain, "localhost"}, IPs: loopback,
	})
}

// admin issues the organisation's administrator (CN=Admin, in
// users/Admin@<domain>): it joins
// peers to the channel, installs and approves chaincode, and (for the
// orderer organisation) authenticates to the orderers' admin endpoints
// with its TLS client certificate.
func (g *generator) admin(ca *devca.Org, base string) error {
	return g.identity(ca, filepath.Join(base, "users", "Admin@"+ca.Domain), devca.IdentityRequest{
		Name: "Admin", NodeOU: devca.NodeOUAdmin,
	})
}

// identity issues req into dir unless dir already holds an identity.
func (g *generator) identity(ca *devca.Org, dir string, req devca.IdentityRequest) error {
	ok, err := exists(filepath.Join(dir, "msp", "signcerts"))
	if err != nil || ok {
		return err
	}
	id, err := ca.Issue(req)
	if err != nil {
		return fmt.Errorf("issue %s: %w", req.Name, err)
	}
	if err := ca.WriteIdentity(dir, id); err != nil {
		return fmt.Errorf("write %s: %w", req.Name, err)
	}
	g.issued++
	return nil
}

// tlsOnly writes a TLS server key pair for 127.0.0.1 and localhost, with the
// organisation's TLS CA, into dir as server.crt, server.key and ca.crt; the
// chaincode service presents it to the peer. Its signing certificate is
// discarded: the chaincode process signs nothing.
func (g *generator) tlsOnly(ca *devca.Org, dir, name string) error {
	ok, err := exists(filepath.Join(dir, "server.key"))
	if err != nil || ok {
		return err
	}
	id, err := ca.Issue(devca.IdentityRequest{Name: name, NodeOU: devca.NodeOUClient, DNSNames: []string{"localhost"}, IPs: loopback})
	if err != nil {
		return fmt.Errorf("issue %s TLS: %w", name, err)
	}
	// The key goes last, so that a folder with a key is complete.
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"ca.crt", ca.TLSCACertPEM()},
		{"server.crt", id.TLSCertPEM},
		{"server.key", id.TLSKeyPEM},
	} {
		if err := writeFile(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	g.issued++
	return nil
}

// writeIfChanged writes data to path unless path already holds it.
func writeIfChanged(path string, data []byte) error {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeFile(path, data)
}

// writeFile writes data to path through a temporary file in the same
// folder, with mode 0600, creating the folder with mode 0700.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
