//! Witnesses, the log's side of C2SP tlog-witness
//! (<https://c2sp.org/tlog-witness>): which witnesses to ask, how many
//! cosignatures a checkpoint needs before it is published, and the HTTP
//! client that asks them. The wire format both ways (the `add-checkpoint`
//! request body and its limits, and the reading of a witness's answer,
//! [`parse_answer`]) is the core's ([`minhbach_ledger::witness`]), shared
//! with the witness that writes the answers.
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

use minhbach_ledger::note::{NoteError, SignatureType, VerifierKey};

pub use minhbach_ledger::witness::{Answer, AnswerError, Cosigned, MAX_ANSWER, parse_answer};

/// How long one `add-checkpoint` request may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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
    use minhbach_ledger::cosignature::Cosigner;
    use minhbach_ledger::note::{KeyName, Signer};

    use super::*;

    fn cosigner(name: &str, seed: u8) -> Cosigner {
        Cosigner::new(
            KeyName::new(name).unwrap(),
            SigningKey::from_bytes(&[seed; 32]),
        )
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
