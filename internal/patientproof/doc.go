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
// Challenges is the gateway's in-memory set of outstanding challenges.
//
// # Binding to the carrier
//
// A patient's requests reach the gateway through an enrolled caller, the
// carrier (a patient portal's service account, a clinician helping the
// patient), and the gateway answers them with its own service identity. A
// proof alone would therefore serve anyone who saw it until it expires. So
// every challenge is bound to its holder, an opaque string the gateway
// chooses: the fingerprint of the client certificate of the caller that
// asked for it. Check accepts a proof only from the same holder; to any
// other holder the challenge is unknown (ErrWrongHolder, which reads as
// ErrUnknownChallenge). The holder is not part of the signed encoding: the
// patient signs what the patient's device sees (gateway, pseudonym,
// challenge), and the binding is the gateway's own bookkeeping. For its
// holder a challenge stays valid, for every page a patient reads, until it
// expires.
//
// # Bounds and rate limits
//
// Any enrolled caller may ask for a challenge for any pseudonym, so every
// bound is counted per holder, and what one holder does refuses no other
// holder, except through the overall memory bound:
//
//   - a holder may ask at most once per interval sustained, with a burst
//     (WithIssueRate; by default once a second, bursts of 10): a token
//     bucket that every Issue past the argument checks draws from, even one
//     then refused at another bound;
//   - a holder has at most WithMaxPerHolder unexpired challenges (16 by
//     default), whatever the patients;
//   - a holder has at most WithMaxPerPatient unexpired challenges for one
//     patient (8 by default). This bound counts per (patient, holder), not
//     per patient: a count that all holders share is exactly what let one
//     caller fill a patient's slots and lock out the patient's own portal.
//     A patient's challenges across all holders are bounded by the holders'
//     own bounds and by the overall one;
//   - the whole set has at most WithMaxOutstanding unexpired challenges
//     (10,000 by default), a backstop for memory. It is the one bound that
//     holders share: filling it takes at least MaxOutstanding/MaxPerHolder
//     distinct holders (625 with the defaults), that is as many enrolled
//     certificates acting together.
//
// At any bound Issue refuses with ErrTooManyChallenges and evicts nothing,
// so asking for someone else's challenges cannot end a live session. A
// carrier that serves many patients at once (a portal's service account)
// needs WithMaxPerHolder and WithIssueRate sized for its load. The rate
// state of a holder that has been idle for burst × interval is forgotten,
// since a full bucket is the same as none.
//
// The package is pure apart from its injected clock and random source: it
// must not import gRPC, a ledger client or the gateway's store. Looking up
// the patient's current key, and knowing which caller holds a challenge,
// are the caller's job.
package patientproof
