//! `minhbach-audit witness`: a C2SP tlog-witness (`POST /add-checkpoint`).
//!
//! It cosigns (C2SP tlog-cosignature) a checkpoint of a known log only if the
//! log's signature verifies and a consistency proof links it to the last
//! checkpoint it cosigned for that log. Its state (per log: size and root) is
//! written durably (temporary file, fsync, rename, fsync of the directory)
//! **before** it answers, so a crash can never make it cosign two
//! inconsistent checkpoints.
//!
//! Answers (tlog-witness): 200 with the cosignature line; 400 for a
//! malformed request or an `old` size above the checkpoint's; 403 when the
//! log's signature does not verify; 404 for an unknown log; 409 with the
//! witness's size (`text/x.tlog.size`) when `old` is not that size, or when
//! the checkpoint has the witness's size but another root; 422 when the
//! proof does not verify.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minhbach_ledger::checkpoint::{open_checkpoint, Checkpoint};
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::merkle::{empty_root, verify_consistency, Hash};
use minhbach_ledger::note::{Note, VerifierKey};
use serde::{Deserialize, Serialize};

use crate::durable::write_atomic;
use crate::AuditError;

/// The most proof lines accepted (a proof has at most 2·63 hashes; the spec
/// allows up to 63 per line set, be generous but bounded).
const MAX_PROOF_LINES: usize = 128;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// What the witness remembers of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// The size of the last checkpoint cosigned.
    pub size: u64,
    /// Its root (base64).
    pub root: String,
}

/// The witness's durable state: per origin, the last checkpoint cosigned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// Per log origin.
    pub logs: BTreeMap<String, LogState>,
}

/// An answer to `POST /add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The content type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    fn text(status: u16, body: impl Into<String>) -> Self {
        let mut body = body.into();
        body.push('\n');
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into_bytes(),
        }
    }
}

/// A witness: its key, the logs it knows and its state file.
pub struct Witness {
    cosigner: Cosigner,
    logs: Vec<VerifierKey>,
    state_path: PathBuf,
    state: Mutex<WitnessState>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", self.cosigner.name())
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

/// A parsed request.
struct Request<'a> {
    old: u64,
    proof: Vec<Hash>,
    checkpoint: &'a [u8],
}

fn parse_request(body: &[u8]) -> Option<Request<'_>> {
    let mut rest = body;
    let mut line = || -> Option<&[u8]> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let (l, r) = rest.split_at(end);
        rest = &r[1..];
        Some(l)
    };
    let first = std::str::from_utf8(line()?).ok()?;
    let old = first.strip_prefix("old ")?;
    if old.is_empty() || (old.len() > 1 && old.starts_with('0')) {
        return None;
    }
    let old: u64 = old.parse().ok()?;
    let mut proof = Vec::new();
    loop {
        let l = line()?;
        if l.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return None;
        }
        proof.push(Hash::from_base64(std::str::from_utf8(l).ok()?).ok()?);
    }
    Some(Request {
        old,
        proof,
        checkpoint: rest,
    })
}

