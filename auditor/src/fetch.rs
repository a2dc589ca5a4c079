//! The read-path client: fetches `/checkpoint`, hash tiles and entry bundles
//! (C2SP tlog-tiles) from a base URL, and nothing else, so a server, a mirror
//! or an object-storage copy behind a CDN can all be audited the same way.
//!
//! A base that does not start with `http://` or `https://` is a local
//! directory holding a copy of the read path (`checkpoint`, `tile/…`).
//!
//! Nothing fetched here is trusted: checkpoints are verified under a policy,
//! and tiles only ever feed proofs that are checked against a verified root
//! ([`crate::tiles`]).

use std::path::PathBuf;
use std::time::Duration;

use minhbach_ledger::tile::TilePath;
use thiserror::Error;

/// The largest body accepted: a full entry bundle of maximal leaves.
const MAX_BODY: u64 = 256 * (2 + 65_535) + 1024;

/// Why a fetch failed. These are network or I/O errors (exit code 2), never
/// verification failures.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with a status other than 200.
    #[error("GET {url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request could not be made or the body not read.
    #[error("GET {url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A local copy could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether the resource does not exist (HTTP 404 or a missing file).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 404,
            Self::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            Self::Transport { .. } => false,
        }
    }
}

enum Base {
    Dir(PathBuf),
    Http(String),
}

/// A client of one log's read path.
pub struct Fetcher {
    base: Base,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("base", &self.base())
            .finish()
    }
}

impl Fetcher {
    /// A client of the read path at `base` (`https://log.example/` or a
    /// directory). A trailing `/` is optional.
    #[must_use]
    pub fn new(base: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        let base = if base.starts_with("http://") || base.starts_with("https://") {
            Base::Http(base.trim_end_matches('/').to_owned())
        } else {
            Base::Dir(PathBuf::from(base))
        };
        Self { base, agent }
    }

    /// The base, as given.
    #[must_use]
    pub fn base(&self) -> String {
        match &self.base {
            Base::Dir(p) => p.display().to_string(),
            Base::Http(u) => u.clone(),
        }
    }

    /// Fetches `path` (relative to the base, no leading `/`).
    ///
    /// # Errors
    /// A [`FetchError`] unless the answer is 200 with a body.
    pub fn get(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        match &self.base {
            Base::Dir(dir) => {
                let path = dir.join(path);
                std::fs::read(&path).map_err(|source| FetchError::Io { path, source })
            }
            Base::Http(base) => {
                let url = format!("{base}/{path}");
                let transport = |e: ureq::Error| FetchError::Transport {
                    url: url.clone(),
                    message: e.to_string(),
                };
                let mut response = self.agent.get(&url).call().map_err(transport)?;
                let status = response.status().as_u16();
                if status != 200 {
                    return Err(FetchError::Status { url, status });
                }
                response
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()
                    .map_err(transport)
            }
        }
    }

    /// The latest signed checkpoint, unverified.
    ///
    /// # Errors
    /// A [`FetchError`].
    pub fn checkpoint(&self) -> Result<Vec<u8>, FetchError> {
        self.get("checkpoint")
    }

    /// A hash tile or entry bundle, unverified.
    ///
    /// # Errors
    /// A [`FetchError`].
    pub fn tile(&self, path: &TilePath) -> Result<Vec<u8>, FetchError> {
        // `TilePath` displays as `tile/…` with no leading slash.
        self.get(path.to_string().trim_start_matches('/'))
    }

    /// A JSON answer of the server's API (used only to compare the server's
    /// claims with what the auditor recomputed, never as an input).
    ///
    /// # Errors
    /// A [`FetchError`], or [`FetchError::Transport`] if it is not JSON.
    pub fn json(&self, path: &str) -> Result<serde_json::Value, FetchError> {
        let bytes = self.get(path)?;
        serde_json::from_slice(&bytes).map_err(|e| FetchError::Transport {
            url: format!("{}/{path}", self.base()),
            message: format!("not JSON: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_directory_copy_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tile/entries")).unwrap();
        std::fs::write(dir.path().join("checkpoint"), b"cp").unwrap();
        std::fs::write(dir.path().join("tile/entries/000"), b"e").unwrap();
        let f = Fetcher::new(dir.path().to_str().unwrap());
        assert_eq!(f.checkpoint().unwrap(), b"cp");
        let path = TilePath::entries(0, 256).unwrap();
        assert_eq!(f.tile(&path).unwrap(), b"e");
        let err = f.tile(&TilePath::entries(1, 256).unwrap()).unwrap_err();
        assert!(err.is_not_found(), "{err}");
    }

    #[test]
    fn an_unreachable_server_is_a_transport_error() {
        // Port 9 (discard) on localhost is closed on test machines.
        let f = Fetcher::new("http://127.0.0.1:9/");
        let err = f.checkpoint().unwrap_err();
        assert!(matches!(err, FetchError::Transport { .. }), "{err}");
        assert!(!err.is_not_found());
    }
}
