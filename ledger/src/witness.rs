//! The C2SP tlog-witness `add-checkpoint` call (<https://c2sp.org/tlog-witness>),
//! written once for both sides: the request body a log sends and its limits
//! ([`add_checkpoint_body`], [`AddCheckpoint::parse`]), and the witness's
//! checks ([`add_checkpoint`]) with the answer each refusal maps to
//! ([`WitnessError::status`]), and the log's reading of that answer
//! ([`parse_answer`]: a cosignature that must verify, a conflict's size, a
//! refusal).
//!
//! The request body is `old <size>`, one base64 line per consistency proof
//! hash (at most [`MAX_PROOF_LINES`]), an empty line, then the signed
//! checkpoint as it is.
//!
//! What this module does **not** do: transport and persistence. The witness
//! server reads the body, holds its state under a lock, writes the next state
//! durably **before** it answers with the cosignature [`add_checkpoint`]
//! returned, and answers each [`WitnessError`] with its status. The log's
//! client sends the body and hands the answer's status and bytes to
//! [`parse_answer`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::checkpoint::{Checkpoint, open_checkpoint};
use crate::cosignature::Cosigner;
use crate::merkle::{Hash, empty_root, verify_consistency};
use crate::note::{Note, NoteSignature, NoteVerifier as _, VerifierKey};

/// The most consistency proof lines a request may carry: a client must not
/// send more (tlog-witness), and a witness refuses more.
pub const MAX_PROOF_LINES: usize = 63;

/// The largest request body, in bytes: a witness refuses a larger one
/// (`413`), and a client never builds one.
pub const MAX_BODY: usize = 64 * 1024;

/// The content type of a `409` answer, whose body is the witness's size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a request is refused (or, for the last two, cannot be answered).
/// [`WitnessError::status`] gives the HTTP status, the `Display` text the
/// body (except for [`WitnessError::Conflict`]: see [`WitnessError::body`]).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessError {
    /// The body is larger than [`MAX_BODY`] (`413`).
    #[error("request too large")]
    TooLarge,
    /// The body is not `old`, proof lines, an empty line and a note, or
    /// carries more than [`MAX_PROOF_LINES`] proof lines (`400`).
    #[error("malformed add-checkpoint request")]
    Malformed,
    /// The checkpoint is not a signed note (`400`).
    #[error("malformed checkpoint note")]
    MalformedNote,
    /// The note's text is not a checkpoint (`400`).
    #[error("malformed checkpoint")]
    MalformedCheckpoint,
    /// No configured log has the checkpoint's origin (`404`).
    #[error("unknown log")]
    UnknownLog,
    /// The log's signature does not verify (`403`).
    #[error("the log's signature does not verify")]
    BadSignature,
    /// `old` is above the checkpoint's size (`400`).
    #[error("old size is above the checkpoint size")]
    OldAboveSize,
    /// `old` is not the size the witness holds, or the checkpoint has that
    /// size but another root (`409`, the body is the witness's size).
    #[error("the witness holds size {size}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned.
        size: u64,
    },
    /// The consistency proof does not verify (`422`).
    #[error("the consistency proof does not verify")]
    BadProof,
    /// The witness's own state holds a root that does not decode (`500`).
    #[error("internal error")]
    CorruptState,
    /// The cosigner cannot sign at this time (`500`).
    #[error("cannot cosign")]
    CannotCosign,
}

impl WitnessError {
    /// The HTTP status of the answer (tlog-witness).
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge => 413,
            Self::Malformed
            | Self::MalformedNote
            | Self::MalformedCheckpoint
            | Self::OldAboveSize => 400,
            Self::UnknownLog => 404,
            Self::BadSignature => 403,
            Self::Conflict { .. } => 409,
            Self::BadProof => 422,
            Self::CorruptState | Self::CannotCosign => 500,
        }
    }

    /// The content type of the answer.
    #[must_use]
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Conflict { .. } => SIZE_CONTENT_TYPE,
            _ => "text/plain; charset=utf-8",
        }
    }

    /// The body of the answer: for a conflict the witness's size in decimal,
    /// otherwise the explanation; a newline after either.
    #[must_use]
    pub fn body(&self) -> String {
        match self {
            Self::Conflict { size } => format!("{size}\n"),
            other => format!("{other}\n"),
        }
    }
}

