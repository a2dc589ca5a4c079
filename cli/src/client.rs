//! A small, typed HTTP client for the log's API (SPEC 8).
//!
//! Every call is one blocking request with a timeout. Answers are parsed into
//! the types below; an RFC 9457 problem answer becomes [`ClientError::Problem`]
//! with its stable `code`, so callers can explain it ([`crate::explain`]).
//!
//! What it does **not** do: trust the server. Receipts are verified offline
//! by the ledger ([`minhbach_ledger::receipt`]); this client only carries
//! bytes. It never sends private keys (it never sees one).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// An RFC 9457 problem answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The stable code (`duplicate`, `overspend`, ...).
    #[serde(default)]
    pub code: String,
    /// A short title.
    #[serde(default)]
    pub title: String,
    /// The HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Details about this occurrence.
    #[serde(default)]
    pub detail: Option<String>,
    /// For `duplicate`: the entry that already holds the statement.
    #[serde(default)]
    pub existing_index: Option<u64>,
}

/// Errors talking to the server.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server could not be reached or the connection failed.
    #[error("cannot reach {url}: {source}")]
    Network {
        /// The URL.
        url: String,
        /// The cause.
        source: Box<ureq::Error>,
    },
    /// The server answered with a problem.
    #[error("the server refused: {} ({})", .0.code, .0.title)]
    Problem(Problem),
    /// The answer is not what the API promises.
    #[error("unexpected answer from {url} (HTTP {status}): {problem}")]
    Unexpected {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        problem: String,
    },
}

/// A receipt as the API sends it (SPEC 4.5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Base64 of the leaf bytes.
    pub leaf: String,
    /// The `c2sp.org/tlog-proof@v1` text.
    pub proof: String,
}

/// The answer for one accepted envelope.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Accepted {
    /// Its entry index.
    pub index: u64,
    /// Base64 leaf hash.
    #[serde(default)]
    pub leaf_hash: String,
    /// The statement id.
    #[serde(default)]
    pub statement_id: String,
    /// The statement type.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// True when this very statement was already logged at `index`.
    #[serde(default)]
    pub existing: bool,
    /// With `wait=checkpoint`: the receipt bundle.
    #[serde(default)]
    pub receipt: Option<Receipt>,
}

/// One item of a batch answer: accepted, or a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemResult {
    /// Logged (or already logged).
    Accepted(Accepted),
    /// Refused.
    Refused(Problem),
}

/// The answers' shapes are the core's, shared with the server.
pub use minhbach_ledger::api::{DryRun, Entry, Key, Keys, Lookup};

