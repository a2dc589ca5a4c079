//! # minhbach-cli
//!
//! The library behind the `minhbach` tool for officials and donors.
//!
//! What it does: signing keys in OpenSSH format ([`keys`]), statements built
//! from flags ([`compose`]), signing and co-signing DSSE envelopes, a small
//! typed HTTP client of the log's API ([`client`]), bank statement import with
//! personal data masked ([`bank`], [`import`]), receipts, traces, and a
//! person's salted commitment (SPEC 6.9) so a recipient or donor can find
//! their own entries. The commands themselves are in [`app`].
//!
//! What it does **not** do: it never links RocksDB, axum or the server; it
//! reaches a log only over HTTP, and it never prints or logs a private key.

pub mod app;
pub mod bank;
pub mod client;
pub mod compose;
pub mod explain;
pub mod import;
pub mod keys;

use minhbach_ledger::statement::Commitment;
use thiserror::Error;

/// Errors of the CLI's own inputs.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CliError {
    /// A salt is not 64 hexadecimal digits (32 bytes).
    #[error(
        "the salt must be 64 hexadecimal digits (32 bytes), as printed on the support card; got {length} characters"
    )]
    BadSalt {
        /// Length of what was given.
        length: usize,
    },
    /// The identifier is empty after trimming.
    #[error("the identifier is empty")]
    EmptyIdentifier,
}

/// Computes the commitment of `identifier` under the hex `salt`.
///
/// The identifier is trimmed of surrounding whitespace; the salt may use
/// upper- or lowercase hex and may contain spaces or dashes as printed on a
/// card (they are ignored).
///
/// # Errors
/// [`CliError::BadSalt`] or [`CliError::EmptyIdentifier`].
pub fn commitment(identifier: &str, salt_hex: &str) -> Result<Commitment, CliError> {
    let cleaned: String = salt_hex
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let mut salt = [0u8; 32];
    hex::decode_to_slice(cleaned.to_ascii_lowercase(), &mut salt).map_err(|_| {
        CliError::BadSalt {
            length: cleaned.chars().count(),
        }
    })?;
    let id = identifier.trim();
    if id.is_empty() {
        return Err(CliError::EmptyIdentifier);
    }
    Ok(Commitment::compute(&salt, id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn matches_the_design_formula() {
        let salt = "11".repeat(32);
        let c = commitment(" 079123456789 ", &salt).unwrap();
        let mut buf = b"minhbach/commitment/v1\0".to_vec();
        buf.extend_from_slice(&[0x11; 32]);
        buf.extend_from_slice(b"079123456789");
        assert_eq!(c.0, <[u8; 32]>::from(Sha256::digest(&buf)));
        // A salt as printed on a card, in groups and uppercase, is the same salt.
        let grouped = "1111-1111 ".repeat(8).to_uppercase();
        assert_eq!(commitment("079123456789", &grouped), Ok(c));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            commitment("x", "abcd"),
            Err(CliError::BadSalt { length: 4 })
        );
        assert_eq!(
            commitment("x", &"zz".repeat(32)),
            Err(CliError::BadSalt { length: 64 })
        );
        assert_eq!(
            commitment("  ", &"00".repeat(32)),
            Err(CliError::EmptyIdentifier)
        );
    }
}
