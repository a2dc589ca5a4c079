//! Witnesses, the log's side of C2SP tlog-witness
//! (<https://c2sp.org/tlog-witness>): which witnesses to ask, how many
//! cosignatures a checkpoint needs before it is published, and the reading
//! of a witness's answer. The `add-checkpoint` request body and its limits
//! are the core's ([`minhbach_ledger::witness`]), shared with the witness.
//!
//! Nothing a witness sends is trusted: a `200` answer counts only for a
//! cosignature line (C2SP tlog-cosignature, `cosignature/v1`) by the
//! witness's configured key that verifies over the very checkpoint that was
//! sent ([`parse_answer`]). Lines from other keys are ignored, as the spec
//! asks.
//!
//! What this module does **not** do: decide when to ask, remember what each
//! witness cosigned, or publish (the server's publisher does, after each commit). The HTTP call
//! ([`WitnessClient::add_checkpoint`]) blocks; callers run it off the async
//! workers.

use std::fmt;
use std::io::Read as _;
use std::str::FromStr;
use std::time::Duration;

use minhbach_ledger::note::{
    NoteError, NoteSignature, NoteVerifier as _, SignatureType, VerifierKey,
};

/// How long one `add-checkpoint` request may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read from a witness, in bytes.
pub const MAX_ANSWER: u64 = 64 * 1024;

/// A witness configuration that cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessConfigError {
    /// The verifier key does not parse.
    #[error("witness key {key:?}: {source}")]
    BadKey {
        /// The key as given.
        key: String,
        /// Why it does not parse.
        source: NoteError,
    },
    /// The URL is not an `http://` or `https://` URL.
    #[error("witness URL {url:?}: expected http://… or https://…")]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// Two witnesses share a key name or a public key.
    #[error("witness {name} is configured twice")]
    Duplicate {
        /// The key name.
        name: String,
    },
    /// A `URL=KEY` argument without `=KEY`.
    #[error("expected URL=VERIFIER_KEY, got {given:?}")]
    MissingKey {
        /// The argument.
        given: String,
    },
    /// More cosignatures are required than witnesses are configured.
    #[error("{required} cosignatures required but only {witnesses} witnesses configured")]
    QuorumTooLarge {
        /// The quorum asked for.
        required: usize,
        /// The witnesses configured.
        witnesses: usize,
    },
    /// The key is not a cosignature key (type `0x04`).
    #[error("witness key {name} is not a cosignature key (type 0x04)")]
    WrongKeyType {
        /// The key name.
        name: String,
    },
    /// A timeout of zero.
    #[error("the witness timeout must be above zero")]
    ZeroTimeout,
}

/// One witness: where its `add-checkpoint` is, and the key its cosignatures
/// must verify under (a C2SP signed-note verifier key of type `0x04`, whose
/// name is the witness's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessSpec {
    url: String,
    verifier: VerifierKey,
}

impl WitnessSpec {
    /// A witness at `url` (its submission prefix: requests go to
    /// `<url>/add-checkpoint`) whose cosignatures verify under `verifier`.
    ///
    /// # Errors
    /// [`WitnessConfigError::BadUrl`] and [`WitnessConfigError::WrongKeyType`].
    pub fn new(url: &str, verifier: VerifierKey) -> Result<Self, WitnessConfigError> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/'))
            || url.contains(char::is_whitespace)
        {
            return Err(WitnessConfigError::BadUrl {
                url: url.to_owned(),
            });
        }
        if verifier.sig_type() != SignatureType::CosignatureV1 {
            return Err(WitnessConfigError::WrongKeyType {
                name: verifier.name().as_str().to_owned(),
            });
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            verifier,
        })
    }

    /// Parses `URL=VERIFIER_KEY`, as `--witness` takes it. A verifier key
    /// never contains `=` (its base64 holds 33 bytes, no padding); a URL may,
    /// so the split is the first `=` after which a key parses.
    ///
    /// # Errors
    /// [`WitnessConfigError::MissingKey`], [`WitnessConfigError::BadKey`]
    /// (for the text after the last `=`) and those of [`WitnessSpec::new`].
    pub fn parse(s: &str) -> Result<Self, WitnessConfigError> {
        let mut last_error = None;
        for (at, _) in s.match_indices('=') {
            let (url, key) = (&s[..at], &s[at + 1..]);
            match VerifierKey::parse(key) {
                Ok(verifier) => return Self::new(url, verifier),
                Err(source) => {
                    last_error = Some(WitnessConfigError::BadKey {
                        key: key.to_owned(),
                        source,
                    });
                }
            }
        }
        Err(
            last_error.unwrap_or_else(|| WitnessConfigError::MissingKey {
                given: s.to_owned(),
            }),
        )
    }

    /// The submission prefix, without a trailing `/`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The witness's verifier key.
    #[must_use]
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The witness's name (its key's name).
    #[must_use]
    pub fn name(&self) -> &str {
        self.verifier.name().as_str()
    }
}