/// An `add-checkpoint` request body, parsed (nothing verified yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint<'a> {
    /// The size of the previous checkpoint the client believes the witness
    /// holds.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, as sent.
    pub checkpoint: &'a [u8],
}

impl<'a> AddCheckpoint<'a> {
    /// Parses a request body.
    ///
    /// # Errors
    /// [`WitnessError::TooLarge`] above [`MAX_BODY`] bytes, and
    /// [`WitnessError::Malformed`] for anything but `old <size>` (decimal,
    /// no leading zero), at most [`MAX_PROOF_LINES`] base64 hash lines and
    /// an empty line, each ending in a newline.
    pub fn parse(body: &'a [u8]) -> Result<Self, WitnessError> {
        if body.len() > MAX_BODY {
            return Err(WitnessError::TooLarge);
        }
        let mut rest = body;
        let mut line = || -> Result<&'a [u8], WitnessError> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or(WitnessError::Malformed)?;
            let (l, r) = rest.split_at(end);
            rest = &r[1..];
            Ok(l)
        };
        let first = std::str::from_utf8(line()?).map_err(|_| WitnessError::Malformed)?;
        let old = first.strip_prefix("old ").ok_or(WitnessError::Malformed)?;
        if old.is_empty()
            || !old.bytes().all(|b| b.is_ascii_digit())
            || (old.len() > 1 && old.starts_with('0'))
        {
            return Err(WitnessError::Malformed);
        }
        let old: u64 = old.parse().map_err(|_| WitnessError::Malformed)?;
        let mut proof = Vec::new();
        loop {
            let l = line()?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessError::Malformed);
            }
            let text = std::str::from_utf8(l).map_err(|_| WitnessError::Malformed)?;
            proof.push(Hash::from_base64(text).map_err(|_| WitnessError::Malformed)?);
        }
        Ok(Self {
            old,
            proof,
            checkpoint: rest,
        })
    }
}

/// Why a log cannot build a request body.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The proof has more than [`MAX_PROOF_LINES`] hashes.
    #[error(
        "a consistency proof of {lines} hashes is above the {MAX_PROOF_LINES} a witness accepts"
    )]
    TooManyProofLines {
        /// The proof's length.
        lines: usize,
    },
    /// The body would be larger than [`MAX_BODY`] bytes.
    #[error("an add-checkpoint body of {size} bytes is above the {MAX_BODY} a witness accepts")]
    TooLarge {
        /// The body's size.
        size: usize,
    },
}

/// The `add-checkpoint` request body: `old <old>`, one base64 line per hash
/// of `proof`, an empty line, then `signed_checkpoint` as it is.
///
/// The proof must be the RFC 6962 consistency proof from `old` to the
/// checkpoint's size: empty when `old` is 0 or the checkpoint's size.
///
/// # Errors
/// [`BodyError`] when a witness would refuse the body for its size: the
/// limits are those [`AddCheckpoint::parse`] enforces.
pub fn add_checkpoint_body(
    old: u64,
    proof: &[Hash],
    signed_checkpoint: &[u8],
) -> Result<Vec<u8>, BodyError> {
    if proof.len() > MAX_PROOF_LINES {
        return Err(BodyError::TooManyProofLines { lines: proof.len() });
    }
    let mut body = format!("old {old}\n").into_bytes();
    for h in proof {
        body.extend_from_slice(h.to_base64().as_bytes());
        body.push(b'\n');
    }
    body.push(b'\n');
    body.extend_from_slice(signed_checkpoint);
    if body.len() > MAX_BODY {
        return Err(BodyError::TooLarge { size: body.len() });
    }
    Ok(body)
}

/// What a witness remembers of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// The size of the last checkpoint cosigned.
    pub size: u64,
    /// Its root (base64).
    pub root: String,
}

