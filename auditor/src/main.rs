//! `minhbach-audit`: verify what a minhbach log publishes.
//!
//! Exit codes: 0 verified, 1 the log misbehaved or an artefact failed
//! verification (proven bad or not what it claims), 2 usage, network or I/O
//! error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use minhbach_auditor::check::{CheckOutcome, check};
use minhbach_auditor::full::{FullOptions, Selector, full, trace, write_json};
use minhbach_auditor::report::Thresholds;
use minhbach_auditor::{
    AuditError, Fetcher, export, load_policy, verify_checkpoint, verify_receipt,
    verify_receipt_online,
};
use minhbach_ledger::policy::Policy;

/// Verify a minhbach log, its receipts and checkpoints without trusting the
/// operator.
#[derive(Parser)]
#[command(name = "minhbach-audit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct PolicyArg {
    /// The C2SP tlog-policy file naming the log key and witnesses.
    #[arg(long, env = "MINHBACH_POLICY")]
    policy: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a receipt bundle offline; with --url, also prove its
    /// checkpoint is a prefix of today's tree.
    ///
    /// Example: minhbach-audit receipt gift.receipt.json --policy minhbach.policy
    Receipt {
        /// The receipt bundle (JSON: {"leaf", "proof"}).
        file: PathBuf,
        #[command(flatten)]
        policy: PolicyArg,
        /// The log's read path (server, mirror or CDN).
        #[arg(long)]
        url: Option<String>,
    },
    /// Verify a signed checkpoint under a C2SP policy file.
    ///
    /// Example: minhbach-audit checkpoint checkpoint.txt --policy minhbach.policy
    Checkpoint {
        /// The signed checkpoint (a C2SP signed note).
        file: PathBuf,
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Fetch the checkpoint, verify it and prove it consistent with the one
    /// remembered in the state file (quiet on success: made for cron).
    ///
    /// Example: `minhbach-audit check --url https://log.example --policy p --state audit.state`
    Check {
        /// The log's read path.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        policy: PolicyArg,
        /// The state file (created on first run).
        #[arg(long)]
        state: PathBuf,
        /// Where to write evidence of misbehaviour (default: STATE.evidence.json).
        #[arg(long)]
        evidence: Option<PathBuf>,
        /// Print a line on success too.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Download the whole log, recompute the root, verify every signature,
    /// replay every rule and write reports (txt, json, csv) with anomalies.
    Full {
        /// The log's read path.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        policy: PolicyArg,
        /// The report directory (its cache/ keeps downloaded full tiles).
        #[arg(long)]
        out: PathBuf,
        /// Concurrent downloads.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
        /// A check state file: prove consistency with it, move it forward.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Flag disbursements unacknowledged for longer than this.
        #[arg(long, default_value_t = 30)]
        unacked_days: u32,
        /// The time of the report, RFC 3339 (default: now).
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
    },
    /// Where did a donation go: recomputed from a full replay and compared
    /// with the server's answer.
    Trace {
        /// The log's read path (and the server's API, to compare).
        #[arg(long)]
        url: String,
        #[command(flatten)]
        policy: PolicyArg,
        /// The donation's external reference (bank transaction id).
        #[arg(long = "ref", group = "which")]
        reference: Option<String>,
        /// The donation's statement id.
        #[arg(long, group = "which")]
        id: Option<String>,
        /// The donation's entry index.
        #[arg(long, group = "which")]
        index: Option<u64>,
        /// A directory to cache full tiles in.
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Concurrent downloads.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
    },
    /// Export every statement as CSV (one file per type) and JSON Lines.
    Export {
        /// The log's read path.
        #[arg(long)]
        url: String,
        /// The C2SP policy (without it the checkpoint signature is not checked).
        #[arg(long, env = "MINHBACH_POLICY")]
        policy: Option<PathBuf>,
        /// The output directory.
        #[arg(long)]
        out: PathBuf,
        /// Concurrent downloads.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
    },
}

type Failure = (u8, anyhow::Error);

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(|e| (2, e))
}

