//! `minhbach`: the command-line tool for officials and donors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::receipt::ReceiptBundle;

/// minhbach: sign, submit and check entries of a transparent charity ledger.
#[derive(Parser)]
#[command(name = "minhbach", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute your commitment from the identifier and salt on your support
    /// card, to find your own entries in the public log.
    ///
    /// Example: minhbach commitment --id 079123456789 --salt 3f1c…(64 hex digits)
    Commitment {
        /// The identifier the Front enrolled you with (e.g. a citizen ID number).
        #[arg(long)]
        id: String,
        /// The 32-byte salt printed on your support card, as 64 hex digits.
        #[arg(long)]
        salt: String,
    },
    /// Receipts: check the proof that a donation is in the log.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Verify a receipt bundle offline under a C2SP policy file.
    ///
    /// Example: minhbach receipt verify gift.receipt.json --policy minhbach.policy
    Verify {
        /// The receipt bundle (JSON).
        file: PathBuf,
        /// The C2SP tlog-policy file naming the log key and witnesses.
        #[arg(long, env = "MINHBACH_POLICY")]
        policy: PathBuf,
    },
}

fn run(cli: Cli) -> anyhow::Result<String> {
    match cli.command {
        Command::Commitment { id, salt } => Ok(minhbach_cli::commitment(&id, &salt)?.to_hex()),
        Command::Receipt(ReceiptCommand::Verify { file, policy }) => {
            let policy_bytes = std::fs::read(&policy)
                .with_context(|| format!("cannot read {}", policy.display()))?;
            let policy = Policy::parse(&policy_bytes).context("the policy file is invalid")?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let bundle = ReceiptBundle::from_json(&bytes).context("not a receipt bundle")?;
            let v = bundle
                .verify(&policy)
                .context("the receipt does NOT verify")?;
            Ok(format!(
                "verified: entry {} is in the log at size {} (leaf hash {})",
                v.index(),
                v.tree_size(),
                v.leaf_hash()
            ))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("minhbach: {e:#}");
            ExitCode::FAILURE
        }
    }
}
