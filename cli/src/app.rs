//! The `minhbach` commands: argument definitions, dispatch, and what the
//! commands share (reading files, the client, problems in plain words).
//!
//! The commands themselves are in the private submodules: keys, statements
//! and signatures (`officials`), sending envelopes and bank statements
//! (`send`), and receipts, traces and commitments (`donors`).
//!
//! Exit codes: 0 ok; 1 refused by the server or failed verification
//! ([`Refused`]); 2 usage, file or network errors. With `--json` each
//! command prints one JSON document on standard output instead of text
//! (errors stay text on standard error).

mod donors;
mod officials;
mod send;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use ed25519_dalek::VerifyingKey;
use minhbach_ledger::envelope::{Envelope, KeyId, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::statement::Statement;
use serde_json::{Value, json};

use crate::client::{Client, Keys, Problem};
use crate::explain::explain;
use crate::keys;

pub use donors::render_trace;

/// The largest batch `submit` and `import` send in one request.
pub const BATCH: usize = 500;

/// An error meaning "refused or not verified" (exit code 1), as opposed to
/// usage, file and network errors (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// minhbach: sign, submit and check entries of a transparent charity ledger.
#[derive(Debug, Parser)]
#[command(name = "minhbach", version, about)]
pub struct Cli {
    /// Print one JSON document on standard output instead of text (for
    /// scripts).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Build a statement from flags and print its JSON (fresh id, time now).
    ///
    /// Types: genesis, key.grant, key.revoke, campaign.open, campaign.update,
    /// campaign.close, account.register, account.close, account.balance,
    /// donation, transfer, beneficiary.enroll, beneficiary.update,
    /// disbursement, acknowledgment, reversal, feedback.open, feedback.resolve.
    /// `minhbach new TYPE --help` lists a type's flags.
    ///
    /// Example: minhbach new disbursement --campaign yagi-2024 --amount 20000000
    /// --asset VND --recipient-organization "UBND xã Tân Lập" --region 15-02647
    /// --purpose "Sửa nhà" > d.json
    #[command(disable_help_flag = true)]
    New {
        /// The statement type.
        #[arg(value_name = "TYPE", allow_hyphen_values = true)]
        kind: String,
        /// The type's flags (see `minhbach new TYPE --help`).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "FLAGS"
        )]
        args: Vec<String>,
    },
    /// Sign a statement file into a DSSE envelope.
    ///
    /// Example: minhbach sign d.json --key ~/.ssh/minhbach_ed25519 --out d.envelope.json
    Sign {
        /// The statement JSON.
        file: PathBuf,
        /// Your OpenSSH ed25519 private key.
        #[arg(long, env = "MINHBACH_KEY")]
        key: PathBuf,
        /// Where to write the envelope (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Add your signature to an envelope that others signed.
    ///
    /// The existing signatures are checked first, against the server's key
    /// registry (--server) or the given public keys (--pubkey).
    ///
    /// Example: minhbach cosign d.envelope.json --key my_key --pubkey anh.pub
    Cosign {
        /// The envelope file (rewritten in place unless --out).
        envelope: PathBuf,
        /// Your OpenSSH ed25519 private key.
        #[arg(long, env = "MINHBACH_KEY")]
        key: PathBuf,
        /// Where to write the co-signed envelope.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The server whose key registry names the signers.
        #[arg(long, env = "MINHBACH_SERVER")]
        server: Option<String>,
        /// Public keys of earlier signers (.pub files or base64), repeatable.
        #[arg(long = "pubkey")]
        pubkeys: Vec<String>,
    },
    /// Show an envelope: the statement, its signers, and whether the server
    /// would accept it now (with --server: a dry run, nothing is logged).
    ///
    /// Example: minhbach inspect d.envelope.json --server https://log.example
    Inspect {
        /// The envelope file.
        envelope: PathBuf,
        /// The server to check against.
        #[arg(long, env = "MINHBACH_SERVER")]
        server: Option<String>,
        /// Public keys to check signatures offline (.pub files or base64).
        #[arg(long = "pubkey")]
        pubkeys: Vec<String>,
    },
    /// Send envelopes to the log (in batches of 500).
    ///
    /// Example: minhbach submit *.envelope.json --wait --receipts receipts/
    Submit {
        /// Envelope files (each one envelope or a JSON array of envelopes).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The server.
        #[arg(long, env = "MINHBACH_SERVER")]
        server: String,
        /// Wait until a published checkpoint covers the entries.
        #[arg(long)]
        wait: bool,
        /// With --wait: save each receipt as DIR/<index>.receipt.json.
        #[arg(long, requires = "wait")]
        receipts: Option<PathBuf>,
    },
    /// Import a file of another system.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Receipts: get the proof that a donation is in the log, and check it.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Where did a gift go? (SPEC 6.8)
    ///
    /// Example: minhbach trace --server https://log.example --ref FT24254000000001
    Trace {
        /// The server.
        #[arg(long, env = "MINHBACH_SERVER")]
        server: String,
        #[command(flatten)]
        target: Target,
    },
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
    /// Print a shell completion script: commands, flags and, after `new`,
    /// the statement types and each type's own flags.
    ///
    /// Example (bash): minhbach completions bash > ~/.local/share/bash-completion/completions/minhbach
    ///
    /// Example (zsh): minhbach completions zsh > "${fpath[1]}/_minhbach"
    ///
    /// Example (fish): minhbach completions fish > ~/.config/fish/completions/minhbach.fish
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Make a new ed25519 signing key (OpenSSH format) and print its public
    /// key and keyid. The passphrase is asked on the terminal, or read from
    /// MINHBACH_PASSPHRASE.
    ///
    /// Example: minhbach key new --out ~/.ssh/minhbach_ed25519 --comment "Kế toán xã"
    New {
        /// The private key file (a .pub file is written beside it).
        #[arg(long, default_value = "minhbach_ed25519")]
        out: PathBuf,
        /// Write the key without a passphrase (not recommended).
        #[arg(long)]
        no_passphrase: bool,
        /// A comment stored in the key.
        #[arg(long, default_value = "minhbach")]
        comment: String,
    },
    /// Print the public key and keyid of a private or public key file.
    ///
    /// Example: minhbach key show ~/.ssh/id_ed25519.pub
    Show {
        /// The key file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Turn the credits of a bank statement (CSV or xlsx) into signed
    /// donations and submit them. Idempotent: importing again adds nothing
    /// twice.
    ///
    /// Example: minhbach import bank-statement sao-ke.csv --campaign yagi-2024
    /// --account vcb-1 --key intake_key --server https://log.example
    BankStatement(send::BankImport),
}

#[derive(Debug, Subcommand)]
enum ReceiptCommand {
    /// Save the receipt bundle of a donation (by bank reference) or entry.
    ///
    /// Example: minhbach receipt get --server https://log.example --ref FT24254000000001 --out gift.receipt.json
    Get {
        /// The server.
        #[arg(long, env = "MINHBACH_SERVER")]
        server: String,
        #[command(flatten)]
        target: Target,
        /// Where to save it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
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

/// A donation by bank reference, or an entry by index.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Target {
    /// The bank transaction reference (the digits after "Ref" in your SMS).
    #[arg(long = "ref")]
    reference: Option<String>,
    /// The entry index.
    #[arg(long)]
    index: Option<u64>,
}

/// Runs a parsed command line.
///
/// # Errors
/// Any failure; [`Refused`] in the chain means exit code 1.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Key(KeyCommand::New {
            out,
            no_passphrase,
            comment,
        }) => officials::key_new(&out, no_passphrase, &comment, json),
        Command::Key(KeyCommand::Show { file }) => officials::key_show(&file, json),
        Command::New { kind, args } => officials::new_statement(&kind, &args),
        Command::Sign { file, key, out } => officials::sign(&file, &key, out.as_deref()),
        Command::Cosign {
            envelope,
            key,
            out,
            server,
            pubkeys,
        } => officials::cosign(
            &envelope,
            &key,
            out.as_deref(),
            server.as_deref(),
            &pubkeys,
            json,
        ),
        Command::Inspect {
            envelope,
            server,
            pubkeys,
        } => officials::inspect(&envelope, server.as_deref(), &pubkeys, json),
        Command::Submit {
            files,
            server,
            wait,
            receipts,
        } => send::submit(&files, &server, wait, receipts.as_deref(), json),
        Command::Import(ImportCommand::BankStatement(import)) => send::import_bank(&import, json),
        Command::Receipt(ReceiptCommand::Get {
            server,
            target,
            out,
        }) => donors::receipt_get(&server, &target, out.as_deref(), json),
        Command::Receipt(ReceiptCommand::Verify { file, policy }) => {
            donors::receipt_verify(&file, &policy, json)
        }
        Command::Trace { server, target } => donors::trace(&server, &target, json),
        Command::Commitment { id, salt } => donors::commitment(&id, &salt, json),
        Command::Completions { shell } => {
            completions(shell, &mut std::io::stdout().lock());
            Ok(())
        }
    }
}

