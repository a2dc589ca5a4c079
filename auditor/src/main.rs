//! `minhbach-audit`: verify what a minhbach log publishes.
//!
//! Exit codes: 0 verified, 1 the artefact failed verification (proven bad or
//! not what it claims), 2 usage or I/O error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use minhbach_auditor::{load_policy, verify_checkpoint, verify_receipt, AuditError};

/// Verify minhbach receipts and checkpoints without trusting the operator.
#[derive(Parser)]
#[command(name = "minhbach-audit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a receipt bundle offline under a C2SP policy file.
    ///
    /// Example: minhbach-audit receipt gift.receipt.json --policy minhbach.policy
    Receipt {
        /// The receipt bundle (JSON: {"leaf", "proof"}).
        file: PathBuf,
        /// The C2SP tlog-policy file naming the log key and witnesses.
        #[arg(long, env = "MINHBACH_POLICY")]
        policy: PathBuf,
    },
    /// Verify a signed checkpoint under a C2SP policy file.
    ///
    /// Example: minhbach-audit checkpoint checkpoint.txt --policy minhbach.policy
    Checkpoint {
        /// The signed checkpoint (a C2SP signed note).
        file: PathBuf,
        /// The C2SP tlog-policy file.
        #[arg(long, env = "MINHBACH_POLICY")]
        policy: PathBuf,
    },
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn run(cli: Cli) -> Result<String, (u8, anyhow::Error)> {
    let usage = |e: anyhow::Error| (2u8, e);
    let verdict = |e: AuditError| {
        let code = if e.is_verification_failure() { 1 } else { 2 };
        (code, anyhow::Error::new(e))
    };
    match cli.command {
        Command::Receipt { file, policy } => {
            let policy = load_policy(&read(&policy).map_err(usage)?).map_err(verdict)?;
            let v = verify_receipt(&read(&file).map_err(usage)?, &policy).map_err(verdict)?;
            let cp = v.checkpoint().checkpoint();
            Ok(format!(
                "verified: entry {} (leaf hash {}) is in {} at size {}, root {}",
                v.index(),
                v.leaf_hash(),
                cp.origin(),
                v.tree_size(),
                cp.root().to_base64()
            ))
        }
        Command::Checkpoint { file, policy } => {
            let policy = load_policy(&read(&policy).map_err(usage)?).map_err(verdict)?;
            let v = verify_checkpoint(&read(&file).map_err(usage)?, &policy).map_err(verdict)?;
            let cp = v.checkpoint();
            Ok(format!(
                "verified: {} size {} root {}",
                cp.origin(),
                cp.size(),
                cp.root().to_base64()
            ))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err((code, e)) => {
            eprintln!("minhbach-audit: {e:#}");
            ExitCode::from(code)
        }
    }
}
