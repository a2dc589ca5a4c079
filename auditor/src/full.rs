//! `minhbach-audit full` and `trace`: download the whole read path, rebuild
//! the tree, verify every signature and replay every rule, then report.
//!
//! Downloads run on `jobs` threads. Full tiles and bundles are immutable, so
//! they are kept in `DIR/cache` (laid out like the read path itself, so the
//! cache is a mirror another auditor can read) and never fetched again: a
//! second run fetches only what the log grew by. After a successful audit
//! the replay is saved ([`crate::snapshot`]) and the next run resumes from
//! it: it proves today's checkpoint consistent with the saved one, checks
//! the saved tail of the last partial bundle, replays only the new entries
//! and checks every upper tile again. A missing, damaged or foreign snapshot
//! means a replay from entry 0, and the outcome says why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use minhbach_ledger::api::Lookup;
use minhbach_ledger::checkpoint::Checkpoint;
use minhbach_ledger::merkle::{Hash, leaf_hash};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::rules::RejectedEntry;
use minhbach_ledger::statement::Channel;
use minhbach_ledger::tile::{
    TileKind, TilePath, entry_bundles_for_size, parse_entry_bundle_exact, parse_tile,
    tiles_for_size,
};

use crate::AuditError;
use crate::check::{Evidence, evidence, load_state, save_state};
use crate::fetch::{FetchError, Fetcher};
use crate::replay::{Replay, ReplayError};
use crate::report::{self, Anomaly, Report, Thresholds};
use crate::snapshot;
use crate::tiles::{Consistency, prove_consistency};

/// Bundles replayed per call of [`Replay::replay`] (enough to keep the
/// verification pipeline busy; the replay bench feeds the same steps).
pub const BUNDLES_PER_STEP: usize = 64;

/// Entries in a full entry bundle (C2SP tlog-tiles).
const ENTRIES_PER_BUNDLE: u64 = 256;

/// The read path of one tree size, downloaded: full files in a cache
/// directory (if any), partial ones in memory.
pub struct Downloaded {
    cache: Option<PathBuf>,
    memory: HashMap<TilePath, Vec<u8>>,
    /// Files fetched over the network by this run.
    pub fetched: usize,
    /// Files found in the cache.
    pub cached: usize,
}

impl std::fmt::Debug for Downloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloaded")
            .field("fetched", &self.fetched)
            .field("cached", &self.cached)
            .finish_non_exhaustive()
    }
}

impl Downloaded {
    fn cache_path(&self, path: &TilePath) -> Option<PathBuf> {
        self.cache
            .as_ref()
            .map(|c| c.join(path.to_string().trim_start_matches('/')))
    }

    /// The bytes of a downloaded file.
    ///
    /// # Errors
    /// [`AuditError::Io`] if a cached file cannot be read.
    pub fn bytes(&self, path: &TilePath) -> Result<Vec<u8>, AuditError> {
        if let Some(b) = self.memory.get(path) {
            return Ok(b.clone());
        }
        let file = self.cache_path(path).ok_or_else(|| AuditError::NotFound {
            what: path.to_string(),
        })?;
        std::fs::read(&file).map_err(|e| AuditError::io(&file, e))
    }
}

