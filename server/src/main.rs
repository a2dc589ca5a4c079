//! `minhbach-server`: parses arguments, installs tracing and calls into the
//! library (`minhbach_server`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use minhbach_server::config::{ConfigFile, Overrides};
use minhbach_server::datadir::DataDir;
#[cfg(feature = "demo")]
use minhbach_server::demo::{self, DemoOptions};
use minhbach_server::replica::{self, Replica};
use minhbach_server::{AppState, ops};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, fmt};

/// The minhbach log server: the C2SP read path and the JSON API over a
/// RocksDB log.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a demo data directory (log key, officials' keys, a seeded
    /// history) on first start, then serves it.
    #[cfg(feature = "demo")]
    Demo {
        /// The address to listen on.
        #[arg(long, env = "MINHBACH_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA", default_value = "./minhbach-data")]
        data: PathBuf,
    },
    /// Serves an existing data directory. Settings come from the config
    /// file, overridden by the environment, overridden by flags.
    Serve {
        /// A TOML configuration file (see docs/OPERATING.md, "Configuration").
        #[arg(long, env = "MINHBACH_CONFIG")]
        config: Option<PathBuf>,
        /// The address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "MINHBACH_LISTEN")]
        listen: Option<SocketAddr>,
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA")]
        data: Option<PathBuf>,
        #[command(flatten)]
        witnesses: WitnessArgs,
        #[command(flatten)]
        replica: ReplicaArgs,
    },
    /// Replicates the read path (checkpoint, tiles, entry bundles, log
    /// metadata) to an S3-compatible bucket once, up to the published
    /// checkpoint, and exits. Resumes where the bucket's checkpoint stands;
    /// the checkpoint is written last. The server must be stopped (`serve`
    /// with a replica does the same continuously). Credentials come from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    Replicate {
        /// A TOML configuration file: its `data`, `[replica]` and
        /// `[witnesses]` are used.
        #[arg(long, env = "MINHBACH_CONFIG")]
        config: Option<PathBuf>,
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA")]
        data: Option<PathBuf>,
        #[command(flatten)]
        witnesses: WitnessArgs,
        #[command(flatten)]
        replica: ReplicaArgs,
    },
    /// Creates a log: a new data directory, the log key (named for the
    /// genesis origin) and entry 0, the genesis envelope signed by its
    /// governance quorum (`minhbach new genesis`, `sign`, `cosign`).
    Init {
        /// The data directory to create.
        #[arg(long, env = "MINHBACH_DATA")]
        data: PathBuf,
        /// The signed genesis envelope (JSON).
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Rebuilds every derived index (node hashes, the books) from the
    /// leaves alone, checked against the signed checkpoint. The server must
    /// be stopped.
    Reindex {
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA")]
        data: PathBuf,
    },
    /// Writes a consistent copy of the log (a RocksDB checkpoint) to a new
    /// directory and verifies it. The server must be stopped.
    Backup {
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA")]
        data: PathBuf,
        /// The new directory to write the copy to.
        #[arg(long)]
        to: PathBuf,
        /// Copy the log's private signing key too (mode 0600). Without it
        /// the copy can be served read-only after a restore, not extended.
        #[arg(long)]
        with_key: bool,
    },
}

/// The witnesses `serve` asks to cosign each checkpoint.
#[derive(clap::Args)]
struct WitnessArgs {
    /// A C2SP tlog-witness to ask for cosignatures, as URL=VERIFIER_KEY (its
    /// add-checkpoint is at URL/add-checkpoint; the key is its cosignature
    /// verifier key, type 0x04). Repeatable; the environment variable takes
    /// a comma-separated list.
    #[arg(
        long = "witness",
        env = "MINHBACH_WITNESSES",
        value_name = "URL=VKEY",
        value_delimiter = ','
    )]
    witnesses: Vec<minhbach_server::witness::WitnessSpec>,
    /// How many witnesses must cosign a checkpoint before it is published
    /// (default: all of them; 0 publishes every commit at once and adds the
    /// cosignatures as they come).
    #[arg(
        long = "witness-quorum",
        env = "MINHBACH_WITNESS_QUORUM",
        value_name = "N"
    )]
    quorum: Option<usize>,
    /// Seconds one request to a witness may take [default: 5].
    #[arg(
        long = "witness-timeout",
        env = "MINHBACH_WITNESS_TIMEOUT",
        value_name = "SECONDS"
    )]
    timeout: Option<u64>,
}

/// The object-storage replica of the read path.
#[derive(clap::Args)]
struct ReplicaArgs {
    /// Copy the read path to this bucket: s3://BUCKET[/PREFIX].
    #[arg(long = "replica", env = "MINHBACH_REPLICA", value_name = "S3_URL")]
    url: Option<String>,
    /// The S3-compatible endpoint (MinIO, Ceph RGW, GCS, a local server);
    /// AWS when absent.
    #[arg(
        long = "replica-endpoint",
        env = "MINHBACH_REPLICA_ENDPOINT",
        value_name = "URL"
    )]
    endpoint: Option<String>,
}

