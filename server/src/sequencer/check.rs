//! Signature checking, before the sequencer: statements parsed and their
//! envelopes verified in batches (Ed25519 batch verification) against the
//! key registry of the books, on the checker threads ([`crate::checker`]).

use minhbach_ledger::envelope::{Envelope, KeyId};
use minhbach_ledger::rules::Rejection;
use minhbach_ledger::statement::Statement;

use super::SharedBooks;

/// One submitted envelope after the handler's checks.
#[derive(Debug)]
pub struct Checked {
    pub(super) envelope: Envelope,
    pub(super) statement: Statement,
    /// The signers whose signatures verified, or why they did not.
    pub(super) signers: Result<Vec<KeyId>, Rejection>,
}

impl Checked {
    /// The envelope, its statement and the signature verdict.
    pub fn into_parts(self) -> (Envelope, Statement, Result<Vec<KeyId>, Rejection>) {
        (self.envelope, self.statement, self.signers)
    }
}

/// Parses envelopes' statements and verifies their signatures against the
/// key registry of `books`, with Ed25519 batch verification. Envelopes whose
/// statement does not parse are answered at once (`Err`).
pub fn check_envelopes(
    books: &SharedBooks,
    envelopes: Vec<Envelope>,
) -> Vec<Result<Checked, Rejection>> {
    let books = books.read();
    let state = &books.state;
    let mut parsed = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        parsed.push(
            if envelope.payload_type() == minhbach_ledger::envelope::STATEMENT_PAYLOAD_TYPE {
                Statement::from_json(envelope.payload())
                    .map(|s| (envelope, s))
                    .map_err(Rejection::from)
            } else {
                Err(Rejection::MalformedEnvelope {
                    what: "payload type",
                })
            },
        );
    }
    let to_verify: Vec<&Envelope> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().map(|(e, _)| e))
        .collect();
    let mut verdicts = Envelope::verify_batch(to_verify, |k| state.verifying_key(k)).into_iter();
    parsed
        .into_iter()
        .map(|p| {
            let (envelope, statement) = p?;
            let verdict = verdicts
                .next()
                .unwrap_or(Err(minhbach_ledger::envelope::EnvelopeError::NoSignatures));
            // An unknown key (before genesis, or granted since) is checked
            // again in order by the sequencer.
            let signers = verdict.map_err(Rejection::from);
            Ok(Checked {
                envelope,
                statement,
                signers,
            })
        })
        .collect()
}