/// A witness's state: per origin, the last checkpoint cosigned. Its JSON
/// form is the witness's state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// Per log origin.
    pub logs: BTreeMap<String, LogState>,
}

/// A checkpoint the witness accepts: the state to persist, then the
/// cosignature to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The state with the checkpoint recorded. The witness must persist it
    /// before it answers.
    pub next: WitnessState,
    /// The cosignature line (C2SP tlog-cosignature) over the checkpoint.
    pub cosignature: NoteSignature,
}

/// The witness's side of `add-checkpoint`: checks `body` against the
/// trusted `logs` and the witness's `state`, and cosigns with `cosigner` at
/// `now` (Unix seconds) only a checkpoint of a known log whose signature
/// verifies and that a consistency proof links to the last one cosigned for
/// that log (tlog-witness, in that order: 400, 404, 403, 400, 409, 422).
///
/// The caller must hold `state` exclusively from this call until it has
/// persisted [`Accepted::next`], so that two checkpoints of one log are never
/// both accepted from one state.
///
/// # Errors
/// A [`WitnessError`], whose [`WitnessError::status`] is the answer.
pub fn add_checkpoint(
    body: &[u8],
    logs: &[VerifierKey],
    state: &WitnessState,
    cosigner: &Cosigner,
    now: u64,
) -> Result<Accepted, WitnessError> {
    let req = AddCheckpoint::parse(body)?;
    let note = Note::parse(req.checkpoint).map_err(|_| WitnessError::MalformedNote)?;
    let cp =
        Checkpoint::parse(note.text().as_bytes()).map_err(|_| WitnessError::MalformedCheckpoint)?;
    let key = logs
        .iter()
        .find(|k| k.name().as_str() == cp.origin())
        .ok_or(WitnessError::UnknownLog)?;
    if open_checkpoint(req.checkpoint, key, &[]).is_err() {
        return Err(WitnessError::BadSignature);
    }
    if req.old > cp.size() {
        return Err(WitnessError::OldAboveSize);
    }
    let (size, root) = match state.logs.get(cp.origin()) {
        Some(s) => (
            s.size,
            Hash::from_base64(&s.root).map_err(|_| WitnessError::CorruptState)?,
        ),
        None => (0, empty_root()),
    };
    if req.old != size || (cp.size() == size && cp.root() != root) {
        return Err(WitnessError::Conflict { size });
    }
    if verify_consistency(size, cp.size(), &req.proof, &root, &cp.root()).is_err() {
        return Err(WitnessError::BadProof);
    }
    let cosignature = cosigner
        .cosign(note.text(), now)
        .map_err(|_| WitnessError::CannotCosign)?;
    let mut next = state.clone();
    next.logs.insert(
        cp.origin().to_owned(),
        LogState {
            size: cp.size(),
            root: cp.root().to_base64(),
        },
    );
    Ok(Accepted { next, cosignature })
}

// The witness's answer, as its client reads it (C2SP tlog-witness).

/// The largest answer a client reads from a witness, in bytes.
pub const MAX_ANSWER: u64 = 64 * 1024;

/// A verified cosignature from a witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The signature line, ready to be added to the checkpoint.
    pub line: NoteSignature,
    /// When the witness signed (POSIX seconds).
    pub timestamp: u64,
}

/// What a witness answered, once understood: every answer C2SP
/// tlog-witness gives a checkpoint (the client matches them all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `409 Conflict` naming the size of the latest checkpoint the witness
    /// cosigned: the request's `old` was not it (or, when it is, the
    /// checkpoint has that size but another root).
    Conflict {
        /// The witness's size.
        size: u64,
    },
    /// `200` with a cosignature by the witness's key that verifies.
    Cosigned(Cosigned),
    /// Another `4xx`: the witness will not cosign this checkpoint (400
    /// malformed, 403 the log's signature does not verify for it, 404 it
    /// does not know the log, 422 the consistency proof does not verify).
    Refused {
        /// The status.
        status: u16,
        /// The start of the witness's explanation, if it gave one.
        reason: String,
    },
}