/// Reads the config file, if any, and merges the flags over it.
fn resolve(
    config: Option<&PathBuf>,
    overrides: Overrides,
) -> anyhow::Result<minhbach_server::config::ServeConfig> {
    let file = match config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    Ok(file.resolve(overrides)?)
}

/// jemalloc for every allocation of the process, RocksDB's included
/// (unprefixed). With glibc's malloc the server's resident memory under a
/// sustained write load was about 1.6 times what the same run gave with
/// glibc limited to two arenas: each thread's arena kept the freed request
/// and commit buffers of its own.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The async workers on a machine of `cores`: `TOKIO_WORKER_THREADS` if it
/// names a number, else twice the cores. Proofs and tiles are read on the
/// worker that serves the request (a hop to another thread costs more than
/// a cached read); when the log outgrows the page cache those reads wait on
/// the disk, and with twice as many workers as cores the other half keeps
/// the cores busy meanwhile (measured with two, four and eight workers:
/// CHANGELOG.md, 2026-12-03).
fn async_workers(cores: usize, env: Option<&str>) -> usize {
    env.and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2 * cores.max(1))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    install_tracing();
    match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo { listen, data } => demo(&data, listen),
        Command::Serve {
            config,
            listen,
            data,
            witnesses,
            replica,
        } => serve(config.as_ref(), overrides(listen, data, witnesses, replica)),
        Command::Replicate {
            config,
            data,
            witnesses,
            replica,
        } => replicate(config.as_ref(), overrides(None, data, witnesses, replica)),
        Command::Init { data, genesis } => init(&data, &genesis),
        Command::Reindex { data } => reindex(&data),
        Command::Backup { data, to, with_key } => backup(&data, &to, with_key),
    }
}

/// Logs go to standard error, filtered by `RUST_LOG`.
/// The log goes to standard output, after the address; colour codes only when
/// that is a terminal and `NO_COLOR` is unset, so files, pipes and journald
/// get plain text.
fn install_tracing() {
    use std::io::IsTerminal as _;
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::registry()
        .with(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("minhbach_server=info,tower_http=info")),
        )
        .with(fmt::layer().with_ansi(colour))
        .init();
}

/// The async runtime of `serve`, `demo` and `replicate`.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(async_workers(
            std::thread::available_parallelism().map_or(1, usize::from),
            std::env::var("TOKIO_WORKER_THREADS").ok().as_deref(),
        ))
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The flags, which override the config file and the environment.
fn overrides(
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    witnesses: WitnessArgs,
    replica: ReplicaArgs,
) -> Overrides {
    Overrides {
        listen,
        data,
        witnesses: witnesses.witnesses,
        witness_quorum: witnesses.quorum,
        witness_timeout: witnesses.timeout,
        replica: replica.url,
        replica_endpoint: replica.endpoint,
    }
}

/// `minhbach-server demo`: creates and seeds the demo data directory on
/// first start, then serves it.
#[cfg(feature = "demo")]
fn demo(data: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let prepared = demo::prepare(data, DemoOptions::default(), now(), &mut rand_core::OsRng)
        .with_context(|| format!("preparing the demo in {}", data.display()))?;
    if prepared.seeded > 0 {
        println!(
            "Seeded a demo history of {} entries into {}.",
            prepared.seeded,
            data.display()
        );
    } else {
        println!(
            "Serving the existing demo history ({} entries) in {}.",
            prepared.size,
            data.display()
        );
    }
    serve_until_stopped(runtime, listen, prepared.state, prepared.size)
}

/// `minhbach-server serve`: serves an existing data directory, replicating
/// its read path if a replica is configured.
fn serve(config: Option<&PathBuf>, overrides: Overrides) -> anyhow::Result<()> {
    let config = resolve(config, overrides)?;
    let runtime = runtime()?;
    let (store, signer) = DataDir::new(&config.data)
        .open_existing()
        .with_context(|| format!("opening {}", config.data.display()))?;
    let state = AppState::writer(store, signer, config.write)
        .context("replaying the log and starting the sequencer")?
        .with_read_url(
            config
                .replica
                .as_ref()
                .and_then(|m| m.public_url.as_deref()),
        );
    let size = state.tree_size().context("reading the tree size")?;
    if let Some(m) = &config.replica {
        let replica = Replica::s3(m, state.verifier().clone())
            .with_context(|| format!("setting up the replica {}", m.url))?;
        println!("Replicating the read path to {}.", m.url);
        runtime.spawn(replica::follow(replica, state.clone(), m.interval));
    }
    serve_until_stopped(runtime, config.listen, state, size)
}

