// Package patientproof authenticates patients, who are not Fabric members, to
// a gateway: the gateway issues a random challenge, and the patient signs its
// canonical encoding with the registered key.
//
// The encoding (Encode) is the prefix "medprov.patient.challenge.v1", a 0x00
// byte, then as length-prefixed strings (4-byte big-endian length) the
// gateway's MSP ID, the patient pseudonym, the challenge ID and the
// challenge bytes. The signature is Ed25519, or DER ECDSA over SHA-256, as
// for consent statements; Verify checks it with ledger.PatientKey.
//
// Challenges is the gateway's in-memory set of outstanding challenges: a
// challenge stays valid, for every page a patient reads, until it expires,
// and memory is bounded per patient and overall: at a bound Issue refuses
// with ErrTooManyChallenges rather than evict a challenge still in use.
//
// The package is pure apart from its injected clock and random source: it
// must not import gRPC, a ledger client or the gateway's store. Looking up
// the patient's current key is the caller's job.
package patientproof