/// A witness answer that cannot be used, or no answer at all.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerError {
    /// A line by the witness's key does not verify over the checkpoint sent:
    /// a forged, corrupted or misdirected cosignature.
    #[error("the witness's cosignature does not verify over the checkpoint")]
    InvalidCosignature,
    /// The body is not what the status promises.
    #[error("malformed answer: {what}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
    },
    /// A `200` without any line by the witness's configured key (a wrong key
    /// configured, or a witness that signs with another one).
    #[error("no cosignature by the configured key {name}")]
    NoCosignature {
        /// The configured key's name.
        name: String,
    },
    /// A status the protocol does not give for a checkpoint (5xx, 3xx…).
    #[error("HTTP status {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// No answer: connection refused, reset, timed out, or an unreadable
    /// body.
    #[error("transport: {message}")]
    Transport {
        /// What went wrong.
        message: String,
    },
}

impl AnswerError {
    /// The `result` label of the witness metrics: `invalid` for an answer
    /// that came but cannot be used, `error` for none.
    #[must_use]
    pub fn metric(&self) -> &'static str {
        match self {
            Self::InvalidCosignature | Self::Malformed { .. } | Self::NoCosignature { .. } => {
                "invalid"
            }
            Self::Status { .. } | Self::Transport { .. } => "error",
        }
    }
}

/// Understands a witness's answer to an `add-checkpoint` request for the
/// checkpoint whose note text (the body above the signatures, with its final
/// newline) is `checkpoint_text`, from the witness whose key is `witness`.
///
/// A `200` body must be signature lines only, each ending in a newline;
/// lines by other keys are ignored; a line by `witness`'s key must verify
/// (tlog-cosignature, `cosignature/v1`) over `checkpoint_text`. A `409` body
/// must be a decimal size and a newline.
///
/// # Errors
/// [`AnswerError::InvalidCosignature`], [`AnswerError::NoCosignature`],
/// [`AnswerError::Malformed`] and, for statuses outside 200 and 4xx,
/// [`AnswerError::Status`].
pub fn parse_answer(
    status: u16,
    body: &[u8],
    checkpoint_text: &str,
    witness: &VerifierKey,
) -> Result<Answer, AnswerError> {
    match status {
        200 => parse_cosignatures(body, checkpoint_text, witness).map(Answer::Cosigned),
        409 => parse_size(body).map(|size| Answer::Conflict { size }),
        400..=499 => Ok(Answer::Refused {
            status,
            reason: reason(body),
        }),
        _ => Err(AnswerError::Status { status }),
    }
}

fn parse_cosignatures(
    body: &[u8],
    checkpoint_text: &str,
    witness: &VerifierKey,
) -> Result<Cosigned, AnswerError> {
    let text = std::str::from_utf8(body).map_err(|_| AnswerError::Malformed {
        what: "the cosignatures are not UTF-8",
    })?;
    let Some(lines) = text.strip_suffix('\n') else {
        return Err(AnswerError::Malformed {
            what: "no signature line ending in a newline",
        });
    };
    let mut found = None;
    for line in lines.split('\n') {
        let sig = NoteSignature::parse_line(line).map_err(|_| AnswerError::Malformed {
            what: "a line is not a note signature",
        })?;
        if sig.name() != witness.name() || sig.key_id() != witness.key_id() {
            continue;
        }
        if !witness.verify(checkpoint_text, sig.signature()) {
            return Err(AnswerError::InvalidCosignature);
        }
        if found.is_none() {
            // A verified type-0x04 signature always carries its timestamp.
            let timestamp = witness
                .timestamp(sig.signature())
                .ok_or(AnswerError::InvalidCosignature)?;
            found = Some(Cosigned {
                line: sig,
                timestamp,
            });
        }
    }
    found.ok_or_else(|| AnswerError::NoCosignature {
        name: witness.name().as_str().to_owned(),
    })
}

fn parse_size(body: &[u8]) -> Result<u64, AnswerError> {
    let bad = AnswerError::Malformed {
        what: "a 409 body is not a decimal size and a newline",
    };
    let digits = body.strip_suffix(b"\n").ok_or(bad.clone())?;
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits.len() > 1 && digits[0] == b'0')
    {
        return Err(bad);
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(bad)
}