impl FromStr for WitnessSpec {
    type Err = WitnessConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for WitnessSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.url, self.verifier)
    }
}

/// Which witnesses the server asks, and how many must cosign a checkpoint
/// before it is published.
///
/// With `required == 0` (the default, and always when no witness is
/// configured) every committed checkpoint is published at once; the
/// cosignatures that witnesses return are added to it when they come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    witnesses: Vec<WitnessSpec>,
    required: usize,
    timeout: Duration,
}

impl Default for WitnessPolicy {
    fn default() -> Self {
        Self {
            witnesses: Vec::new(),
            required: 0,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl WitnessPolicy {
    /// `witnesses`, of which `required` must cosign; each request may take
    /// up to `timeout`.
    ///
    /// # Errors
    /// [`WitnessConfigError::QuorumTooLarge`],
    /// [`WitnessConfigError::Duplicate`] (a key name or public key given
    /// twice) and [`WitnessConfigError::ZeroTimeout`].
    pub fn new(
        witnesses: Vec<WitnessSpec>,
        required: usize,
        timeout: Duration,
    ) -> Result<Self, WitnessConfigError> {
        if required > witnesses.len() {
            return Err(WitnessConfigError::QuorumTooLarge {
                required,
                witnesses: witnesses.len(),
            });
        }
        if timeout.is_zero() {
            return Err(WitnessConfigError::ZeroTimeout);
        }
        for (i, w) in witnesses.iter().enumerate() {
            let twice = witnesses[..i].iter().any(|o| {
                o.verifier.name() == w.verifier.name()
                    || o.verifier.public_key() == w.verifier.public_key()
            });
            if twice {
                return Err(WitnessConfigError::Duplicate {
                    name: w.name().to_owned(),
                });
            }
        }
        Ok(Self {
            witnesses,
            required,
            timeout,
        })
    }

    /// The witnesses, in the order given.
    #[must_use]
    pub fn witnesses(&self) -> &[WitnessSpec] {
        &self.witnesses
    }

    /// How many must cosign before a checkpoint is published.
    #[must_use]
    pub fn required(&self) -> usize {
        self.required
    }

    /// How long one request may take.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// A verified cosignature from a witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The signature line, ready to be added to the checkpoint.
    pub line: NoteSignature,
    /// When the witness signed (POSIX seconds).
    pub timestamp: u64,
}

/// What a witness answered, once understood.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// A blocking HTTP client of one witness (keep-alive connections, one
/// timeout per request).
pub struct WitnessClient {
    spec: WitnessSpec,
    endpoint: String,
    agent: ureq::Agent,
}

impl fmt::Debug for WitnessClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessClient")
            .field("witness", &self.spec.name())
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl WitnessClient {
    /// A client of `spec` whose requests each take at most `timeout`.
    #[must_use]
    pub fn new(spec: WitnessSpec, timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let endpoint = format!("{}/add-checkpoint", spec.url());
        Self {
            spec,
            endpoint,
            agent,
        }
    }

    /// The witness.
    #[must_use]
    pub fn spec(&self) -> &WitnessSpec {
        &self.spec
    }

    /// Sends `body` (see [`minhbach_ledger::witness::add_checkpoint_body`])
    /// for the checkpoint whose note text is `checkpoint_text`, and reads the
    /// answer. Blocks for up to the timeout.
    ///
    /// # Errors
    /// [`AnswerError::Transport`] when no answer came, and those of
    /// [`parse_answer`].
    pub fn add_checkpoint(
        &self,
        body: &[u8],
        checkpoint_text: &str,
    ) -> Result<Answer, AnswerError> {
        let transport = |e: &dyn fmt::Display| AnswerError::Transport {
            message: e.to_string(),
        };
        let response = self
            .agent
            .post(&self.endpoint)
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| transport(&e))?;
        if bytes.len() as u64 > MAX_ANSWER {
            return Err(AnswerError::Malformed {
                what: "the answer is too large",
            });
        }
        parse_answer(status, &bytes, checkpoint_text, self.spec.verifier())
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use minhbach_ledger::checkpoint::{Checkpoint, sign_checkpoint};
    use minhbach_ledger::cosignature::Cosigner;
    use minhbach_ledger::merkle::empty_root;
    use minhbach_ledger::note::{KeyName, Note, Signer};

    use super::*;

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

    #[test]
    fn witness_specs_parse_from_url_equals_key() {
        let w = cosigner("witness.example/w1", 11).verifier();
        let spec: WitnessSpec = format!("https://w.example/a/?x=y={w}").parse().unwrap();
        assert_eq!(spec.url(), "https://w.example/a/?x=y");
        assert_eq!(spec.verifier(), &w);
        assert_eq!(spec.name(), "witness.example/w1");
        let spec = WitnessSpec::parse(&format!("http://127.0.0.1:9/={w}")).unwrap();
        assert_eq!(spec.url(), "http://127.0.0.1:9");
        assert_eq!(spec.to_string(), format!("http://127.0.0.1:9={w}"));

        assert!(matches!(
            WitnessSpec::parse("http://w.example"),
            Err(WitnessConfigError::MissingKey { .. })
        ));
        assert!(matches!(
            WitnessSpec::parse("http://w.example=w1+00000000+AAAA"),
            Err(WitnessConfigError::BadKey { .. })
        ));
        assert!(matches!(
            WitnessSpec::parse(&format!("ftp://w.example={w}")),
            Err(WitnessConfigError::BadUrl { .. })
        ));
        assert!(matches!(
            WitnessSpec::parse(&format!("http://={w}")),
            Err(WitnessConfigError::BadUrl { .. })
        ));
        // A log key (type 0x01) is not a witness key.
        let log_key = Signer::new(
            KeyName::new("log.example").unwrap(),
            SigningKey::from_bytes(&[3; 32]),
        )
        .verifier();
        assert_eq!(
            WitnessSpec::parse(&format!("http://w.example={log_key}")),
            Err(WitnessConfigError::WrongKeyType {
                name: "log.example".into()
            })
        );
    }

    #[test]
    fn policies_check_the_quorum_duplicates_and_timeout() {
        let spec = |name: &str, seed: u8| {
            WitnessSpec::new("http://w.example", cosigner(name, seed).verifier()).unwrap()
        };
        let two = vec![spec("w1", 1), spec("w2", 2)];
        let p = WitnessPolicy::new(two.clone(), 2, DEFAULT_TIMEOUT).unwrap();
        assert_eq!((p.witnesses().len(), p.required()), (2, 2));
        assert_eq!(
            WitnessPolicy::new(two.clone(), 3, DEFAULT_TIMEOUT),
            Err(WitnessConfigError::QuorumTooLarge {
                required: 3,
                witnesses: 2
            })
        );
        assert_eq!(
            WitnessPolicy::new(two, 1, Duration::ZERO),
            Err(WitnessConfigError::ZeroTimeout)
        );
        // The same name twice, or the same public key under two names.
        assert!(matches!(
            WitnessPolicy::new(vec![spec("w1", 1), spec("w1", 2)], 1, DEFAULT_TIMEOUT),
            Err(WitnessConfigError::Duplicate { .. })
        ));
        assert!(matches!(
            WitnessPolicy::new(vec![spec("w1", 1), spec("w2", 1)], 1, DEFAULT_TIMEOUT),
            Err(WitnessConfigError::Duplicate { .. })
        ));
        assert_eq!(WitnessPolicy::default().required(), 0);
    }
}
