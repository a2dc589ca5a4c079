//! Replicating the read path to S3-compatible object storage (SPEC 8.8): the
//! published checkpoint with its cosignatures, every full and partial tile,
//! every entry bundle, and the log's metadata (`api/v1/log`), under the same
//! paths the server answers, so that a bucket behind a CDN serves the C2SP
//! read path and any reader (`minhbach-audit`, a C2SP client, the explorer's
//! in-browser check) can use its public URL in place of the server's.
//!
//! ```text
//!  bucket checkpoint (size m, or none)      published checkpoint (size n)
//!        │ verify with the log key; the local tree must extend it
//!        ▼
//!  tiles and bundles new in (m, n]  ──► PUT, in parallel (full ones immutable)
//!  api/v1/log                       ──► PUT
//!  checkpoint                       ──► PUT, last
//! ```
//!
//! * **The checkpoint is written last**, after every object it covers: a
//!   reader never sees a checkpoint whose tiles are missing.
//! * **No gaps after a crash**: a round starts from the bucket's own
//!   checkpoint, so whatever a killed round left out is written again.
//! * **Nothing rewritten after a crash**: the first round of a process lists
//!   what the bucket already holds past its checkpoint (one `LIST` per
//!   thousand objects, from that point on) and skips every object present
//!   with the right length. Tiles are a function of the log: an object at a
//!   tile path with the right length holds the right bytes, unless the
//!   bucket was written by someone else, which the auditor would catch.
//! * **Never a fork or a rollback**: the bucket's checkpoint must verify with
//!   this log's key, and the local tree must extend it (a consistency proof
//!   from the local hashes, checked against both roots). A bucket ahead of
//!   this log (a server restored from an old backup) or holding another tree
//!   is refused and left as it is.
//! * Cache metadata: full tiles and bundles `public, max-age=31536000,
//!   immutable`; partial ones briefly; the checkpoint and `api/v1/log`
//!   `no-cache`, the same headers the server sends.
//!
//! Credentials come from the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, …, read by
//! `object_store`), never from the configuration file, and are never logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use minhbach_ledger::checkpoint::open_checkpoint;
use minhbach_ledger::merkle::{consistency_proof, verify_consistency};
use minhbach_ledger::note::VerifierKey;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::tile::{TILE_WIDTH, TileKind, TilePath, new_entry_bundles, new_tiles};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};

use crate::api::LogInfo;
use crate::publish::last_published;
use crate::tiles::{CHECKPOINT_CACHE, IMMUTABLE, PARTIAL, tile_bytes};

/// Objects uploaded at once, by default.
pub const DEFAULT_JOBS: usize = 16;

/// How often a serving replica looks for a newer published checkpoint, by
/// default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Tiles read from the store per blocking call.
const READ_CHUNK: usize = 64;

/// Where and how to replicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// `s3://BUCKET[/PREFIX]`.
    pub url: String,
    /// An S3-compatible endpoint (MinIO, Ceph RGW, GCS's XML API, a local
    /// test server); AWS when absent.
    pub endpoint: Option<String>,
    /// The region (otherwise `AWS_REGION`, otherwise `us-east-1`).
    pub region: Option<String>,
    /// Objects uploaded at once.
    pub jobs: usize,
    /// How often a serving replica looks for a newer published checkpoint.
    pub interval: Duration,
    /// The bucket's public URL (or its CDN's), where readers find the read
    /// path: the explorer's in-browser verification reads from there.
    pub public_url: Option<String>,
}

impl ReplicaConfig {
    /// A configuration for `url` with the defaults.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            endpoint: None,
            region: None,
            jobs: DEFAULT_JOBS,
            interval: DEFAULT_INTERVAL,
            public_url: None,
        }
    }

    /// The bucket and the key prefix (no leading or trailing `/`) of `url`.
    ///
    /// # Errors
    /// [`ReplicaError::Url`] unless `url` is `s3://BUCKET[/PREFIX]`.
    pub fn bucket_and_prefix(&self) -> Result<(String, String), ReplicaError> {
        let bad = |why: &'static str| ReplicaError::Url {
            url: self.url.clone(),
            why,
        };
        let rest = self
            .url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("it names no bucket"));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(bad("the prefix may not hold . or .. segments"));
        }
        Ok((bucket.to_owned(), prefix.to_owned()))
    }
}

