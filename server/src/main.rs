//! `minhbach-server`: parses arguments, installs tracing and calls into the
//! library (`minhbach_server`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use minhbach_server::demo::{self, DemoOptions};
use minhbach_server::AppState;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, EnvFilter};

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
    Demo {
        /// The address to listen on.
        #[arg(long, env = "MINHBACH_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA", default_value = "./minhbach-data")]
        data: PathBuf,
    },
    /// Serves an existing data directory.
    Serve {
        /// The address to listen on.
        #[arg(long, env = "MINHBACH_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The data directory.
        #[arg(long, env = "MINHBACH_DATA")]
        data: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::registry()
        .with(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("minhbach_server=info,tower_http=info")),
        )
        .with(fmt::layer())
        .init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Demo { listen, data } => {
            let prepared = demo::prepare(
                &data,
                DemoOptions::default(),
                chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
                &mut rand_core::OsRng,
            )
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
            runtime.block_on(run(listen, prepared.state, prepared.size))
        }
        Command::Serve { listen, data } => {
            let (store, signer) = demo::open_existing(&data)
                .with_context(|| format!("opening {}", data.display()))?;
            let state = AppState::writer(store, signer, minhbach_server::WriteConfig::default())
                .context("replaying the log and starting the sequencer")?;
            let size = state.tree_size().context("reading the tree size")?;
            runtime.block_on(run(listen, state, size))
        }
    }
}

async fn run(listen: SocketAddr, state: AppState, size: u64) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    println!("minhbach-server: log {} at http://{addr}/", state.origin());
    println!("Try:");
    for url in minhbach_server::urls_to_try(&format!("http://{addr}"), size) {
        println!("  {url}");
    }
    println!("Stop with Ctrl-C.");
    minhbach_server::serve(listener, state)
        .await
        .context("serving HTTP")
}
