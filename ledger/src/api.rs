//! The JSON shapes of the server's read and write API (`/api/v1/…`), typed
//! once: the server serializes them, the CLI and the auditor deserialize
//! them. The OpenAPI document (`server/api/openapi.json`) describes the same
//! shapes and the server's tests check it against these types.
//!
//! Hashes are base64 strings and times RFC 3339 strings here, exactly as they
//! travel: these types carry the wire format, not the domain.
//!
//! What this module does **not** do: fetch or serve anything, or verify what
//! a server claims (the auditor recomputes it from the read path).

use serde::{Deserialize, Serialize};

/// `GET /api/v1/log`: the log's identity and sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// The log's origin (its key's name).
    pub origin: String,
    /// The log's C2SP signed-note verifier key.
    pub verifier_key: String,
    /// The witnesses' cosignature verifier keys (C2SP signed-note, type
    /// `0x04`), in the order configured.
    pub witnesses: Vec<String>,
    /// How many of them cosign a checkpoint before it is published.
    pub witness_quorum: usize,
    /// The published checkpoint's size.
    pub tree_size: u64,
    /// The published checkpoint's root (base64).
    pub root: String,
    /// Entries committed, published or not yet.
    pub committed_size: u64,
}

/// `GET /api/v1/entries/{index}`: one entry, decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The entry's index.
    pub index: u64,
    /// The leaf bytes exactly as logged, base64.
    pub leaf: String,
    /// The leaf hash (base64).
    pub leaf_hash: String,
    /// The leaf hash (hex).
    pub leaf_hash_hex: String,
    /// When the log appended it (RFC 3339, milliseconds, UTC).
    pub logged_at: String,
    /// The DSSE payload type.
    pub payload_type: String,
    /// The keyids of the envelope's signatures, in order (not verified by
    /// the answer: the rules checked them before the entry was appended).
    pub signers: Vec<String>,
    /// The statement, when the payload is JSON; `null` otherwise.
    pub statement: Option<serde_json::Value>,
}

/// `GET /api/v1/proofs/inclusion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The tree the proof is for.
    pub tree_size: u64,
    /// The leaf hash (base64).
    pub leaf_hash: String,
    /// The proof's hashes (base64).
    pub proof: Vec<String>,
}

/// `GET /api/v1/proofs/consistency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
    /// The proof's hashes (base64).
    pub proof: Vec<String>,
}

/// `GET /api/v1/lookup`: the entry a reference or a statement id names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// The entry's index.
    pub index: u64,
    /// The statement type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The statement id.
    pub statement_id: String,
}

/// One signer of the registry (`GET /api/v1/keys`), revoked or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// The keyid (hex).
    pub keyid: String,
    /// Base64 of the 32-byte public key.
    pub public_key: String,
    /// The holder's name.
    pub name: String,
    /// The holder's title, if given.
    pub title: Option<String>,
    /// Its roles (`governance`, `intake`, `approver`, `field`).
    pub roles: Vec<String>,
    /// Where it may act, as the statement that granted it says.
    pub scope: serde_json::Value,
    /// The index of the entry that granted it.
    pub granted_at: u64,
    /// The index of the entry that revoked it, if revoked.
    pub revoked_at: Option<u64>,
}

/// `GET /api/v1/keys`: the signer registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    /// The governance quorum M (`null` before the genesis).
    pub governance_threshold: Option<u8>,
    /// Every key ever granted.
    pub keys: Vec<Key>,
}

/// `POST /api/v1/entries?dry_run=true`: the envelope would be accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRun {
    /// Always true: a refusal is a problem answer.
    pub ok: bool,
    /// The statement id.
    pub statement_id: String,
    /// The statement type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Keyids of the signers whose signatures count.
    pub signers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_wire_names_are_the_documented_ones() {
        let lookup = Lookup {
            index: 3,
            kind: "donation".into(),
            statement_id: "d-1".into(),
        };
        let v = serde_json::to_value(&lookup).unwrap();
        assert_eq!(
            v,
            json!({"index": 3, "type": "donation", "statement_id": "d-1"})
        );
        assert_eq!(serde_json::from_value::<Lookup>(v).unwrap(), lookup);
        let keys = Keys {
            governance_threshold: None,
            keys: vec![],
        };
        assert_eq!(
            serde_json::to_value(&keys).unwrap(),
            json!({"governance_threshold": null, "keys": []})
        );
        let dry = DryRun {
            ok: true,
            statement_id: "s".into(),
            kind: "campaign_open".into(),
            signers: vec!["ab".into()],
        };
        assert_eq!(
            serde_json::to_value(&dry).unwrap(),
            json!({"ok": true, "statement_id": "s", "type": "campaign_open", "signers": ["ab"]})
        );
    }
}