/// Why a replica round failed. Nothing the bucket held is lost on any error;
/// the next round starts again from the bucket's checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicaError {
    /// The bucket URL is not usable.
    #[error("replica URL {url}: {why}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        why: &'static str,
    },
    /// The object store refused or failed a request.
    #[error("object storage: {0}")]
    Store(#[from] object_store::Error),
    /// The local log could not be read.
    #[error("reading the local log: {0}")]
    Local(String),
    /// The bucket's checkpoint is not this log's.
    #[error(
        "the bucket's checkpoint does not verify with this log's key ({0}); refusing to overwrite another log's replica"
    )]
    NotThisLog(String),
    /// The bucket holds a larger tree than this log has published.
    #[error(
        "the bucket holds a checkpoint of {remote} entries, ahead of this log's {local}; refusing to roll it back"
    )]
    BucketAhead {
        /// The bucket's size.
        remote: u64,
        /// This log's published size.
        local: u64,
    },
    /// The bucket's tree is not a prefix of this log's.
    #[error(
        "the bucket's checkpoint of {remote} entries is not a prefix of this log's tree of {local}: a fork; refusing to overwrite it"
    )]
    Fork {
        /// The bucket's size.
        remote: u64,
        /// This log's published size.
        local: u64,
    },
}

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// The bucket's size before the round (0: no checkpoint).
    pub from: u64,
    /// The size of the checkpoint the round wrote (`from` if none).
    pub to: u64,
    /// Objects written, the checkpoint and metadata included.
    pub written: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Objects found already in the bucket and not written again.
    pub skipped: u64,
}

/// A replica of one log in one bucket.
pub struct Replica {
    objects: Arc<dyn ObjectStore>,
    prefix: String,
    log: VerifierKey,
    jobs: usize,
    /// Whether no round has completed in this process yet: the next one
    /// lists what a crashed run may have left past the bucket's checkpoint.
    fresh: bool,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("objects", &self.objects.to_string())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// A replica in the S3 bucket `config` names, for the log `log` verifies.
    ///
    /// # Errors
    /// [`ReplicaError::Url`] or [`ReplicaError::Store`] if the client cannot
    /// be built.
    pub fn s3(config: &ReplicaConfig, log: VerifierKey) -> Result<Self, ReplicaError> {
        let (bucket, prefix) = config.bucket_and_prefix()?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        Ok(Self::new(
            Arc::new(builder.build()?),
            prefix,
            log,
            config.jobs,
        ))
    }