/// The first line of a refusal's body, short and printable, for logs.
fn reason(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::checkpoint::{add_cosignatures, sign_checkpoint};
    use crate::log::Log;
    use crate::note::{KeyName, Signer};
    use crate::store::memory::MemoryStore;

    fn signed(size: u64) -> Vec<u8> {
        let log = Signer::new(
            KeyName::new("witness.unit/log").unwrap(),
            SigningKey::from_bytes(&[1; 32]),
        );
        sign_checkpoint(
            &Checkpoint::new("witness.unit/log", size, empty_root(), vec![]).unwrap(),
            &log,
        )
    }

    #[test]
    fn the_body_is_old_size_proof_lines_blank_line_checkpoint_and_round_trips() {
        let cp = signed(5);
        let proof = [Hash([1; 32]), Hash([2; 32])];
        let body = add_checkpoint_body(3, &proof, &cp).unwrap();
        // Independent formatting of the same bytes.
        let expected = [
            b"old 3\n".as_slice(),
            format!("{}\n", proof[0].to_base64()).as_bytes(),
            format!("{}\n", proof[1].to_base64()).as_bytes(),
            b"\n",
            &cp,
        ]
        .concat();
        assert_eq!(body, expected);
        assert_eq!(
            AddCheckpoint::parse(&body).unwrap(),
            AddCheckpoint {
                old: 3,
                proof: proof.to_vec(),
                checkpoint: &cp,
            }
        );
        // Old size zero: no proof lines, and no leading zeroes anywhere.
        let body = add_checkpoint_body(0, &[], &cp).unwrap();
        assert!(body.starts_with(b"old 0\n\n"));
        assert_eq!(&body[7..], cp.as_slice());
        let parsed = AddCheckpoint::parse(&body).unwrap();
        assert_eq!((parsed.old, parsed.proof.len()), (0, 0));
        let body = add_checkpoint_body(u64::MAX, &[], &cp).unwrap();
        assert_eq!(AddCheckpoint::parse(&body).unwrap().old, u64::MAX);
    }

    #[test]
    fn the_encoder_and_the_parser_share_each_limit() {
        let cp = signed(5);
        // The most proof lines: built and accepted.
        let most = vec![Hash([7; 32]); MAX_PROOF_LINES];
        let body = add_checkpoint_body(1, &most, &cp).unwrap();
        assert_eq!(AddCheckpoint::parse(&body).unwrap().proof, most);
        // One more: never built, and refused when someone else builds it.
        let over = vec![Hash([7; 32]); MAX_PROOF_LINES + 1];
        assert_eq!(
            add_checkpoint_body(1, &over, &cp),
            Err(BodyError::TooManyProofLines {
                lines: MAX_PROOF_LINES + 1
            })
        );
        let mut by_hand = b"old 1\n".to_vec();
        for h in &over {
            by_hand.extend_from_slice(format!("{}\n", h.to_base64()).as_bytes());
        }
        by_hand.push(b'\n');
        by_hand.extend_from_slice(&cp);
        assert_eq!(AddCheckpoint::parse(&by_hand), Err(WitnessError::Malformed));
        assert_eq!(WitnessError::Malformed.status(), 400);

        // The largest body: built and accepted; one byte more: neither.
        let fill = MAX_BODY - add_checkpoint_body(1, &[], b"").unwrap().len();
        let body = add_checkpoint_body(1, &[], &vec![b'x'; fill]).unwrap();
        assert_eq!(body.len(), MAX_BODY);
        assert_eq!(AddCheckpoint::parse(&body).unwrap().checkpoint.len(), fill);
        assert_eq!(
            add_checkpoint_body(1, &[], &vec![b'x'; fill + 1]),
            Err(BodyError::TooLarge { size: MAX_BODY + 1 })
        );
        let mut too_large = body;
        too_large.push(b'x');
        assert_eq!(
            AddCheckpoint::parse(&too_large),
            Err(WitnessError::TooLarge)
        );
        assert_eq!(WitnessError::TooLarge.status(), 413);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let h = Hash([3; 32]).to_base64();
        for body in [
            &b""[..],
            b"old 1",
            b"old 1\n",
            b"old x\n\n",
            b"old 01\n\n",
            b"old \n\n",
            b"old -1\n\n",
            b"old +1\n\n",
            b"old 18446744073709551616\n\n",
            b"new 1\n\n",
            b"old  1\n\n",
            b"old 1\nnot base64!\n\n",
            b"old 1\nAAAA\n\n",
            &[b'o', b'l', b'd', b' ', 0xff, b'\n', b'\n'],
        ] {
            assert_eq!(
                AddCheckpoint::parse(body),
                Err(WitnessError::Malformed),
                "{body:?}"
            );
        }
        // A proof line without the empty line after it.
        assert_eq!(
            AddCheckpoint::parse(format!("old 1\n{h}\n").as_bytes()),
            Err(WitnessError::Malformed)
        );
    }

    #[test]
    fn each_refusal_maps_to_its_status_and_body() {
        let cases = [
            (WitnessError::TooLarge, 413),
            (WitnessError::Malformed, 400),
            (WitnessError::MalformedNote, 400),
            (WitnessError::MalformedCheckpoint, 400),
            (WitnessError::OldAboveSize, 400),
            (WitnessError::UnknownLog, 404),
            (WitnessError::BadSignature, 403),
            (WitnessError::Conflict { size: 17 }, 409),
            (WitnessError::BadProof, 422),
            (WitnessError::CorruptState, 500),
            (WitnessError::CannotCosign, 500),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e:?}");
            if status == 409 {
                assert_eq!(e.content_type(), "text/x.tlog.size");
                assert_eq!(e.body(), "17\n");
            } else {
                assert_eq!(e.content_type(), "text/plain; charset=utf-8");
                assert_eq!(e.body(), format!("{e}\n"));
            }
        }
        assert_eq!(
            WitnessError::BadProof.body(),
            "the consistency proof does not verify\n"
        );
    }

    struct Fixture {
        signer: Signer,
        log: Log<MemoryStore>,
    }

    impl Fixture {
        fn new(seed: u8) -> Self {
            Self {
                signer: Signer::new(
                    KeyName::new("witness.test/log").unwrap(),
                    SigningKey::from_bytes(&[seed; 32]),
                ),
                log: Log::open(MemoryStore::new()).unwrap(),
            }
        }
        fn grow(&mut self, n: usize, tag: &str) -> Vec<u8> {
            let leaves: Vec<Vec<u8>> = (0..n)
                .map(|i| format!("{tag}{}-{i}", self.log.size()).into_bytes())
                .collect();
            let signer = &self.signer;
            self.log
                .append(&leaves, &[], |size, root| {
                    sign_checkpoint(
                        &Checkpoint::new("witness.test/log", size, *root, vec![]).unwrap(),
                        signer,
                    )
                })
                .unwrap()
                .checkpoint
        }
    }

    fn cosigner() -> Cosigner {
        Cosigner::new(
            KeyName::new("witness.test/w1").unwrap(),
            SigningKey::from_bytes(&[9; 32]),
        )
    }

    #[test]
    fn the_witness_cosigns_a_consistent_history_and_refuses_forks() {
        let mut a = Fixture::new(1);
        let logs = [a.signer.verifier()];
        let w = cosigner();
        let cp1 = a.grow(10, "a");
        let body = add_checkpoint_body(0, &[], &cp1).unwrap();
        let ok = add_checkpoint(&body, &logs, &WitnessState::default(), &w, 1_700_000_000).unwrap();
        // The cosignature verifies under the witness's key.
        let cosigned = add_cosignatures(&cp1, &[ok.cosignature]).unwrap();
        let opened = open_checkpoint(&cosigned, &a.signer.verifier(), &[w.verifier()]).unwrap();
        assert_eq!(opened.cosignatures()[0].timestamp, 1_700_000_000);
        let state = ok.next;
        assert_eq!(state.logs["witness.test/log"].size, 10);

        let cp2 = a.grow(7, "a");
        let proof = a.log.consistency_proof(10, 17).unwrap();
        let body = add_checkpoint_body(10, &proof, &cp2).unwrap();
        let state2 = add_checkpoint(&body, &logs, &state, &w, 1).unwrap().next;
        assert_eq!(state2.logs["witness.test/log"].size, 17);
        // Stale `old`: 409 with the witness's size.
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::Conflict { size: 17 })
        );
        // `old` above the checkpoint's size.
        let body = add_checkpoint_body(18, &[], &cp2).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::OldAboveSize)
        );
        // A fork with its own proof: 422. A fork at the same size: 409.
        let mut b = Fixture::new(1);
        b.grow(10, "a");
        b.grow(7, "b");
        let fork = b.grow(2, "b");
        let bad = b.log.consistency_proof(17, 19).unwrap();
        let body = add_checkpoint_body(17, &bad, &fork).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::BadProof)
        );
        let mut c = Fixture::new(1);
        c.grow(10, "a");
        let same_size = c.grow(7, "c");
        let body = add_checkpoint_body(17, &[], &same_size).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::Conflict { size: 17 })
        );
        // The same checkpoint again: cosigned, the state unchanged.
        let body = add_checkpoint_body(17, &[], &cp2).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1).unwrap().next,
            state2
        );

        // Another key under the same origin, an unknown origin, a bad note,
        // a corrupt state.
        let forged = Fixture::new(2).grow(3, "a");
        let body = add_checkpoint_body(0, &[], &forged).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::BadSignature)
        );
        let body = add_checkpoint_body(0, &[], &signed(1)).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::UnknownLog)
        );
        let body = add_checkpoint_body(0, &[], b"not a note").unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, 1),
            Err(WitnessError::MalformedNote)
        );
        let mut corrupt = state2.clone();
        corrupt.logs.get_mut("witness.test/log").unwrap().root = "?".into();
        let body = add_checkpoint_body(17, &[], &cp2).unwrap();
        assert_eq!(
            add_checkpoint(&body, &logs, &corrupt, &w, 1),
            Err(WitnessError::CorruptState)
        );
        // A timestamp the cosignature cannot carry.
        assert_eq!(
            add_checkpoint(&body, &logs, &state2, &w, u64::MAX),
            Err(WitnessError::CannotCosign)
        );
    }
}