/// Writes the completion script for `shell`. `new`'s free-form type and
/// flags are replaced, for completion only, by one subcommand per statement
/// type with that type's flags (what `minhbach new TYPE --help` lists).
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut cli = <Cli as clap::CommandFactory>::command();
    cli = cli.mut_subcommand("new", |new| {
        let mut new = new
            .mut_arg("kind", |a| a.hide(true).required(false))
            .mut_arg("args", |a| a.hide(true));
        for kind in minhbach_ledger::statement::StatementKind::ALL {
            new = new.subcommand(officials::type_command(kind));
        }
        new
    });
    clap_complete::generate(shell, &mut cli, "minhbach", out);
}

fn client(server: &str, timeout_secs: u64) -> Client {
    Client::new(server, Duration::from_secs(timeout_secs))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(p) => replace_file(p, bytes),
        None => {
            println!("{}", String::from_utf8_lossy(bytes));
            Ok(())
        }
    }
}

/// Writes a (non-secret) file atomically: a temporary file, then a rename.
fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Prints `value` as pretty JSON on standard output (`--json`).
fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn load_envelope(path: &Path) -> anyhow::Result<(Envelope, Statement)> {
    let bytes = read(path)?;
    let envelope = Envelope::from_json(&bytes)
        .with_context(|| format!("{} is not a DSSE envelope", path.display()))?;
    if envelope.payload_type() != STATEMENT_PAYLOAD_TYPE {
        bail!(
            "{}: payload type {:?} is not a minhbach statement",
            path.display(),
            envelope.payload_type()
        );
    }
    let statement = Statement::from_json(envelope.payload())
        .with_context(|| format!("{}: the signed statement is invalid", path.display()))?;
    Ok((envelope, statement))
}