impl Witness {
    /// A witness signing with `cosigner` for `logs`, remembering in
    /// `state_path` (loaded if it exists).
    ///
    /// # Errors
    /// [`AuditError::State`] for an unreadable or invalid state file or a
    /// log key that is not a log key (type 0x01).
    pub fn open(
        cosigner: Cosigner,
        logs: Vec<VerifierKey>,
        state_path: &Path,
    ) -> Result<Self, AuditError> {
        let state = match std::fs::read(state_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| AuditError::state(state_path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => WitnessState::default(),
            Err(e) => return Err(AuditError::state(state_path, e)),
        };
        Ok(Self {
            cosigner,
            logs,
            state_path: state_path.to_owned(),
            state: Mutex::new(state),
        })
    }

    /// The witness's verifier key (type 0x04), for policies.
    #[must_use]
    pub fn verifier(&self) -> VerifierKey {
        self.cosigner.verifier()
    }

    /// Handles one `POST /add-checkpoint` body; `now` is the Unix time in
    /// seconds for the cosignature's timestamp.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Answer {
        let Some(req) = parse_request(body) else {
            return Answer::text(400, "malformed add-checkpoint request");
        };
        let Ok(note) = Note::parse(req.checkpoint) else {
            return Answer::text(400, "malformed checkpoint note");
        };
        let Ok(cp) = Checkpoint::parse(note.text().as_bytes()) else {
            return Answer::text(400, "malformed checkpoint");
        };
        let Some(key) = self.logs.iter().find(|k| k.name().as_str() == cp.origin()) else {
            return Answer::text(404, "unknown log");
        };
        if open_checkpoint(req.checkpoint, key, &[]).is_err() {
            return Answer::text(403, "the log's signature does not verify");
        }
        if req.old > cp.size() {
            return Answer::text(400, "old size is above the checkpoint size");
        }
        // Holding the lock across the durable write serializes requests:
        // two checkpoints of one log are never both accepted from one state.
        let Ok(mut state) = self.state.lock() else {
            return Answer::text(500, "internal error");
        };
        let (size, root) = match state.logs.get(cp.origin()) {
            Some(s) => match Hash::from_base64(&s.root) {
                Ok(r) => (s.size, r),
                Err(_) => return Answer::text(500, "internal error"),
            },
            None => (0, empty_root()),
        };
        let conflict = || Answer {
            status: 409,
            content_type: "text/x.tlog.size",
            body: format!("{size}\n").into_bytes(),
        };
        if req.old != size {
            return conflict();
        }
        if cp.size() == size && cp.root() != root {
            return conflict();
        }
        if verify_consistency(size, cp.size(), &req.proof, &root, &cp.root()).is_err() {
            return Answer::text(422, "the consistency proof does not verify");
        }
        let mut next = state.clone();
        next.logs.insert(
            cp.origin().to_owned(),
            LogState {
                size: cp.size(),
                root: cp.root().to_base64(),
            },
        );
        let bytes = match serde_json::to_vec_pretty(&next) {
            Ok(b) => b,
            Err(_) => return Answer::text(500, "internal error"),
        };
        if write_atomic(&self.state_path, &bytes).is_err() {
            // Not durable: do not cosign.
            return Answer::text(500, "cannot persist the witness state");
        }
        *state = next;
        drop(state);
        match self.cosigner.cosign(note.text(), now) {
            Ok(sig) => Answer {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: sig.to_line().into_bytes(),
            },
            Err(_) => Answer::text(500, "cannot cosign"),
        }
    }

    /// Serves `POST /add-checkpoint` on `server` until it is unblocked.
    pub fn serve(&self, server: &tiny_http::Server) {
        for mut request in server.incoming_requests() {
            let answer = if request.url() != "/add-checkpoint" {
                Answer::text(404, "not found")
            } else if *request.method() != tiny_http::Method::Post {
                Answer::text(405, "use POST")
            } else {
                let mut body = Vec::new();
                let reader = std::io::Read::take(request.as_reader(), MAX_BODY as u64 + 1);
                match std::io::Read::read_to_end(&mut { reader }, &mut body) {
                    Ok(_) if body.len() <= MAX_BODY => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        self.add_checkpoint(&body, now)
                    }
                    Ok(_) => Answer::text(413, "request too large"),
                    Err(_) => Answer::text(400, "cannot read the request"),
                }
            };
            let header = tiny_http::Header::from_bytes("Content-Type", answer.content_type)
                .unwrap_or_else(|()| {
                    // Both are fixed ASCII strings: this cannot fail.
                    tiny_http::Header::from_bytes("Content-Type", "text/plain")
                        .unwrap_or_else(|()| unreachable!("a valid header"))
                });
            let response = tiny_http::Response::from_data(answer.body)
                .with_status_code(answer.status)
                .with_header(header);
            // A client that went away is not the witness's problem.
            let _ = request.respond(response);
        }
    }
}

/// The request body a log (or a test) sends: `old`, the proof, a blank line
/// and the signed checkpoint.
#[must_use]
pub fn request_body(old: u64, proof: &[Hash], signed_checkpoint: &[u8]) -> Vec<u8> {
    let mut body = format!("old {old}\n").into_bytes();
    for h in proof {
        body.extend_from_slice(h.to_base64().as_bytes());
        body.push(b'\n');
    }
    body.push(b'\n');
    body.extend_from_slice(signed_checkpoint);
    body
}

#[cfg(test)]
mod tests {
    use minhbach_ledger::checkpoint::{add_cosignatures, sign_checkpoint};
    use minhbach_ledger::cosignature::Cosigner;
    use minhbach_ledger::log::Log;
    use minhbach_ledger::note::{KeyName, NoteSignature, Signer};
    use minhbach_ledger::store::memory::MemoryStore;

    use super::*;

    struct Fixture {
        signer: Signer,
        log: Log<MemoryStore>,
        checkpoints: Vec<Vec<u8>>,
    }

    impl Fixture {
        fn new(seed: u8) -> Self {
            let signer = Signer::new(
                KeyName::new("witness.test/log").unwrap(),
                ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
            );
            Self {
                signer,
                log: Log::open(MemoryStore::new()).unwrap(),
                checkpoints: Vec::new(),
            }
        }
        fn grow(&mut self, n: usize, tag: &str) -> Vec<u8> {
            let leaves: Vec<Vec<u8>> = (0..n)
                .map(|i| format!("{tag}{}-{i}", self.log.size()).into_bytes())
                .collect();
            let signer = &self.signer;
            let out = self
                .log
                .append(&leaves, &[], |size, root| {
                    sign_checkpoint(
                        &Checkpoint::new("witness.test/log", size, *root, vec![]).unwrap(),
                        signer,
                    )
                })
                .unwrap();
            self.checkpoints.push(out.checkpoint.clone());
            out.checkpoint
        }
    }