#[cfg(test)]
mod answer_tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::checkpoint::{Checkpoint, sign_checkpoint};
    use crate::cosignature::Cosigner;
    use crate::merkle::empty_root;
    use crate::note::{KeyName, Note, Signer};

    fn cosigner(name: &str, seed: u8) -> Cosigner {
        Cosigner::new(
            KeyName::new(name).unwrap(),
            SigningKey::from_bytes(&[seed; 32]),
        )
    }

    fn checkpoint(size: u64) -> (Vec<u8>, String) {
        let log = Signer::new(
            KeyName::new("witness.unit/log").unwrap(),
            SigningKey::from_bytes(&[1; 32]),
        );
        let cp = Checkpoint::new("witness.unit/log", size, empty_root(), vec![]).unwrap();
        let signed = sign_checkpoint(&cp, &log);
        let text = Note::parse(&signed).unwrap().text().to_owned();
        (signed, text)
    }

    #[test]
    fn a_valid_cosignature_is_taken_and_other_keys_lines_are_ignored() {
        let (_, text) = checkpoint(9);
        let w1 = cosigner("w1.unit", 11);
        let other = cosigner("other.unit", 12);
        let mine = w1.cosign(&text, 1_700_000_123).unwrap();
        let theirs = other.cosign(&text, 1_700_000_000).unwrap();
        let body = format!("{}{}", theirs.to_line(), mine.to_line());
        let answer = parse_answer(200, body.as_bytes(), &text, &w1.verifier()).unwrap();
        assert_eq!(
            answer,
            Answer::Cosigned(Cosigned {
                line: mine,
                timestamp: 1_700_000_123
            })
        );
    }

    #[test]
    fn cosignatures_that_do_not_verify_are_rejected() {
        let (_, text) = checkpoint(9);
        let w1 = cosigner("w1.unit", 11);
        let good = w1.cosign(&text, 1_700_000_123).unwrap().to_line();

        // One flipped bit in the signature.
        let sig = NoteSignature::parse_line(good.trim_end()).unwrap();
        let mut bytes = sig.signature().to_vec();
        bytes[20] ^= 1;
        let tampered = NoteSignature::new(sig.name().clone(), sig.key_id(), bytes)
            .unwrap()
            .to_line();
        assert_eq!(
            parse_answer(200, tampered.as_bytes(), &text, &w1.verifier()),
            Err(AnswerError::InvalidCosignature)
        );

        // A cosignature of another checkpoint (say, a fork of the same size).
        let (_, other_text) = checkpoint(10);
        let elsewhere = w1.cosign(&other_text, 1).unwrap().to_line();
        assert_eq!(
            parse_answer(200, elsewhere.as_bytes(), &text, &w1.verifier()),
            Err(AnswerError::InvalidCosignature)
        );

        // The same name, another key: its key ID differs, so it is not the
        // configured witness's line at all.
        let impostor = cosigner("w1.unit", 13).cosign(&text, 1).unwrap().to_line();
        assert_eq!(
            parse_answer(200, impostor.as_bytes(), &text, &w1.verifier()),
            Err(AnswerError::NoCosignature {
                name: "w1.unit".into()
            })
        );
        // A good line followed by a bad one by the same key: refused whole.
        let both = format!("{good}{tampered}");
        assert_eq!(
            parse_answer(200, both.as_bytes(), &text, &w1.verifier()),
            Err(AnswerError::InvalidCosignature)
        );
        assert_eq!(AnswerError::InvalidCosignature.metric(), "invalid");
    }

    #[test]
    fn garbage_is_malformed_and_never_a_cosignature() {
        let (_, text) = checkpoint(9);
        let w1 = cosigner("w1.unit", 11);
        let good = w1.cosign(&text, 5).unwrap().to_line();
        for body in [
            &b""[..],
            b"\n",
            b"hello\n",
            b"<html>ok</html>",
            good.trim_end().as_bytes(), // no final newline
            &[0xff, 0xfe, b'\n'],
        ] {
            let got = parse_answer(200, body, &text, &w1.verifier());
            assert!(
                matches!(got, Err(AnswerError::Malformed { .. })),
                "{body:?}: {got:?}"
            );
        }
        let with_garbage = format!("{good}garbage\n");
        assert!(matches!(
            parse_answer(200, with_garbage.as_bytes(), &text, &w1.verifier()),
            Err(AnswerError::Malformed { .. })
        ));
    }

    #[test]
    fn conflicts_refusals_and_errors() {
        let (_, text) = checkpoint(9);
        let key = cosigner("w1.unit", 11).verifier();
        assert_eq!(
            parse_answer(409, b"1234\n", &text, &key),
            Ok(Answer::Conflict { size: 1234 })
        );
        assert_eq!(
            parse_answer(409, b"0\n", &text, &key),
            Ok(Answer::Conflict { size: 0 })
        );
        for bad in [
            &b"12"[..],
            b"",
            b"\n",
            b"012\n",
            b"-1\n",
            b"1 2\n",
            b"99999999999999999999\n",
        ] {
            assert!(
                matches!(
                    parse_answer(409, bad, &text, &key),
                    Err(AnswerError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
        for status in [400, 403, 404, 422] {
            assert_eq!(
                parse_answer(
                    status,
                    b"the consistency proof does not verify\nmore\n",
                    &text,
                    &key
                ),
                Ok(Answer::Refused {
                    status,
                    reason: "the consistency proof does not verify".into()
                })
            );
        }
        for status in [301, 500, 502, 503] {
            let e = parse_answer(status, b"", &text, &key).unwrap_err();
            assert_eq!(e, AnswerError::Status { status });
            assert_eq!(e.metric(), "error");
        }
    }
}