/// `minhbach-server replicate`: one replica round up to the published
/// checkpoint.
fn replicate(config: Option<&PathBuf>, overrides: Overrides) -> anyhow::Result<()> {
    let config = resolve(config, overrides)?;
    let m = config.replica.context(
        "no bucket: give --replica s3://BUCKET[/PREFIX], MINHBACH_REPLICA or [replica] url",
    )?;
    let runtime = runtime()?;
    let started = Instant::now();
    let report = runtime
        .block_on(replica::replicate_once(
            &config.data,
            &m,
            &config.write.witnesses,
        ))
        .with_context(|| format!("replicating {} to {}", config.data.display(), m.url))?;
    if report.written == 0 {
        println!(
            "{} already holds the checkpoint of {} entries; nothing written.",
            m.url, report.to
        );
    } else {
        println!(
            "Replicated entries {}..{} to {}: {} objects, {} bytes written, {} already there, in {:.1} s; the checkpoint was written last.",
            report.from,
            report.to,
            m.url,
            report.written,
            report.bytes,
            report.skipped,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `minhbach-server init`: a new log whose entry 0 is the signed genesis.
fn init(data: &Path, genesis: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(genesis).with_context(|| format!("reading {}", genesis.display()))?;
    let done = ops::init(data, &bytes, now(), &mut rand_core::OsRng)
        .with_context(|| format!("creating a log in {}", data.display()))?;
    println!("Created the log {} in {}.", done.origin, data.display());
    println!("Entry 0 (genesis): leaf hash {}", done.leaf_hash.to_hex());
    if done.key_created {
        println!(
            "Generated the log key {} (keep it secret; back it up).",
            DataDir::new(data).log_key_path().display()
        );
    }
    println!("Publish the log's verifier key; auditors and donors check checkpoints with it:");
    println!("  {}", done.verifier);
    println!(
        "Serve it with: minhbach-server serve --data {}",
        data.display()
    );
    Ok(())
}

/// `minhbach-server reindex`: rebuilds the derived indexes from the leaves.
fn reindex(data: &Path) -> anyhow::Result<()> {
    let done = ops::reindex(data).with_context(|| format!("reindexing {}", data.display()))?;
    println!(
        "Rebuilt the indexes of {} entries from the leaves in {:.1} s: root {} matches the signed checkpoint; {} statements replayed through the rules.",
        done.size,
        done.elapsed.as_secs_f64(),
        done.root.to_base64(),
        done.replayed
    );
    Ok(())
}

/// `minhbach-server backup`: a verified copy of the log in a new directory.
fn backup(data: &Path, to: &Path, with_key: bool) -> anyhow::Result<()> {
    let done = ops::backup(data, to, with_key)
        .with_context(|| format!("backing up {}", data.display()))?;
    println!(
        "Backed up {} entries to {}{}{}.",
        done.size,
        to.display(),
        if done.checkpoint_verified {
            "; its checkpoint verifies with the log key"
        } else {
            ""
        },
        if done.with_key {
            "; the private log key is included (mode 0600)"
        } else {
            "; without the private log key"
        }
    );
    Ok(())
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
}

/// How long a graceful stop waits for RocksDB's flushes and compactions.
const STOP_SETTLE: Duration = Duration::from_secs(20);

/// Serves until a signal, then stops: the requests in flight are answered;
/// with the runtime go its tasks and the last handle on the writer, whose
/// batch in flight is finished and whose books are flushed; then the store
/// settles (at most [`STOP_SETTLE`]), so that the next start serves at once
/// instead of first compacting what this run left.
fn serve_until_stopped(
    runtime: tokio::runtime::Runtime,
    listen: SocketAddr,
    state: AppState,
    size: u64,
) -> anyhow::Result<()> {
    let store = Arc::clone(state.store());
    let served = runtime.block_on(run(listen, state, size));
    drop(runtime);
    let started = Instant::now();
    match store.settle(STOP_SETTLE) {
        Ok(true) => tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "store flushed and compacted"
        ),
        Ok(false) => tracing::warn!(
            seconds = STOP_SETTLE.as_secs(),
            "the store's compactions did not finish in time; the next start resumes them"
        ),
        Err(e) => tracing::warn!(error = %e, "settling the store"),
    }
    served
}

async fn run(listen: SocketAddr, state: AppState, size: u64) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    // Before the address is announced: from then on a SIGTERM stops the
    // server gracefully.
    let shutdown = minhbach_server::shutdown_signal().context("listening for signals")?;
    println!("minhbach-server: log {} at http://{addr}/", state.origin());
    println!("Try:");
    for url in minhbach_server::urls_to_try(&format!("http://{addr}"), size) {
        println!("  {url}");
    }
    println!("Stop with Ctrl-C.");
    minhbach_server::serve(listener, state, shutdown)
        .await
        .context("serving HTTP")
}

#[cfg(test)]
mod tests {
    use super::async_workers;

    #[test]
    fn twice_the_cores_unless_the_environment_names_a_number() {
        assert_eq!(async_workers(2, None), 4);
        assert_eq!(async_workers(0, None), 2);
        assert_eq!(async_workers(2, Some("8")), 8);
        assert_eq!(async_workers(2, Some(" 3 ")), 3);
        // Not a number, or none: the default.
        assert_eq!(async_workers(2, Some("0")), 4);
        assert_eq!(async_workers(2, Some("many")), 4);
    }
}