/// A client of one server.
#[derive(Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `base` (e.g. `https://log.example`), with a
    /// global timeout per request.
    #[must_use]
    pub fn new(base: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// `POST /api/v1/entries` with a JSON array of envelopes (their JSON
    /// bytes), optionally waiting for a checkpoint. Returns one result per
    /// envelope, in order.
    ///
    /// # Errors
    /// [`ClientError`] when the whole request fails (network, a problem for
    /// the whole batch such as `too_large` or `rate_limited`, or a malformed
    /// answer).
    pub fn submit(
        &self,
        envelopes: &[Vec<u8>],
        wait: bool,
    ) -> Result<Vec<ItemResult>, ClientError> {
        let body = join_array(envelopes);
        let path = if wait {
            "/api/v1/entries?wait=checkpoint"
        } else {
            "/api/v1/entries"
        };
        let value = self.post(path, body)?;
        let results = value
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| self.unexpected(path, 200, "no `results` array"))?;
        if results.len() != envelopes.len() {
            return Err(self.unexpected(path, 200, "the number of results differs"));
        }
        results
            .iter()
            .map(|item| {
                if let Some(p) = item.get("problem") {
                    let p: Problem = serde_json::from_value(p.clone())
                        .map_err(|e| self.unexpected(path, 200, &e.to_string()))?;
                    Ok(ItemResult::Refused(p))
                } else {
                    serde_json::from_value(item.clone())
                        .map(ItemResult::Accepted)
                        .map_err(|e| self.unexpected(path, 200, &e.to_string()))
                }
            })
            .collect()
    }

    /// `POST /api/v1/entries?dry_run=true` with one envelope: checks the
    /// signatures and rules, logs nothing.
    ///
    /// # Errors
    /// [`ClientError::Problem`] when the envelope would be refused.
    pub fn dry_run(&self, envelope: &[u8]) -> Result<DryRun, ClientError> {
        let path = "/api/v1/entries?dry_run=true";
        let v = self.post(path, envelope.to_vec())?;
        serde_json::from_value(v).map_err(|e| self.unexpected(path, 200, &e.to_string()))
    }

    /// `GET /api/v1/keys`.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn keys(&self) -> Result<Keys, ClientError> {
        self.get_typed("/api/v1/keys")
    }

    /// `GET /api/v1/lookup?ref=REF` (a donation by external reference).
    ///
    /// # Errors
    /// [`ClientError::Problem`] with code `not_found` (or similar) if none.
    pub fn lookup_ref(&self, reference: &str) -> Result<Lookup, ClientError> {
        self.get_typed(&format!("/api/v1/lookup?ref={}", encode_query(reference)))
    }

    /// `GET /api/v1/entries/{index}`: the entry, its statement decoded.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn entry(&self, index: u64) -> Result<Entry, ClientError> {
        self.get_typed(&format!("/api/v1/entries/{index}"))
    }

    /// `GET /api/v1/receipts/{index}`: the receipt bundle's JSON bytes.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn receipt(&self, index: u64) -> Result<Vec<u8>, ClientError> {
        let v = self.get(&format!("/api/v1/receipts/{index}"))?;
        Ok(serde_json::to_vec_pretty(&v).unwrap_or_default())
    }

    /// `GET /api/v1/donations/{index}/trace`.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn trace(&self, index: u64) -> Result<minhbach_ledger::trace::Trace, ClientError> {
        self.get_typed(&format!("/api/v1/donations/{index}/trace"))
    }

    fn get_typed<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let v = self.get(path)?;
        serde_json::from_value(v).map_err(|e| self.unexpected(path, 200, &e.to_string()))
    }

    fn get(&self, path: &str) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.network(&url, e))?;
        self.answer(&url, response)
    }

    fn post(&self, path: &str, body: Vec<u8>) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(body.as_slice())
            .map_err(|e| self.network(&url, e))?;
        self.answer(&url, response)
    }

    fn answer(
        &self,
        url: &str,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> Result<Value, ClientError> {
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| self.network(url, e))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| ClientError::Unexpected {
            url: url.to_owned(),
            status,
            problem: "the answer is not JSON".into(),
        })?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        match serde_json::from_value::<Problem>(value) {
            Ok(mut p) if !p.code.is_empty() => {
                p.status = status;
                Err(ClientError::Problem(p))
            }
            _ => Err(ClientError::Unexpected {
                url: url.to_owned(),
                status,
                problem: "an error without a problem code".into(),
            }),
        }
    }

    fn network(&self, url: &str, e: ureq::Error) -> ClientError {
        ClientError::Network {
            url: url.to_owned(),
            source: Box::new(e),
        }
    }

    fn unexpected(&self, path: &str, status: u16, problem: &str) -> ClientError {
        ClientError::Unexpected {
            url: format!("{}{path}", self.base),
            status,
            problem: problem.to_owned(),
        }
    }
}

/// Joins JSON documents into one JSON array without re-encoding them (the
/// envelopes' bytes are sent exactly as signed and saved).
#[must_use]
pub fn join_array(items: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(items.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e);
    }
    body.push(b']');
    body
}

/// Percent-encodes a query value (everything but unreserved characters).
#[must_use]
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_encodes() {
        let body = join_array(&[b"{\"a\":1}".to_vec(), b"{}".to_vec()]);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, serde_json::json!([{"a":1},{}]));
        assert_eq!(join_array(&[]), b"[]");
        assert_eq!(encode_query("FT24 254/ả"), "FT24%20254%2F%E1%BA%A3");
    }

    #[test]
    fn an_unreachable_server_is_a_network_error() {
        // Port 9 on the loopback (discard) is closed on test machines.
        let c = Client::new("http://127.0.0.1:9/", Duration::from_secs(2));
        assert!(matches!(c.keys(), Err(ClientError::Network { .. })));
    }
}