fn verdict(e: AuditError) -> Failure {
    let code = if e.is_verification_failure() { 1 } else { 2 };
    (code, anyhow::Error::new(e))
}

fn usage(e: anyhow::Error) -> Failure {
    (2, e)
}

fn policy(p: &Path) -> Result<Policy, Failure> {
    load_policy(&read(p)?).map_err(verdict)
}

fn run(cli: Cli) -> Result<Option<String>, Failure> {
    match cli.command {
        Command::Receipt { file, policy, url } => receipt(&file, &policy, url.as_deref()),
        Command::Checkpoint { file, policy } => checkpoint(&file, &policy),
        Command::Check {
            url,
            policy,
            state,
            evidence,
            verbose,
        } => check_command(&url, &policy, &state, evidence, verbose),
        Command::Full {
            url,
            policy,
            out,
            jobs,
            state,
            unacked_days,
            as_of,
        } => full_command(
            &url,
            &policy,
            FullOptions {
                out,
                jobs,
                state,
                thresholds: Thresholds {
                    unacked_days,
                    as_of: as_of
                        .unwrap_or_else(|| DateTime::<Utc>::from(std::time::SystemTime::now())),
                },
                progress: true,
            },
        ),
        Command::Trace {
            url,
            policy,
            reference,
            id,
            index,
            cache,
            jobs,
        } => {
            let selector = match (reference, id, index) {
                (Some(r), _, _) => Some(Selector::Ref(r)),
                (_, Some(i), _) => Some(Selector::Id(i)),
                (_, _, Some(n)) => Some(Selector::Index(n)),
                _ => None,
            };
            trace_command(&url, &policy, selector, cache.as_deref(), jobs)
        }
        Command::Export {
            url,
            policy,
            out,
            jobs,
        } => export_command(&url, policy.as_deref(), &out, jobs),
    }
}

/// `receipt`: verifies a receipt bundle offline; with `url`, also proves its
/// checkpoint a prefix of today's tree.
fn receipt(file: &Path, p: &PolicyArg, url: Option<&str>) -> Result<Option<String>, Failure> {
    let policy = policy(&p.policy)?;
    let bytes = read(file)?;
    let (v, today) = match url {
        None => (verify_receipt(&bytes, &policy).map_err(verdict)?, None),
        Some(url) => {
            let (v, today) =
                verify_receipt_online(&bytes, &policy, &Fetcher::new(url)).map_err(verdict)?;
            (v, Some(today.checkpoint().size()))
        }
    };
    let cp = v.checkpoint().checkpoint();
    let mut msg = format!(
        "verified: entry {} (leaf hash {}) is in {} at size {}, root {}",
        v.index(),
        v.leaf_hash(),
        cp.origin(),
        v.tree_size(),
        cp.root().to_base64()
    );
    if let Some(size) = today {
        msg.push_str(&format!(
            "\nand that tree is a prefix of today's tree of size {size}"
        ));
    }
    Ok(Some(msg))
}

/// `checkpoint`: verifies a signed checkpoint under the policy.
fn checkpoint(file: &Path, p: &PolicyArg) -> Result<Option<String>, Failure> {
    let policy = policy(&p.policy)?;
    let v = verify_checkpoint(&read(file)?, &policy).map_err(verdict)?;
    let cp = v.checkpoint();
    Ok(Some(format!(
        "verified: {} size {} root {}",
        cp.origin(),
        cp.size(),
        cp.root().to_base64()
    )))
}