    fn witness(dir: &Path, log: &Fixture) -> Witness {
        let cosigner = Cosigner::new(
            KeyName::new("witness.test/w1").unwrap(),
            ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        );
        Witness::open(cosigner, vec![log.signer.verifier()], &dir.join("w.json")).unwrap()
    }

    #[test]
    fn cosigns_a_consistent_history_and_refuses_a_fork_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Fixture::new(1);
        let w = witness(dir.path(), &a);
        let cp1 = a.grow(10, "a");
        let ans = w.add_checkpoint(&request_body(0, &[], &cp1), 1_700_000_000);
        assert_eq!(ans.status, 200, "{}", String::from_utf8_lossy(&ans.body));
        // The cosignature verifies under the witness's key.
        let line =
            NoteSignature::parse_line(String::from_utf8(ans.body).unwrap().trim_end()).unwrap();
        let cosigned = add_cosignatures(&cp1, &[line]).unwrap();
        let opened = open_checkpoint(&cosigned, &a.signer.verifier(), &[w.verifier()]).unwrap();
        assert_eq!(opened.cosignatures().len(), 1);
        assert_eq!(opened.cosignatures()[0].timestamp, 1_700_000_000);

        let cp2 = a.grow(7, "a");
        let proof = a.log.consistency_proof(10, 17).unwrap();
        assert_eq!(
            w.add_checkpoint(&request_body(10, &proof, &cp2), 1).status,
            200
        );
        // Stale `old`: 409 with the witness's size.
        let stale = w.add_checkpoint(&request_body(10, &proof, &cp2), 1);
        assert_eq!(
            (stale.status, stale.content_type, stale.body.as_slice()),
            (409, "text/x.tlog.size", &b"17\n"[..])
        );

        // A fork: the same key, the same first 10 leaves, then others.
        let mut b = Fixture::new(1);
        b.grow(10, "a");
        let fork = b.grow(9, "b");
        // The fork's own proof from 17 to 19 links its 17 leaves, not the
        // witness's.
        let bad = b.log.consistency_proof(17, 19).unwrap();
        let ans = w.add_checkpoint(&request_body(17, &bad, &fork), 2);
        assert_eq!(ans.status, 422);
        // A fork at the same size: 409.
        let mut c = Fixture::new(1);
        c.grow(10, "a");
        let same_size = c.grow(7, "c");
        let ans = w.add_checkpoint(&request_body(17, &[], &same_size), 2);
        assert_eq!(ans.status, 409);

        // Restart: the state is reloaded from disk and still refuses.
        drop(w);
        let w = witness(dir.path(), &a);
        assert_eq!(
            w.add_checkpoint(&request_body(17, &bad, &fork), 3).status,
            422
        );
        assert_eq!(
            w.add_checkpoint(&request_body(17, &[], &same_size), 3)
                .status,
            409
        );
        assert_eq!(
            w.add_checkpoint(&request_body(17, &[], &cp2), 3).status,
            200
        );
    }

    #[test]
    fn refuses_unknown_logs_bad_signatures_and_malformed_requests() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Fixture::new(1);
        let w = witness(dir.path(), &a);
        let cp = a.grow(3, "a");
        // Another key under the same origin: the signature does not verify.
        let mut other = Fixture::new(2);
        let forged = other.grow(3, "a");
        assert_eq!(
            w.add_checkpoint(&request_body(0, &[], &forged), 1).status,
            403
        );
        // An unknown origin.
        let stranger = Signer::new(
            KeyName::new("other.test/log").unwrap(),
            ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
        );
        let unknown = sign_checkpoint(
            &Checkpoint::new("other.test/log", 1, empty_root(), vec![]).unwrap(),
            &stranger,
        );
        assert_eq!(
            w.add_checkpoint(&request_body(0, &[], &unknown), 1).status,
            404
        );
        assert_eq!(w.add_checkpoint(b"old x\n\n", 1).status, 400);
        assert_eq!(w.add_checkpoint(b"old 01\n\n", 1).status, 400);
        assert_eq!(w.add_checkpoint(&request_body(4, &[], &cp), 1).status, 400);
        // Nothing was written by any refusal.
        assert!(!dir.path().join("w.json").exists());
        assert_eq!(w.add_checkpoint(&request_body(0, &[], &cp), 1).status, 200);
        assert!(dir.path().join("w.json").exists());
    }
}
