//! # minhbach-witness
//!
//! A C2SP tlog-witness (`POST /add-checkpoint`, <https://c2sp.org/tlog-witness>).
//!
//! It cosigns (C2SP tlog-cosignature) a checkpoint of a known log only if the
//! log's signature verifies and a consistency proof links it to the last
//! checkpoint it cosigned for that log. The request body, its limits and
//! those checks live in the ledger core ([`minhbach_ledger::witness`]); this
//! crate adds the transport and the state file. The state (per log: size and
//! root) is written durably (temporary file, fsync, rename, fsync of the
//! directory) **before** the witness answers, so a crash can never make it
//! cosign two inconsistent checkpoints.
//!
//! Answers (tlog-witness): 200 with the cosignature line; 400 for a
//! malformed request or an `old` size above the checkpoint's; 403 when the
//! log's signature does not verify; 404 for an unknown log; 409 with the
//! witness's size (`text/x.tlog.size`) when `old` is not that size, or when
//! the checkpoint has the witness's size but another root; 413 for a body
//! above [`MAX_BODY`]; 422 when the proof does not verify.
//!
//! What it does **not** do: it never links RocksDB, axum or the server, and
//! never logs keys.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minhbach_auditor::durable::write_atomic;
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::note::VerifierKey;
pub use minhbach_ledger::witness::MAX_BODY;
use minhbach_ledger::witness::{WitnessState, add_checkpoint};

/// The witness's state file cannot be read or is invalid.
#[derive(Debug, thiserror::Error)]
#[error("the state file {path} cannot be used: {message}")]
pub struct StateError {
    /// The state file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
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

impl Witness {
    /// A witness signing with `cosigner` for `logs`, remembering in
    /// `state_path` (loaded if it exists).
    ///
    /// # Errors
    /// [`StateError`] for an unreadable or invalid state file.
    pub fn open(
        cosigner: Cosigner,
        logs: Vec<VerifierKey>,
        state_path: &Path,
    ) -> Result<Self, StateError> {
        let error = |e: &dyn std::fmt::Display| StateError {
            path: state_path.to_owned(),
            message: e.to_string(),
        };
        let state = match std::fs::read(state_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| error(&e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => WitnessState::default(),
            Err(e) => return Err(error(&e)),
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
        // Holding the lock across the durable write serializes requests:
        // two checkpoints of one log are never both accepted from one state.
        let Ok(mut state) = self.state.lock() else {
            return Answer::text(500, "internal error");
        };
        let accepted = match add_checkpoint(body, &self.logs, &state, &self.cosigner, now) {
            Ok(a) => a,
            Err(e) => {
                return Answer {
                    status: e.status(),
                    content_type: e.content_type(),
                    body: e.body().into_bytes(),
                };
            }
        };
        let bytes = match serde_json::to_vec_pretty(&accepted.next) {
            Ok(b) => b,
            Err(_) => return Answer::text(500, "internal error"),
        };
        if write_atomic(&self.state_path, &bytes).is_err() {
            // Not durable: do not cosign.
            return Answer::text(500, "cannot persist the witness state");
        }
        *state = accepted.next;
        drop(state);
        Answer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: accepted.cosignature.to_line().into_bytes(),
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
                // One byte above the limit is enough for the core to refuse.
                let mut body = Vec::new();
                let reader = std::io::Read::take(request.as_reader(), MAX_BODY as u64 + 1);
                match std::io::Read::read_to_end(&mut { reader }, &mut body) {
                    Ok(_) => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        self.add_checkpoint(&body, now)
                    }
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

#[cfg(test)]
mod tests {
    use minhbach_ledger::checkpoint::{
        Checkpoint, add_cosignatures, open_checkpoint, sign_checkpoint,
    };
    use minhbach_ledger::log::Log;
    use minhbach_ledger::merkle::{Hash, empty_root};
    use minhbach_ledger::note::{KeyName, NoteSignature, Signer};
    use minhbach_ledger::store::memory::MemoryStore;
    use minhbach_ledger::witness::{MAX_PROOF_LINES, add_checkpoint_body};

    use super::*;

    fn request_body(old: u64, proof: &[Hash], signed_checkpoint: &[u8]) -> Vec<u8> {
        add_checkpoint_body(old, proof, signed_checkpoint).unwrap()
    }

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
        // The limits of the core: one proof line too many, one byte too many.
        let mut too_many = b"old 0\n".to_vec();
        for _ in 0..=MAX_PROOF_LINES {
            too_many.extend_from_slice(format!("{}\n", empty_root().to_base64()).as_bytes());
        }
        too_many.push(b'\n');
        too_many.extend_from_slice(&cp);
        assert_eq!(w.add_checkpoint(&too_many, 1).status, 400);
        let mut too_large = request_body(0, &[], &cp);
        too_large.resize(MAX_BODY + 1, b'\n');
        assert_eq!(w.add_checkpoint(&too_large, 1).status, 413);
        // Nothing was written by any refusal.
        assert!(!dir.path().join("w.json").exists());
        assert_eq!(w.add_checkpoint(&request_body(0, &[], &cp), 1).status, 200);
        assert!(dir.path().join("w.json").exists());
    }
}