/// `check`: proves today's checkpoint consistent with the remembered one;
/// writes the evidence of misbehaviour next to the state unless told where.
fn check_command(
    url: &str,
    p: &PolicyArg,
    state: &Path,
    evidence: Option<PathBuf>,
    verbose: bool,
) -> Result<Option<String>, Failure> {
    let policy = policy(&p.policy)?;
    match check(&Fetcher::new(url), &policy, state).map_err(verdict)? {
        CheckOutcome::Misbehaviour(e) => {
            let path = evidence.unwrap_or_else(|| {
                let mut s = state.to_owned().into_os_string();
                s.push(".evidence.json");
                PathBuf::from(s)
            });
            write_json(&path, &e).map_err(verdict)?;
            Err((
                1,
                anyhow::anyhow!(
                    "MISBEHAVIOUR ({}): {}; evidence written to {}",
                    e.kind,
                    e.explanation,
                    path.display()
                ),
            ))
        }
        CheckOutcome::First { size } => {
            Ok(verbose.then(|| format!("verified: first checkpoint, size {size}")))
        }
        CheckOutcome::Verified { old_size, new_size } => Ok(verbose
            .then(|| format!("verified: size {new_size} is consistent with size {old_size}"))),
        _ => Ok(None),
    }
}

/// `full`: the whole log downloaded, recomputed and replayed, with reports.
fn full_command(url: &str, p: &PolicyArg, options: FullOptions) -> Result<Option<String>, Failure> {
    let policy = policy(&p.policy)?;
    let outcome = full(&Fetcher::new(url), &policy, &options).map_err(verdict)?;
    let out = &options.out;
    if let Some(why) = &outcome.not_resumed {
        eprintln!("note: {why}; replayed from entry 0");
    }
    let r = &outcome.report;
    if let Some(e) = &outcome.evidence {
        return Err((
            1,
            anyhow::anyhow!(
                "MISBEHAVIOUR ({}): {}; evidence in {}",
                e.kind,
                e.explanation,
                out.join("evidence.json").display()
            ),
        ));
    }
    if let Some(rej) = &r.rejection {
        return Err((
            1,
            anyhow::anyhow!(
                "MISBEHAVIOUR: entry {} {}; report in {}",
                rej.index,
                rej.detail,
                out.display()
            ),
        ));
    }
    let resumed = outcome
        .resumed_from
        .map(|n| format!(", replay resumed at entry {n}"))
        .unwrap_or_default();
    Ok(Some(format!(
        "verified: {} entries of {}, {} signatures, root {}; {} anomalies; report in {} ({} files fetched, {} cached{resumed})",
        r.tree_size,
        r.origin,
        r.signatures_verified,
        r.root,
        r.anomalies.len(),
        out.display(),
        outcome.fetched,
        outcome.cached
    )))
}

/// `trace`: a donation's trace recomputed and compared with the server's.
fn trace_command(
    url: &str,
    p: &PolicyArg,
    selector: Option<Selector>,
    cache: Option<&Path>,
    jobs: usize,
) -> Result<Option<String>, Failure> {
    let policy = policy(&p.policy)?;
    let selector = selector.ok_or_else(|| usage(anyhow::anyhow!("give --ref, --id or --index")))?;
    let t = trace(&Fetcher::new(url), &policy, &selector, cache, jobs).map_err(verdict)?;
    let pretty = serde_json::to_string_pretty(&t.trace).map_err(|e| usage(e.into()))?;
    Ok(Some(format!(
        "verified: the server's trace of donation {} matches the recomputed one\n{pretty}",
        t.index
    )))
}

/// `export`: every statement as CSV and JSON Lines.
fn export_command(
    url: &str,
    policy_file: Option<&Path>,
    out: &Path,
    jobs: usize,
) -> Result<Option<String>, Failure> {
    let policy = policy_file.map(policy).transpose()?;
    let o = export::export(&Fetcher::new(url), policy.as_ref(), out, jobs).map_err(verdict)?;
    Ok(Some(format!(
        "exported {} entries ({}) to {}",
        o.entries,
        o.by_type
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    )))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(msg) => {
            if let Some(msg) = msg {
                println!("{msg}");
            }
            ExitCode::SUCCESS
        }
        Err((code, e)) => {
            eprintln!("minhbach-audit: {e:#}");
            ExitCode::from(code)
        }
    }
}