fn progress(total: u64, what: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    // Draws only when stderr is a terminal.
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {per_sec}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

/// Downloads every hash tile and entry bundle of the tree of `size` leaves
/// on `jobs` threads, keeping full ones in `cache` (and reusing them).
///
/// # Errors
/// [`AuditError::Fetch`] for the first failed fetch, [`AuditError::Io`].
pub fn download(
    fetcher: &Fetcher,
    size: u64,
    cache: Option<&Path>,
    jobs: usize,
    show_progress: bool,
) -> Result<Downloaded, AuditError> {
    download_from(fetcher, size, 0, cache, jobs, show_progress)
}

/// [`download`] for a replay resumed at entry `from`: the entry bundles and
/// level-0 tiles before `from`'s bundle were audited already and are left
/// out; every upper tile is still downloaded (they are checked again).
///
/// # Errors
/// As [`download`].
pub fn download_from(
    fetcher: &Fetcher,
    size: u64,
    from: u64,
    cache: Option<&Path>,
    jobs: usize,
    show_progress: bool,
) -> Result<Downloaded, AuditError> {
    let mut d = Downloaded {
        cache: cache.map(Path::to_owned),
        memory: HashMap::new(),
        fetched: 0,
        cached: 0,
    };
    let first_bundle = from / ENTRIES_PER_BUNDLE;
    let needed = |p: &TilePath| match p.kind() {
        TileKind::Entries | TileKind::Hashes { level: 0 } => p.index() >= first_bundle,
        TileKind::Hashes { .. } => true,
    };
    let mut todo = Vec::new();
    for path in entry_bundles_for_size(size)
        .chain(tiles_for_size(size))
        .filter(needed)
    {
        match d.cache_path(&path) {
            Some(f) if path.is_full() && f.is_file() => d.cached += 1,
            _ => todo.push(path),
        }
    }
    let bar = progress(todo.len() as u64, "download", show_progress);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<AuditError>> = Mutex::new(None);
    let memory: Mutex<HashMap<TilePath, Vec<u8>>> = Mutex::new(HashMap::new());
    let fail = |e: AuditError| {
        failed.store(true, Ordering::Relaxed);
        if let Ok(mut slot) = first_error.lock() {
            slot.get_or_insert(e);
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = todo.get(i) else { break };
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let bytes = match fetcher.tile(path) {
                        Ok(b) => b,
                        Err(e) => {
                            fail(e.into());
                            break;
                        }
                    };
                    match d.cache_path(path).filter(|_| path.is_full()) {
                        Some(file) => {
                            if let Err(e) = store(&file, &bytes) {
                                fail(AuditError::io(&file, e));
                                break;
                            }
                        }
                        None => {
                            if let Ok(mut m) = memory.lock() {
                                m.insert(*path, bytes);
                            }
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    d.memory = memory.into_inner().unwrap_or_default();
    d.fetched = todo.len();
    Ok(d)
}

/// Writes a cache file: a temporary then a rename, so a crash never leaves
/// a truncated file that looks complete (it would be caught by the replay
/// anyway, as a root mismatch).
fn store(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}

/// Replays the downloaded tree of `checkpoint`: every bundle through the
/// rules, every level-0 tile against the leaf hashes, every upper tile
/// against the rebuilt tree, and the root against the checkpoint.
///
/// Returns the replay and, if an entry broke a rule, that rejection (the
/// replay stopped there; the tiles and root were not checked).
///
/// # Errors
/// [`ReplayError::Bundle`], [`ReplayError::TileMismatch`],
/// [`ReplayError::RootMismatch`] (in [`AuditError::Replay`]), I/O errors.
pub fn replay_tree(
    downloaded: &Downloaded,
    checkpoint: &Checkpoint,
    threads: usize,
    show_progress: bool,
) -> Result<(Replay, Option<ReplayError>), AuditError> {
    resume_tree(Replay::new(threads), downloaded, checkpoint, show_progress)
}

/// [`replay_tree`] going on from `replay` (from a [`crate::snapshot`]): only
/// the entries after its size are replayed. The entries of its partial last
/// bundle are fetched again and must hash as they did
/// ([`ReplayError::ChangedEntry`]); the new root is recomputed from the
/// saved frontier and the new leaves, and every upper tile is checked again.
///
/// # Errors
/// As [`replay_tree`].
pub fn resume_tree(
    mut replay: Replay,
    downloaded: &Downloaded,
    checkpoint: &Checkpoint,
    show_progress: bool,
) -> Result<(Replay, Option<ReplayError>), AuditError> {
    let size = checkpoint.size();
    let from = replay.size();
    if from > size {
        return Err(ReplayError::RootMismatch {
            size,
            expected: checkpoint.root(),
            computed: replay.root(),
        }
        .into());
    }
    let bundles: Vec<TilePath> = entry_bundles_for_size(size)
        .filter(|p| p.index() >= from / ENTRIES_PER_BUNDLE)
        .collect();
    let bar = progress(size - from, "replay", show_progress);
    for group in bundles.chunks(BUNDLES_PER_STEP) {
        let raw: Vec<Vec<u8>> = group
            .iter()
            .map(|p| downloaded.bytes(p))
            .collect::<Result<_, _>>()?;
        // Per bundle: the leaf hashes already known (the resumed replay's
        // tail), then the entries to replay.
        let mut known: Vec<Vec<Hash>> = Vec::with_capacity(group.len());
        let mut leaves: Vec<&[u8]> = Vec::with_capacity(group.len() * 256);
        for (p, bytes) in group.iter().zip(&raw) {
            let entries = parse_entry_bundle_exact(bytes, p.width()).map_err(|source| {
                ReplayError::Bundle {
                    bundle: p.index(),
                    source,
                }
            })?;
            let start = p.index() * ENTRIES_PER_BUNDLE;
            let skip = usize::try_from(replay.size().max(start) - start)
                .unwrap_or(usize::MAX)
                .min(entries.len());
            let seen: Vec<Hash> = if skip > 0 {
                let tail = replay.tail();
                for (i, (e, h)) in entries[..skip].iter().zip(tail).enumerate() {
                    if leaf_hash(e) != *h {
                        return Err(ReplayError::ChangedEntry {
                            index: start + i as u64,
                        }
                        .into());
                    }
                }
                tail[..skip].to_vec()
            } else {
                Vec::new()
            };
            known.push(seen);
            leaves.extend(&entries[skip..]);
        }
        let hashes = match replay.replay(&leaves) {
            Ok(h) => h,
            Err(e @ ReplayError::Rejected(_)) => {
                bar.finish_and_clear();
                return Ok((replay, Some(e)));
            }
            Err(e) => return Err(e.into()),
        };
        // Level-0 tiles hold exactly the leaf hashes of the same-numbered bundle.
        let mut next = 0;
        for (p, seen) in group.iter().zip(&known) {
            let tile = TilePath::hashes(0, p.index(), p.width()).map_err(|source| {
                ReplayError::Bundle {
                    bundle: p.index(),
                    source,
                }
            })?;
            let served = parse_tile(&downloaded.bytes(&tile)?, tile.width()).map_err(|_| {
                ReplayError::TileMismatch {
                    path: tile.to_string(),
                }
            })?;
            let fresh = usize::from(p.width()) - seen.len();
            let ours = seen.iter().chain(&hashes[next..next + fresh]);
            if served.len() != usize::from(p.width()) || !served.iter().eq(ours) {
                return Err(ReplayError::TileMismatch {
                    path: tile.to_string(),
                }
                .into());
            }
            next += fresh;
        }
        bar.inc(leaves.len() as u64);
    }
    bar.finish_and_clear();
    if replay.root() != checkpoint.root() || replay.size() != size {
        return Err(ReplayError::RootMismatch {
            size,
            expected: checkpoint.root(),
            computed: replay.root(),
        }
        .into());
    }
    for tile in tiles_for_size(size).filter(|t| t.kind() != TileKind::Hashes { level: 0 }) {
        let served = parse_tile(&downloaded.bytes(&tile)?, tile.width());
        let ok = served.is_ok_and(|hashes| {
            tile.node_ids()
                .iter()
                .zip(&hashes)
                .all(|(id, h)| replay.upper_node(id) == Some(*h))
        });
        if !ok {
            return Err(ReplayError::TileMismatch {
                path: tile.to_string(),
            }
            .into());
        }
    }
    Ok((replay, None))
}

/// Options of a full audit.
#[derive(Clone, Debug)]
pub struct FullOptions {
    /// Where the reports (and `cache/`) go.
    pub out: PathBuf,
    /// Download threads (signatures use the machine's cores).
    pub jobs: usize,
    /// A `check` state file to prove consistency with and move forward.
    pub state: Option<PathBuf>,
    /// The anomaly thresholds.
    pub thresholds: Thresholds,
    /// Show progress bars (only drawn on a terminal).
    pub progress: bool,
}

/// What a full audit found.
#[derive(Debug)]
pub struct FullOutcome {
    /// The report (written to `out`).
    pub report: Report,
    /// Set when the state's checkpoint and today's disagree (proven
    /// misbehaviour; also written to `out/evidence.json`).
    pub evidence: Option<Evidence>,
    /// Tiles and bundles fetched over the network by this run.
    pub fetched: usize,
    /// Full tiles and bundles found in the cache (fetched by an earlier run).
    pub cached: usize,
    /// The size the replay resumed from (the last audited size), if it did.
    pub resumed_from: Option<u64>,
    /// Why the saved replay was not used (the replay started from entry 0).
    pub not_resumed: Option<String>,
}

impl FullOutcome {
    /// Whether the log misbehaved (exit code 1).
    #[must_use]
    pub fn is_misbehaviour(&self) -> bool {
        self.evidence.is_some() || self.report.rejection.is_some()
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Runs a full audit of the log at `fetcher`.
///
/// # Errors
/// Network, I/O and state errors; verification failures other than a rule
/// rejection or a fork (which are in the outcome, with the report).
pub fn full(
    fetcher: &Fetcher,
    policy: &Policy,
    options: &FullOptions,
) -> Result<FullOutcome, AuditError> {
    let signed = fetcher.checkpoint()?;
    let verified = policy
        .verify_checkpoint(&signed)
        .map_err(AuditError::Checkpoint)?;
    let cp = verified.checkpoint().clone();
    std::fs::create_dir_all(&options.out).map_err(|e| AuditError::io(&options.out, e))?;
    let mut found = None;
    if let Some(state) = &options.state
        && let Some(old) = load_state(state, policy)?
    {
        let c = prove_consistency(fetcher, &old, &cp)?;
        let note = std::fs::read(state)
            .ok()
            .and_then(|b| serde_json::from_slice::<crate::check::CheckState>(&b).ok())
            .map(|s| s.checkpoint)
            .unwrap_or_default();
        found = evidence(&c, &old, &note, &cp, &signed);
        if let Consistency::Consistent { .. } = c {
        } else if let Some(e) = &found {
            write_json(&options.out.join("evidence.json"), e)?;
        }
    }
    // Resume from the replay saved by the last run, if it holds up and the
    // log today extends its checkpoint.
    let snapshot_path = options.out.join(snapshot::FILE_NAME);
    let mut not_resumed = None;
    let resume = match snapshot::load(&snapshot_path, policy, &cp, cores()) {
        Ok(None) => None,
        Ok(Some(r)) => match prove_consistency(fetcher, &r.checkpoint, &cp)? {
            Consistency::Consistent { .. } => Some(r),
            c => {
                let e = evidence(&c, &r.checkpoint, &r.note, &cp, &signed);
                if let Some(e) = &e {
                    write_json(&options.out.join("evidence.json"), e)?;
                }
                found = found.or(e);
                not_resumed = Some(format!(
                    "the saved replay (size {}) is not consistent with today's checkpoint",
                    r.checkpoint.size()
                ));
                None
            }
        },
        Err(why) => {
            not_resumed = Some(format!("the saved replay is not used: {why}"));
            None
        }
    };
    let from = resume.as_ref().map_or(0, |r| r.replay.size());
    // After a proven fork or rollback the cached files may belong to the
    // other history: this run downloads everything afresh.
    let cache = options.out.join("cache");
    let downloaded = download_from(
        fetcher,
        cp.size(),
        from,
        found.is_none().then_some(cache.as_path()),
        options.jobs,
        options.progress,
    )?;
    let (replay, rejection) = match resume {
        Some(r) => resume_tree(r.replay, &downloaded, &cp, options.progress)?,
        None => replay_tree(&downloaded, &cp, cores(), options.progress)?,
    };
    let rejection = rejection.map(|e| match e {
        ReplayError::Rejected(RejectedEntry { index, rejection }) => Anomaly {
            kind: "rule_rejection",
            index,
            campaign: None,
            detail: format!("rule {}: {rejection}", rejection.code()),
        },
        other => Anomaly {
            kind: "rule_rejection",
            index: replay.size(),
            campaign: None,
            detail: other.to_string(),
        },
    });
    let report = report::build(
        &replay,
        cp.origin(),
        &cp.root().to_base64(),
        options.thresholds,
        rejection,
    );
    report.write(&options.out)?;
    if let (Some(state), None, None) = (&options.state, &found, &report.rejection) {
        save_state(state, &cp, &signed)?;
    }
    if found.is_none() && report.rejection.is_none() {
        snapshot::save(&snapshot_path, &replay, &cp, &signed)?;
    }
    Ok(FullOutcome {
        resumed_from: (from > 0).then_some(from),
        not_resumed,
        report,
        evidence: found,
        fetched: downloaded.fetched,
        cached: downloaded.cached,
    })
}

/// Writes `value` as pretty JSON, durably.
///
/// # Errors
/// [`AuditError::Io`].
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), AuditError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| AuditError::io(path, e.into()))?;
    crate::durable::write_atomic(path, &bytes).map_err(|e| AuditError::io(path, e))
}

/// Which donation to trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// By entry index.
    Index(u64),
    /// By statement id.
    Id(String),
    /// By external reference (bank transaction id), any channel.
    Ref(String),
}

/// A trace recomputed locally and confirmed by the server.
#[derive(Clone, Debug)]
pub struct TraceOutcome {
    /// The donation's entry index.
    pub index: u64,
    /// The trace (the JSON of `minhbach_ledger::trace::Trace`).
    pub trace: serde_json::Value,
}

/// Replays the log at `fetcher` (cache in `cache`, if given), traces a
/// donation locally and compares with the server's
/// `/api/v1/donations/{index}/trace` (and `/api/v1/lookup` for `--id` and
/// `--ref`).
///
/// # Errors
/// [`AuditError::ServerDisagrees`] (misbehaviour), [`AuditError::NotFound`],
/// a rule rejection during the replay, network and I/O errors.
pub fn trace(
    fetcher: &Fetcher,
    policy: &Policy,
    selector: &Selector,
    cache: Option<&Path>,
    jobs: usize,
) -> Result<TraceOutcome, AuditError> {
    let signed = fetcher.checkpoint()?;
    let cp = policy
        .verify_checkpoint(&signed)
        .map_err(AuditError::Checkpoint)?
        .checkpoint()
        .clone();
    let downloaded = download(fetcher, cp.size(), cache, jobs, false)?;
    let (replay, rejection) = replay_tree(&downloaded, &cp, cores(), false)?;
    if let Some(e) = rejection {
        return Err(e.into());
    }
    let state = &replay.state;
    let not_found = |what: String| AuditError::NotFound { what };
    let (index, lookup) = match selector {
        Selector::Index(i) => (*i, None),
        Selector::Id(id) => {
            let (i, _) = state
                .history()
                .entry_of_id(id)
                .ok_or_else(|| not_found(format!("statement id {id}")))?;
            (i, Some(format!("api/v1/lookup?id={}", encode(id))))
        }
        Selector::Ref(r) => {
            let i = [
                Channel::Bank,
                Channel::EWallet,
                Channel::Cash,
                Channel::InKind,
            ]
            .into_iter()
            .find_map(|c| state.history().entry_of_ref(c, r))
            .ok_or_else(|| not_found(format!("external reference {r}")))?;
            (i, Some(format!("api/v1/lookup?ref={}", encode(r))))
        }
    };
    let local = replay
        .trace
        .trace(state, index)
        .map_err(|e| not_found(format!("trace of {index}: {e}")))?
        .ok_or_else(|| not_found(format!("entry {index} is not a donation")))?;
    let local = serde_json::to_value(&local).map_err(|e| AuditError::NotFound {
        what: format!("trace of {index}: {e}"),
    })?;
    if let Some(path) = lookup {
        let server = fetcher.json(&path)?;
        let named = serde_json::from_value::<Lookup>(server.clone()).map(|l| l.index);
        if named.ok() != Some(index) {
            return Err(AuditError::ServerDisagrees {
                what: "lookup",
                server: Box::new(server),
                local: Box::new(serde_json::json!({ "index": index })),
            });
        }
    }
    let server = match fetcher.json(&format!("api/v1/donations/{index}/trace")) {
        Ok(v) => v,
        Err(e @ FetchError::Status { .. }) if e.is_not_found() => serde_json::Value::Null,
        Err(e) => return Err(e.into()),
    };
    if server != local {
        return Err(AuditError::ServerDisagrees {
            what: "trace",
            server: Box::new(server),
            local: Box::new(local),
        });
    }
    Ok(TraceOutcome {
        index,
        trace: local,
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