/// Known public keys by keyid: from the server's registry and `--pubkey`s.
fn known_keys(
    registry: Option<&Keys>,
    pubkeys: &[String],
) -> anyhow::Result<HashMap<KeyId, VerifyingKey>> {
    let mut known = HashMap::new();
    for k in registry.map(|r| r.keys.as_slice()).unwrap_or_default() {
        if let Ok(v) = keys::parse_public(&k.public_key, Path::new("registry")) {
            known.insert(KeyId::of(&v), v);
        }
    }
    for p in pubkeys {
        let path = Path::new(p);
        let v = if path.exists() {
            keys::load_public(path)?
        } else {
            keys::parse_public(p, Path::new("--pubkey"))?
        };
        known.insert(KeyId::of(&v), v);
    }
    Ok(known)
}

/// A problem in plain words: the stable code, the HTTP status, what it
/// means, and the server's detail.
fn problem_line(p: &Problem) -> String {
    let mut s = p.code.clone();
    if p.status != 0 {
        s.push_str(&format!(" (HTTP {})", p.status));
    }
    s.push_str(&format!(": {}", explain(&p.code)));
    if let Some(d) = p.detail.as_deref().filter(|d| !d.is_empty()) {
        s.push_str(&format!(" ({d})"));
    }
    s
}

/// A problem for `--json`: the server's fields and the explanation.
fn problem_json(p: &Problem) -> Value {
    json!({
        "code": p.code,
        "status": p.status,
        "title": p.title,
        "explanation": explain(&p.code),
        "detail": p.detail,
        "existing_index": p.existing_index,
    })
}