    /// A replica in any object store, under `prefix`.
    #[must_use]
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        prefix: impl Into<String>,
        log: VerifierKey,
        jobs: usize,
    ) -> Self {
        Self {
            objects,
            prefix: prefix.into().trim_matches('/').to_owned(),
            log,
            jobs: jobs.max(1),
            fresh: true,
        }
    }

    fn key(&self, path: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(path)
        } else {
            ObjectPath::from(format!("{}/{path}", self.prefix))
        }
    }

    /// The bucket's checkpoint, verified with the log key: its bytes and
    /// size. `None` if the bucket holds none.
    ///
    /// # Errors
    /// [`ReplicaError::Store`], or [`ReplicaError::NotThisLog`].
    pub async fn remote_checkpoint(
        &self,
    ) -> Result<Option<(Vec<u8>, minhbach_ledger::checkpoint::Checkpoint)>, ReplicaError> {
        let bytes = match self.objects.get(&self.key("checkpoint")).await {
            Ok(got) => got.bytes().await?.to_vec(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let signed = open_checkpoint(&bytes, &self.log, &[])
            .map_err(|e| ReplicaError::NotThisLog(e.to_string()))?;
        Ok(Some((bytes, signed.checkpoint().clone())))
    }

    /// Brings the bucket up to `signed`, a checkpoint of the log in `store`
    /// (the published one, with its cosignatures), with `log_info` as its
    /// `api/v1/log`.
    ///
    /// # Errors
    /// [`ReplicaError`]; the bucket's checkpoint is then unchanged, and the
    /// next round lists what this one may have written before it failed.
    pub async fn round(
        &mut self,
        store: &Arc<RocksStore>,
        signed: &[u8],
        log_info: &[u8],
    ) -> Result<RoundReport, ReplicaError> {
        let result = self.try_round(store, signed, log_info).await;
        self.fresh = result.is_err();
        result
    }

    async fn try_round(
        &self,
        store: &Arc<RocksStore>,
        signed: &[u8],
        log_info: &[u8],
    ) -> Result<RoundReport, ReplicaError> {
        let latest = open_checkpoint(signed, &self.log, &[])
            .map_err(|e| ReplicaError::Local(format!("the checkpoint to replicate: {e}")))?
            .checkpoint()
            .clone();
        let n = latest.size();
        let remote = self.remote_checkpoint().await?;
        let m = remote.as_ref().map_or(0, |(_, c)| c.size());
        let mut report = RoundReport {
            from: m,
            to: m,
            ..RoundReport::default()
        };
        if let Some((bytes, checkpoint)) = &remote {
            if bytes == signed {
                return Ok(report);
            }
            if m > n {
                return Err(ReplicaError::BucketAhead {
                    remote: m,
                    local: n,
                });
            }
            let fork = ReplicaError::Fork {
                remote: m,
                local: n,
            };
            let (root_m, root_n) = (checkpoint.root(), latest.root());
            if m == n {
                if root_m != root_n {
                    return Err(fork);
                }
            } else if m > 0 {
                let reader = Arc::clone(store);
                let proof = tokio::task::spawn_blocking(move || consistency_proof(&*reader, m, n))
                    .await
                    .map_err(|e| ReplicaError::Local(e.to_string()))?
                    .map_err(|e| ReplicaError::Local(e.to_string()))?;
                if verify_consistency(m, n, &proof, &root_m, &root_n).is_err() {
                    return Err(fork);
                }
            }
        }

        let paths: Vec<TilePath> = new_tiles(m, n).chain(new_entry_bundles(m, n)).collect();
        let present = if self.fresh {
            self.present_past(m, n).await?
        } else {
            HashMap::new()
        };
        for chunk in paths.chunks(READ_CHUNK) {
            let reader = Arc::clone(store);
            let chunk = chunk.to_vec();
            let tiles = tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|p| tile_bytes(&reader, p, n).map(|b| (p, b)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| ReplicaError::Local(e.to_string()))?
            .map_err(|e| ReplicaError::Local(format!("{e:?}")))?;
            let mut puts = Vec::with_capacity(tiles.len());
            for (path, body) in tiles {
                let name = path.to_string();
                if present.get(&name) == Some(&(body.len() as u64)) {
                    report.skipped += 1;
                    continue;
                }
                report.written += 1;
                report.bytes += body.len() as u64;
                let cache = if path.is_full() { IMMUTABLE } else { PARTIAL };
                puts.push(self.put(name, body, cache, "application/octet-stream"));
            }
            futures::stream::iter(puts)
                .buffer_unordered(self.jobs)
                .try_collect::<Vec<()>>()
                .await?;
        }
        // Every tile the checkpoint covers is in: the metadata, then the
        // checkpoint.
        self.put(
            "api/v1/log".into(),
            log_info.to_vec(),
            CHECKPOINT_CACHE,
            "application/json",
        )
        .await?;
        self.put(
            "checkpoint".into(),
            signed.to_vec(),
            CHECKPOINT_CACHE,
            "text/plain; charset=utf-8",
        )
        .await?;
        report.written += 2;
        report.bytes += (log_info.len() + signed.len()) as u64;
        report.to = n;
        Ok(report)
    }

    /// The tile objects the bucket holds past the tiles of a tree of `size`
    /// entries, up to the levels a tree of `target` entries has, by path
    /// (relative to the prefix), with their lengths: what a round killed
    /// before its checkpoint may have written.
    async fn present_past(
        &self,
        size: u64,
        target: u64,
    ) -> Result<HashMap<String, u64>, ReplicaError> {
        let mut present = HashMap::new();
        let mut kinds: Vec<TileKind> = vec![TileKind::Entries];
        // Tile level L holds the tree's nodes at height 8·L: there are some
        // while the tree has at least 256^L leaves (C2SP: levels 0 to 7).
        for level in 0..8u8 {
            if target >> (8 * u32::from(level)) == 0 {
                break;
            }
            kinds.push(TileKind::Hashes { level });
        }
        for kind in kinds {
            let dir = match kind {
                TileKind::Entries => "tile/entries".to_owned(),
                TileKind::Hashes { level } => format!("tile/{level}"),
            };
            let level_bits = match kind {
                TileKind::Entries => 0,
                TileKind::Hashes { level } => 8 * u32::from(level),
            };
            // Full tiles of this kind a tree of `size` has: everything up to
            // the last of them is covered by the bucket's checkpoint.
            let full = (size >> level_bits) / u64::from(TILE_WIDTH);
            let prefix = self.key(&dir);
            let listing = if full == 0 {
                self.objects.list(Some(&prefix))
            } else {
                let last = TilePath::new(kind, full - 1, TILE_WIDTH)
                    .map_err(|e| ReplicaError::Local(e.to_string()))?;
                let offset = self.key(&last.to_string());
                self.objects.list_with_offset(Some(&prefix), &offset)
            };
            let metas: Vec<object_store::ObjectMeta> = listing.try_collect().await?;
            for meta in metas {
                let key = meta.location.to_string();
                let relative = if self.prefix.is_empty() {
                    key
                } else {
                    key.strip_prefix(&format!("{}/", self.prefix))
                        .unwrap_or(&key)
                        .to_owned()
                };
                present.insert(relative, meta.size);
            }
        }
        Ok(present)
    }

    async fn put(
        &self,
        path: String,
        body: Vec<u8>,
        cache: &'static str,
        content_type: &'static str,
    ) -> Result<(), ReplicaError> {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::CacheControl, cache.into());
        attributes.insert(Attribute::ContentType, content_type.into());
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.objects
            .put_opts(&self.key(&path), PutPayload::from(body), options)
            .await?;
        Ok(())
    }
}

