package devca

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// ErrInvalid is wrapped by every error that reports bad input, such as an
// unknown role or an empty name. The error message names the offending field.
var ErrInvalid = errors.New("invalid input")

// ErrExists is wrapped by the error that WriteOrg or WriteIdentity returns
// when the target folder already holds a different private key, which they
// refuse to overwrite.
var ErrExists = errors.New("a different key already exists")

// The medprov roles that may be carried in the medprov.role attribute.
const (
	// RoleClinician is a clinician who treats patients.
	RoleClinician = "clinician"
	// RoleRecordsOfficer is a records officer who manages medical records.
	RoleRecordsOfficer = "records-officer"
	// RoleResearcher is a researcher with access to research data.
	RoleResearcher = "researcher"
	// RoleAuditor is an auditor who reviews provenance.
	RoleAuditor = "auditor"
	// RoleAdmin is an application administrator.
	RoleAdmin = "admin"
)

// The clearance codes that may be carried in the medprov.clearance
// attribute, from lowest to highest.
const (
	// ClearanceU is clearance code U.
	ClearanceU = "U"
	// ClearanceL is clearance code L.
	ClearanceL = "L"
	// ClearanceM is clearance code M.
	ClearanceM = "M"
	// ClearanceN is clearance code N.
	ClearanceN = "N"
	// ClearanceR is clearance code R.
	ClearanceR = "R"
	// ClearanceV is clearance code V.
	ClearanceV = "V"
)

// The Fabric NodeOUs an identity can belong to; the value is written as the
// OU of the certificate subject.
const (
	// NodeOUClient marks a client identity.
	NodeOUClient = "client"
	// NodeOUPeer marks a peer node identity.
	NodeOUPeer = "peer"
	// NodeOUAdmin marks an MSP administrator identity.
	NodeOUAdmin = "admin"
	// NodeOUOrderer marks an orderer node identity.
	NodeOUOrderer = "orderer"
)

// The attribute names that Issue writes into certificates.
const (
	// AttrRole is the name of the attribute that holds the medprov role.
	AttrRole = "medprov.role"
	// AttrClearance is the name of the attribute that holds the clearance.
	AttrClearance = "medprov.clearance"
)

var (
	roles      = []string{RoleClinician, RoleRecordsOfficer, RoleResearcher, RoleAuditor, RoleAdmin}
	clearances = []string{ClearanceU, ClearanceL, ClearanceM, ClearanceN, ClearanceR, ClearanceV}
	nodeOUs    = []string{NodeOUClient, NodeOUPeer, NodeOUAdmin, NodeOUOrderer}
)

// Roles returns the allowed values of IdentityRequest.Role.
func Roles() []string { return slices.Clone(roles) }

// Clearances returns the allowed values of IdentityRequest.Clearance, from
// lowest to highest.
func Clearances() []string { return slices.Clone(clearances) }

// NodeOUs returns the allowed values of IdentityRequest.NodeOU.
func NodeOUs() []string { return slices.Clone(nodeOUs) }

// invalid builds an error that names field and wraps ErrInvalid.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("devca: %s: %w: %s", field, ErrInvalid, fmt.Sprintf(format, args...))
}

func checkOneOf(field, v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return invalid(field, "%q is not allowed; allowed values are %s", v, strings.Join(allowed, ", "))
}

// checkMSPID accepts the characters Fabric MSP IDs use in practice.
func checkMSPID(field, v string) error {
	if v == "" {
		return invalid(field, "must not be empty")
	}
	if len(v) > 128 {
		return invalid(field, "%q is longer than 128 characters", v)
	}
	for _, r := range v {
		if !isAlnum(r) && r != '.' && r != '-' && r != '_' {
			return invalid(field, "%q contains %q; only letters, digits, '.', '-' and '_' are allowed", v, r)
		}
	}
	return nil
}

// checkDomain accepts a lower-case DNS name such as org1.example.com.
func checkDomain(field, v string) error {
	if v == "" {
		return invalid(field, "must not be empty")
	}
	if len(v) > 253 {
		return invalid(field, "%q is longer than 253 characters", v)
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return invalid(field, "%q is not a DNS name: each dot-separated label must have 1 to 63 characters", v)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return invalid(field, "%q is not a DNS name: a label must not start or end with '-'", v)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z') && !(r >= '0' && r <= '9') && r != '-' {
				return invalid(field, "%q is not a lower-case DNS name: it contains %q", v, r)
			}
		}
	}
	return nil
}

// checkName accepts identity names that are safe both as a certificate
// common name (at most 64 characters) and as part of a file name.
func checkName(field, v string) error {
	if v == "" {
		return invalid(field, "must not be empty")
	}
	if len(v) > 64 {
		return invalid(field, "%q is longer than 64 characters", v)
	}
	if v[0] == '.' || v[0] == '-' {
		return invalid(field, "%q must not start with '.' or '-'", v)
	}
	for _, r := range v {
		if !isAlnum(r) && r != '.' && r != '-' && r != '_' && r != '@' {
			return invalid(field, "%q contains %q; only letters, digits, '.', '-', '_' and '@' are allowed", v, r)
		}
	}
	return nil
}

func checkDNSNames(field string, names []string) error {
	for i, n := range names {
		f := fmt.Sprintf("%s[%d]", field, i)
		if n == "" {
			return invalid(f, "must not be empty")
		}
		rest := strings.TrimPrefix(n, "*.")
		if err := checkDomain(f, strings.ToLower(rest)); err != nil {
			return err
		}
	}
	return nil
}

func checkIPs(field string, ips []net.IP) error {
	for i, ip := range ips {
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%v is not an IPv4 or IPv6 address", ip)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}
