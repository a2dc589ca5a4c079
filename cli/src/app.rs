//! The `minhbach` commands: argument definitions and what each one does.
//!
//! Exit codes: 0 ok; 1 refused by the server or failed verification
//! ([`Refused`]); 2 usage, file or network errors.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Arg, ArgAction, Parser, Subcommand};
use ed25519_dalek::VerifyingKey;
use minhbach_ledger::envelope::{Envelope, KeyId, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::receipt::ReceiptBundle;
use minhbach_ledger::statement::Statement;
use serde_json::Value;

use crate::bank::mask::NameDisplay;
use crate::bank::{self, Format, Layout};
use crate::client::{Client, ClientError, ItemResult, Problem, Registry};
use crate::explain::{amount, explain};
use crate::import::{self, Outcome, Summary};
use crate::{compose, keys};

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
    /// Where did a gift go? (DESIGN 6.8)
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
    BankStatement {
        /// The bank's export (CSV or .xlsx).
        file: PathBuf,
        /// The campaign the money is for.
        #[arg(long)]
        campaign: String,
        /// The registered receiving account (its slug, e.g. vcb-1).
        #[arg(long)]
        account: String,
        /// An intake key (required unless --dry-run).
        #[arg(long, env = "MINHBACH_KEY")]
        key: Option<PathBuf>,
        /// The server (required unless --dry-run).
        #[arg(long, env = "MINHBACH_SERVER")]
        server: Option<String>,
        /// The bank's layout.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
        /// A TOML or JSON file naming the columns of any other layout.
        #[arg(long, conflicts_with = "format")]
        mapping: Option<PathBuf>,
        /// How to show counterparty names.
        #[arg(long, value_enum, default_value_t = NameDisplay::Initials)]
        names: NameDisplay,
        /// Read and print the summary and statements; sign and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
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
    match cli.command {
        Command::Key(KeyCommand::New {
            out,
            no_passphrase,
            comment,
        }) => key_new(&out, no_passphrase, &comment),
        Command::Key(KeyCommand::Show { file }) => key_show(&file),
        Command::New { kind, args } => new_statement(&kind, &args),
        Command::Sign { file, key, out } => sign(&file, &key, out.as_deref()),
        Command::Cosign {
            envelope,
            key,
            out,
            server,
            pubkeys,
        } => cosign(&envelope, &key, out.as_deref(), server.as_deref(), &pubkeys),
        Command::Inspect {
            envelope,
            server,
            pubkeys,
        } => inspect(&envelope, server.as_deref(), &pubkeys),
        Command::Submit {
            files,
            server,
            wait,
            receipts,
        } => submit(&files, &server, wait, receipts.as_deref()),
        Command::Import(ImportCommand::BankStatement {
            file,
            campaign,
            account,
            key,
            server,
            format,
            mapping,
            names,
            dry_run,
        }) => import_bank(&BankImport {
            file,
            campaign,
            account,
            key,
            server,
            format,
            mapping,
            names,
            dry_run,
        }),
        Command::Receipt(ReceiptCommand::Get {
            server,
            target,
            out,
        }) => receipt_get(&server, &target, out.as_deref()),
        Command::Receipt(ReceiptCommand::Verify { file, policy }) => receipt_verify(&file, &policy),
        Command::Trace { server, target } => trace(&server, &target),
        Command::Commitment { id, salt } => {
            println!("{}", crate::commitment(&id, &salt)?.to_hex());
            Ok(())
        }
    }
}

fn client(server: &str, timeout_secs: u64) -> Client {
    Client::new(server, Duration::from_secs(timeout_secs))
}

fn key_new(out: &Path, no_passphrase: bool, comment: &str) -> anyhow::Result<()> {
    let pass = if no_passphrase {
        None
    } else {
        Some(keys::passphrase("Passphrase for the new key: ", true)?)
    };
    let made = keys::generate(out, pass.as_deref(), comment)?;
    println!(
        "private key: {} (mode 0600, keep it secret)",
        made.path.display()
    );
    println!("public key file: {}", made.pub_path.display());
    println!("public_key: {}", keys::public_base64(&made.public));
    println!("keyid: {}", keys::keyid_hex(&made.public));
    Ok(())
}

fn key_show(file: &Path) -> anyhow::Result<()> {
    let public = match keys::load_public(file) {
        Ok(k) => k,
        Err(_) => keys::load(file)?.verifying_key(),
    };
    println!("public_key: {}", keys::public_base64(&public));
    println!("keyid: {}", keys::keyid_hex(&public));
    Ok(())
}

fn new_statement(kind_name: &str, args: &[String]) -> anyhow::Result<()> {
    if matches!(kind_name, "-h" | "--help" | "help") {
        let mut cli = <Cli as clap::CommandFactory>::command();
        if let Some(new) = cli.find_subcommand_mut("new") {
            new.print_long_help()?;
        }
        return Ok(());
    }
    let Some(kind) = compose::kind_named(kind_name) else {
        bail!(
            "unknown statement type {kind_name:?}; one of: {}",
            minhbach_ledger::statement::StatementKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let fields = compose::fields(kind);
    let mut cmd = clap::Command::new(format!("minhbach new {}", kind.as_str()))
        .about(format!("Build a `{}` statement.", kind.as_str()))
        .no_binary_name(true)
        .arg(
            Arg::new("id")
                .long("id")
                .help("statement id (default: a fresh UUIDv7)"),
        )
        .arg(
            Arg::new("time")
                .long("time")
                .help("RFC 3339 UTC time (default: now)"),
        );
    for field in fields {
        let flag = compose::flag_name(field.path);
        let help = if field.required {
            format!("{} [required]", field.help)
        } else {
            field.help.to_owned()
        };
        let action = if field.kind == compose::Kind::List {
            ArgAction::Append
        } else {
            ArgAction::Set
        };
        cmd = cmd.arg(Arg::new(field.path).long(flag).help(help).action(action));
    }
    let matches = match cmd.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => e.exit(),
    };
    let values: Vec<(&'static str, Vec<String>)> = fields
        .iter()
        .filter_map(|f| {
            matches
                .get_many::<String>(f.path)
                .map(|v| (f.path, v.cloned().collect()))
        })
        .collect();
    let (_, json) = compose::compose(
        kind,
        &values,
        matches.get_one::<String>("id").map(String::as_str),
        matches.get_one::<String>("time").map(String::as_str),
        chrono::Utc::now(),
    )?;
    println!("{json}");
    Ok(())
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

fn sign(file: &Path, key: &Path, out: Option<&Path>) -> anyhow::Result<()> {
    let bytes = read(file)?;
    let statement = Statement::from_json(&bytes)
        .with_context(|| format!("{} is not a valid statement", file.display()))?;
    let signing = keys::load(key)?;
    let envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, bytes, &signing);
    write_out(out, &envelope.to_json())?;
    eprintln!(
        "signed {} {} as {}",
        statement.kind().as_str(),
        statement.id().as_str(),
        keys::keyid_hex(&signing.verifying_key())
    );
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
    registry: Option<&Registry>,
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

fn cosign(
    path: &Path,
    key: &Path,
    out: Option<&Path>,
    server: Option<&str>,
    pubkeys: &[String],
) -> anyhow::Result<()> {
    let (mut envelope, statement) = load_envelope(path)?;
    let registry = server.map(|s| client(s, 30).keys()).transpose()?;
    let known = known_keys(registry.as_ref(), pubkeys)?;
    let signing = keys::load(key)?;
    let me = KeyId::of(&signing.verifying_key());
    if envelope.signatures().iter().any(|s| s.keyid == me) {
        return Err(Refused(format!("you ({me}) already signed this envelope")).into());
    }
    if let Err(e) = envelope.verify(|id| known.get(id).copied()) {
        let hint = if server.is_none() && pubkeys.is_empty() {
            " (give --server or --pubkey so the earlier signatures can be checked)"
        } else {
            ""
        };
        return Err(Refused(format!("refusing to co-sign: {e}{hint}")).into());
    }
    envelope.add_signature(&signing)?;
    write_out(Some(out.unwrap_or(path)), &envelope.to_json())?;
    println!(
        "co-signed {} {} as {me}: {} signatures",
        statement.kind().as_str(),
        statement.id().as_str(),
        envelope.signatures().len()
    );
    Ok(())
}

fn inspect(path: &Path, server: Option<&str>, pubkeys: &[String]) -> anyhow::Result<()> {
    let (envelope, statement) = load_envelope(path)?;
    let pretty: Value = serde_json::from_slice(envelope.payload())?;
    println!("statement ({}):", statement.kind().as_str());
    println!("{}", serde_json::to_string_pretty(&pretty)?);
    let client = server.map(|s| client(s, 30));
    let registry = client.as_ref().map(Client::keys).transpose()?;
    let known = known_keys(registry.as_ref(), pubkeys)?;
    let message = envelope.pae();
    println!("signers ({}):", envelope.signatures().len());
    let mut all_valid = true;
    for s in envelope.signatures() {
        let validity = match known.get(&s.keyid) {
            Some(k) if k.verify_strict(&message, &s.sig).is_ok() => "signature valid",
            Some(_) => {
                all_valid = false;
                "SIGNATURE INVALID"
            }
            None => "key unknown here",
        };
        let who = registry
            .as_ref()
            .and_then(|r| r.keys.iter().find(|k| k.keyid == s.keyid.to_string()))
            .map(|k| {
                let mut w = k.name.clone();
                if let Some(t) = &k.title {
                    w.push_str(&format!(", {t}"));
                }
                w.push_str(&format!(" [{}]", k.roles.join(", ")));
                if let Some(r) = k.revoked_at {
                    w.push_str(&format!(" REVOKED at entry {r}"));
                }
                w
            })
            .unwrap_or_default();
        println!("  {} {who} ({validity})", s.keyid);
    }
    let Some(client) = client else {
        println!(
            "policy: not checked (give --server to ask the log whether it would accept this now)"
        );
        return if all_valid {
            Ok(())
        } else {
            Err(Refused("a signature does not verify".into()).into())
        };
    };
    match client.dry_run(&envelope.to_json()) {
        Ok(d) => {
            println!(
                "policy: ok, the log would accept it now ({} signers count)",
                d.signers.len()
            );
            Ok(())
        }
        Err(ClientError::Problem(p)) => {
            println!("policy: NOT MET: {}", problem_line(&p));
            Err(Refused(format!("the log would refuse it: {}", p.code)).into())
        }
        Err(e) => Err(e.into()),
    }
}

fn problem_line(p: &Problem) -> String {
    let mut s = format!("{}: {}", p.code, explain(&p.code));
    if let Some(d) = p.detail.as_deref().filter(|d| !d.is_empty()) {
        s.push_str(&format!(" ({d})"));
    }
    s
}

/// The envelopes of a file: one envelope, or a JSON array of them.
fn envelopes_in(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = read(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let items = match value {
        Value::Array(items) => items
            .iter()
            .map(|v| serde_json::to_vec(v).unwrap_or_default())
            .collect(),
        _ => vec![bytes],
    };
    for (i, e) in items.iter().enumerate() {
        Envelope::from_json(e)
            .with_context(|| format!("{} item {i} is not a DSSE envelope", path.display()))?;
    }
    Ok(items)
}

fn submit(
    files: &[PathBuf],
    server: &str,
    wait: bool,
    receipts: Option<&Path>,
) -> anyhow::Result<()> {
    let mut labelled = Vec::new();
    for f in files {
        let items = envelopes_in(f)?;
        let many = items.len() > 1;
        for (i, e) in items.into_iter().enumerate() {
            let label = if many {
                format!("{}[{i}]", f.display())
            } else {
                f.display().to_string()
            };
            labelled.push((label, e));
        }
    }
    if let Some(dir) = receipts {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let client = client(server, if wait { 600 } else { 60 });
    let mut refused = 0;
    for chunk in labelled.chunks(BATCH) {
        let bodies: Vec<Vec<u8>> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let results = client.submit(&bodies, wait)?;
        for ((label, _), result) in chunk.iter().zip(results) {
            match result {
                ItemResult::Accepted(a) => {
                    let note = if a.existing { " (already logged)" } else { "" };
                    println!("{label}: index {}{note}", a.index);
                    if let (Some(dir), Some(r)) = (receipts, &a.receipt) {
                        let path = dir.join(format!("{}.receipt.json", a.index));
                        replace_file(&path, &serde_json::to_vec_pretty(r)?)?;
                    }
                }
                ItemResult::Refused(p) => {
                    refused += 1;
                    let at = p
                        .existing_index
                        .map(|i| format!(" [entry {i}]"))
                        .unwrap_or_default();
                    println!("{label}: refused: {}{at}", problem_line(&p));
                }
            }
        }
    }
    if refused > 0 {
        return Err(Refused(format!("{refused} of {} refused", labelled.len())).into());
    }
    Ok(())
}

struct BankImport {
    file: PathBuf,
    campaign: String,
    account: String,
    key: Option<PathBuf>,
    server: Option<String>,
    format: Format,
    mapping: Option<PathBuf>,
    names: NameDisplay,
    dry_run: bool,
}

fn import_bank(a: &BankImport) -> anyhow::Result<()> {
    let layouts = match &a.mapping {
        Some(m) => vec![Layout::from_file(m)?],
        None => Layout::builtin(a.format),
    };
    // Check the key and server before reading a large file.
    let (signing, client) = if a.dry_run {
        (None, None)
    } else {
        let key = a
            .key
            .as_deref()
            .context("--key is required (or use --dry-run)")?;
        let server = a
            .server
            .as_deref()
            .context("--server is required (or use --dry-run)")?;
        (Some(keys::load(key)?), Some(client(server, 120)))
    };
    let parsed = bank::parse_file(&a.file, &layouts)?;
    let mut summary = Summary::new(&parsed);
    let mut rejected = Vec::new();
    let prepared = import::prepare(
        &parsed,
        &a.campaign,
        &a.account,
        a.names,
        chrono::Utc::now(),
        &mut rejected,
    );
    summary
        .rejected
        .extend(rejected.into_iter().map(|m| (m.line, m.reason)));
    let (Some(signing), Some(client)) = (signing, client) else {
        for p in &prepared {
            println!("{}", String::from_utf8_lossy(&p.json));
        }
        println!("{}", summary.render(true));
        return if summary.rejected.is_empty() {
            Ok(())
        } else {
            Err(Refused(format!("{} lines rejected", summary.rejected.len())).into())
        };
    };
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(prepared.len() as u64),
        if std::io::stderr().is_terminal() {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        },
    );
    for chunk in prepared.chunks(BATCH) {
        let bodies: Vec<Vec<u8>> = chunk
            .iter()
            .map(|p| Envelope::sign(STATEMENT_PAYLOAD_TYPE, p.json.clone(), &signing).to_json())
            .collect();
        let results = client.submit(&bodies, false).map_err(|e| {
            bar.abandon();
            anyhow::Error::new(e).context(format!(
                "submitting lines {}..={} failed (nothing later was sent; importing again is safe)",
                chunk.first().map_or(0, |p| p.line),
                chunk.last().map_or(0, |p| p.line)
            ))
        })?;
        for (p, result) in chunk.iter().zip(results) {
            let outcome = match result {
                ItemResult::Accepted(x) if x.existing => Outcome::AlreadyPresent(x.index),
                ItemResult::Accepted(x) => Outcome::Imported(x.index),
                ItemResult::Refused(pr) if pr.code == "duplicate" => {
                    Outcome::AlreadyPresent(pr.existing_index.unwrap_or_default())
                }
                ItemResult::Refused(pr) => Outcome::Rejected(problem_line(&pr)),
            };
            summary.record(p, &outcome);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    println!("{}", summary.render(false));
    if summary.rejected.is_empty() {
        Ok(())
    } else {
        Err(Refused(format!("{} lines rejected", summary.rejected.len())).into())
    }
}

fn resolve(client: &Client, target: &Target) -> anyhow::Result<u64> {
    match (&target.reference, target.index) {
        (_, Some(i)) => Ok(i),
        (Some(r), None) => match client.lookup_ref(r) {
            Ok(found) => Ok(found.index),
            Err(ClientError::Problem(p)) if p.status == 404 => {
                Err(Refused(format!("no donation with reference {r} in the log")).into())
            }
            Err(e) => Err(e.into()),
        },
        (None, None) => bail!("give --ref or --index"),
    }
}

fn receipt_get(server: &str, target: &Target, out: Option<&Path>) -> anyhow::Result<()> {
    let client = client(server, 60);
    let index = resolve(&client, target)?;
    let bytes = client.receipt(index)?;
    ReceiptBundle::from_json(&bytes)
        .context("the server sent something that is not a receipt bundle")?;
    write_out(out, &bytes)?;
    if let Some(p) = out {
        eprintln!("saved the receipt of entry {index} to {}", p.display());
    }
    Ok(())
}

fn receipt_verify(file: &Path, policy: &Path) -> anyhow::Result<()> {
    let policy_bytes = read(policy)?;
    let policy = Policy::parse(&policy_bytes).context("the policy file is invalid")?;
    let bytes = read(file)?;
    let bundle = ReceiptBundle::from_json(&bytes).context("not a receipt bundle")?;
    let v = bundle
        .verify(&policy)
        .map_err(|e| Refused(format!("the receipt does NOT verify: {e}")))?;
    println!(
        "verified: entry {} is in the log at size {} (leaf hash {})",
        v.index(),
        v.tree_size(),
        v.leaf_hash()
    );
    Ok(())
}

fn trace(server: &str, target: &Target) -> anyhow::Result<()> {
    let client = client(server, 60);
    let index = resolve(&client, target)?;
    let t = client.trace(index)?;
    println!("{}", render_trace(&t));
    Ok(())
}

/// Puts a trace (`GET /api/v1/donations/{index}/trace`) into plain words.
#[must_use]
pub fn render_trace(t: &Value) -> String {
    let asset = t["asset"].as_str().unwrap_or("VND");
    let money = |v: &Value| amount(v.as_u64().unwrap_or(0), asset);
    let mut lines = vec![format!(
        "Gift at entry {} of {} to campaign {}.",
        t["donation"],
        money(&t["amount"]),
        t["campaign"].as_str().unwrap_or("?")
    )];
    if let Some(r) = t["reversed_by"].as_u64() {
        lines.push(format!("It was reversed (bounced) by entry {r}."));
    }
    let steps = t["steps"].as_array().cloned().unwrap_or_default();
    if steps.is_empty() {
        lines.push("None of it has been spent yet.".into());
    }
    for s in &steps {
        let at = &s["at"];
        let how = money(&s["amount"]);
        let campaign = s["campaign"].as_str().unwrap_or("?");
        let kind = &s["kind"];
        let line = match kind["type"].as_str().unwrap_or("") {
            "disbursed" => {
                let ack = match s["ack"]["status"].as_str() {
                    Some("acknowledged") => "the recipient acknowledged it".to_owned(),
                    Some("unacknowledged") => "not acknowledged yet".to_owned(),
                    Some("partial") => format!(
                        "partly acknowledged ({} of {})",
                        money(&s["ack"]["acknowledged"]),
                        money(&s["ack"]["of"])
                    ),
                    Some("reversed") => {
                        format!("that payment was reversed by entry {}", s["ack"]["by"])
                    }
                    _ => "acknowledgment unknown".to_owned(),
                };
                format!("{how} went out in disbursement {at} of {campaign}: {ack}.")
            }
            "transferred" => format!(
                "{how} moved from {campaign} to campaign {} by transfer {at}.",
                kind["to"].as_str().unwrap_or("?")
            ),
            "covered_reversal" => format!(
                "{how} covered the reversal of gift {} (entry {at}).",
                kind["donation"]
            ),
            "donation_reversed" => format!("{how} was removed when the gift bounced (entry {at})."),
            "restored" => format!(
                "{how} came back when disbursement {} was reversed (entry {at}).",
                kind["disbursement"]
            ),
            other => format!("{how}: {other} at entry {at}."),
        };
        lines.push(format!("- {line}"));
    }
    lines.push(format!("Still unspent: {}.", money(&t["unspent"])));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_in_plain_words() {
        let t = serde_json::json!({
            "donation": 14, "campaign": "yagi-2024", "asset": "VND", "amount": 1_000_000,
            "reversed_by": null, "unspent": 200_000,
            "steps": [
                {"at": 24, "campaign": "yagi-2024", "amount": 500_000, "kind": {"type": "disbursed"}, "ack": {"status": "acknowledged"}},
                {"at": 29, "campaign": "yagi-2024", "amount": 300_000, "kind": {"type": "transferred", "to": "hanoi-fund"}}
            ]
        });
        let text = render_trace(&t);
        assert!(
            text.contains("Gift at entry 14 of 1.000.000 ₫ to campaign yagi-2024."),
            "{text}"
        );
        assert!(text.contains("500.000 ₫ went out in disbursement 24 of yagi-2024: the recipient acknowledged it."), "{text}");
        assert!(
            text.contains("300.000 ₫ moved from yagi-2024 to campaign hanoi-fund by transfer 29."),
            "{text}"
        );
        assert!(text.ends_with("Still unspent: 200.000 ₫."), "{text}");
    }
}
