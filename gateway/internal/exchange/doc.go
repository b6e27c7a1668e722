// Package exchange holds the custodian's decision to release a record for
// an access ticket: flow 3 of the design, in which hospital B commits a
// RequestAccess transaction under its own identity and then asks the
// custodian's gateway, over mTLS, for the record, presenting the
// transaction ID as a ticket.
//
// A Checker honours a ticket only if the ledger holds the access event of
// that transaction (read with GetAccessEvent as the custodian), and the
// event
//
//   - names this gateway's organisation as custodian;
//   - was requested by the caller: the SHA-256 fingerprint of the caller's
//     certificate equals the event's requester's, and so does the caller's
//     MSP ID when the server knows it; for another organisation's
//     certificate it does not, and the organisation is the one the ledger
//     attributed to that certificate (see Caller for why the certificate
//     and not only the organisation);
//   - is a cross-organisation decision GRANTED or EMERGENCY (a DENIED
//     event, or a custodian's own LogAccess event, is not a ticket);
//   - is fresh: its time `at` is at most TTL in the past and at most the
//     clock skew tolerance in the future. `at` is the requester's proposal
//     timestamp, which neither the chaincode nor Fabric checks; refusing
//     future-dated events and bounding the age by a short TTL limits what a
//     requester gains by choosing it (see docs/chaincode-api.md,
//     "Determinism and time");
//   - has not been used before. The ledger records no use, so the Checker
//     keeps used tickets in a UsedTickets store and marks a ticket used
//     atomically as the last step: of concurrent checks of one ticket,
//     exactly one succeeds.
//
// Checks run in the order above, so that a caller who is not the
// requester learns nothing about the decision, the age or the use of
// someone else's ticket. A ticket the ledger does not show this
// organisation is refused as unknown, with no hint whether it exists.
//
// Every refusal is an *Error that matches one sentinel (ErrUnknownTicket,
// ErrWrongCustodian, ErrWrongRequester, ErrNotGranted, ErrExpired,
// ErrNotYetValid, ErrUsed, ErrMalformedTicket) with errors.Is and carries
// a gRPC status (GRPCStatus), whose message holds no health data: no
// patient, record ID, purpose or consent.
//
// The package decides and fetches; it does not serve. Its client side
// (Client, Directory, NewVerifyingReader) is a gRPC client of other
// gateways' ExchangeService and may use the generated gatewayv1 types,
// which stay out of its other APIs. It must not import the gateway's
// server package, the off-chain record store, or the devnet; it reads the
// ledger only through the functions it is given (LedgerFetcher and
// LedgerDirectory adapt the gateway's ledger.Ledger).
package exchange