/// Replicates the published checkpoint of `state` whenever it changes, looking
/// every `interval`, until the process ends. A failed round is logged,
/// counted in the metrics and retried with a growing backoff (at most a
/// minute); nothing in the bucket is lost meanwhile.
pub async fn follow(mut replica: Replica, state: crate::AppState, interval: Duration) {
    const MAX_BACKOFF: Duration = Duration::from_secs(60);
    let mut replicated: Option<Vec<u8>> = None;
    let mut wait = Duration::ZERO;
    // The wait after a failed round: twice the last one, at most a minute.
    let mut backoff = interval;
    loop {
        tokio::time::sleep(wait).await;
        wait = interval;
        let view = state.view();
        let latest = match tokio::task::spawn_blocking(move || view.latest()).await {
            Ok(Ok(Some(latest))) => latest,
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => {
                tracing::warn!(target: "minhbach_server::replica", error = ?e, "cannot read the published checkpoint");
                continue;
            }
            Err(e) => {
                tracing::warn!(target: "minhbach_server::replica", error = %e, "cannot read the published checkpoint");
                continue;
            }
        };
        if replicated.as_deref() == Some(latest.signed.as_slice()) {
            continue;
        }
        let size = latest.checkpoint.size();
        let info = LogInfo::new(
            state.verifier(),
            state.witnesses(),
            Some(&latest.checkpoint),
            size,
        );
        let info = match serde_json::to_vec(&info) {
            Ok(info) => info,
            Err(e) => {
                tracing::error!(target: "minhbach_server::replica", error = %e, "cannot encode the log's metadata");
                continue;
            }
        };
        let started = Instant::now();
        match replica.round(state.store(), &latest.signed, &info).await {
            Ok(report) => {
                state.metrics().record_replica(
                    report.to,
                    report.written,
                    report.bytes,
                    report.skipped,
                    started.elapsed(),
                );
                tracing::info!(target: "minhbach_server::replica", from = report.from, to = report.to, written = report.written, skipped = report.skipped, bytes = report.bytes, "replicated");
                replicated = Some(latest.signed.clone());
                backoff = interval;
            }
            Err(e) => {
                state.metrics().record_replica_error();
                tracing::warn!(target: "minhbach_server::replica", error = %e, "replica round failed; retrying");
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait = backoff;
            }
        }
    }
}

/// Why `minhbach-server replicate` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicateOnceError {
    /// The data directory cannot be opened.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    /// The published checkpoint cannot be read.
    #[error("reading the published checkpoint: {0}")]
    Checkpoint(String),
    /// The log has published nothing yet.
    #[error("the log has no published checkpoint yet: nothing to replicate")]
    Empty,
    /// The round failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The metadata cannot be encoded.
    #[error("encoding the log's metadata: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One round on a stopped server's data directory: brings the bucket
/// `config` names up to the log's published checkpoint, listing the log's
/// `witnesses` in its metadata.
///
/// # Errors
/// [`ReplicateOnceError`]; the bucket's checkpoint is then unchanged.
pub async fn replicate_once(
    data: &std::path::Path,
    config: &ReplicaConfig,
    witnesses: &crate::witness::WitnessPolicy,
) -> Result<RoundReport, ReplicateOnceError> {
    let (store, signer) = crate::datadir::DataDir::new(data).open_existing()?;
    let verifier = signer.verifier();
    let latest = last_published(&store, &verifier)
        .map_err(|e| ReplicateOnceError::Checkpoint(e.to_string()))?
        .ok_or(ReplicateOnceError::Empty)?;
    let info = LogInfo::new(
        &verifier,
        witnesses,
        Some(&latest.checkpoint),
        latest.checkpoint.size(),
    );
    let info = serde_json::to_vec(&info)?;
    let mut replica = Replica::s3(config, verifier)?;
    Ok(replica.round(&store, &latest.signed, &info).await?)
}
