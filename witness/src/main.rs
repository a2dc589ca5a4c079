//! `minhbach-witness`: a C2SP tlog-witness for minhbach logs (and any other
//! log whose checkpoints follow C2SP tlog-checkpoint).
//!
//! Exit codes: 0 success, 2 usage or I/O error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::note::{KeyName, VerifierKey};
use minhbach_witness::Witness;

/// A C2SP tlog-witness: cosigns only checkpoints consistent with the last
/// one it cosigned for each log.
#[derive(Parser)]
#[command(name = "minhbach-witness", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve POST /add-checkpoint.
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: String,
        /// The witness's private key file (from `key new`).
        #[arg(long)]
        key: PathBuf,
        /// The witness's state file.
        #[arg(long)]
        state: PathBuf,
        /// The verifier key of each log to witness.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
    /// Manage the witness key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new witness key; prints its verifier key.
    New {
        /// The witness's name (e.g. witness.example.org).
        #[arg(long)]
        name: String,
        /// The private key file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `key new`: writes the private key (owner-only, never overwritten) and
/// returns the verifier key.
fn key_new(name: String, out: &Path) -> anyhow::Result<String> {
    let name = KeyName::new(name).context("invalid witness name")?;
    let cosigner = Cosigner::generate(name, &mut rand_core::OsRng);
    let mut f = create_private(out).with_context(|| format!("cannot create {}", out.display()))?;
    writeln!(f, "{}", cosigner.to_private_key_string())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(cosigner.verifier().to_string())
}

/// `serve`: answers `POST /add-checkpoint` on `listen` until killed.
fn serve(listen: &str, key: &Path, state: &Path, logs: &[String]) -> anyhow::Result<()> {
    let bytes = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
    let text = String::from_utf8(bytes).context("the key file is not text")?;
    let cosigner =
        Cosigner::parse(text.trim()).context("the key file does not hold a witness key")?;
    let logs = logs
        .iter()
        .map(|l| VerifierKey::parse(l).with_context(|| format!("invalid log key {l}")))
        .collect::<Result<Vec<_>, _>>()?;
    let w = Witness::open(cosigner, logs, state)?;
    let server = tiny_http::Server::http(listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    eprintln!(
        "minhbach-witness: {} on http://{}/add-checkpoint",
        w.verifier(),
        server
            .server_addr()
            .to_ip()
            .map_or_else(|| listen.to_owned(), |a| a.to_string())
    );
    w.serve(&server);
    Ok(())
}

/// Creates a file only its owner can read; never overwrites.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Key {
            command: KeyCommand::New { name, out },
        } => key_new(name, &out).map(Some),
        Command::Serve {
            listen,
            key,
            state,
            logs,
        } => serve(&listen, &key, &state, &logs).map(|()| None),
    };
    match result {
        Ok(msg) => {
            if let Some(msg) = msg {
                println!("{msg}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("minhbach-witness: {e:#}");
            ExitCode::from(2)
        }
    }
}
