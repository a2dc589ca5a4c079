//! What officials do on their own computer: keys, statements from flags,
//! signing and co-signing, and inspecting an envelope (with `--server`,
//! against the log's key registry and rules, without logging anything).

use std::path::Path;

use anyhow::{Context as _, bail};
use clap::{Arg, ArgAction};
use minhbach_ledger::envelope::{Envelope, KeyId, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::statement::{Statement, StatementKind};
use serde_json::{Value, json};

use super::{
    Cli, Refused, client, known_keys, load_envelope, print_json, problem_json, problem_line, read,
    write_out,
};
use crate::client::{Client, ClientError};
use crate::{compose, keys};

pub(super) fn key_new(
    out: &Path,
    no_passphrase: bool,
    comment: &str,
    json: bool,
) -> anyhow::Result<()> {
    let pass = if no_passphrase {
        None
    } else {
        Some(keys::passphrase("Passphrase for the new key: ", true)?)
    };
    let made = keys::generate(out, pass.as_deref(), comment)?;
    if json {
        return print_json(&json!({
            "private_key_file": made.path,
            "public_key_file": made.pub_path,
            "public_key": keys::public_base64(&made.public),
            "keyid": keys::keyid_hex(&made.public),
            "encrypted": pass.is_some(),
        }));
    }
    println!(
        "private key: {} (mode 0600, keep it secret)",
        made.path.display()
    );
    println!("public key file: {}", made.pub_path.display());
    println!("public_key: {}", keys::public_base64(&made.public));
    println!("keyid: {}", keys::keyid_hex(&made.public));
    Ok(())
}

pub(super) fn key_show(file: &Path, json: bool) -> anyhow::Result<()> {
    let public = match keys::load_public(file) {
        Ok(k) => k,
        Err(_) => keys::load(file)?.verifying_key(),
    };
    if json {
        return print_json(&json!({
            "public_key": keys::public_base64(&public),
            "keyid": keys::keyid_hex(&public),
        }));
    }
    println!("public_key: {}", keys::public_base64(&public));
    println!("keyid: {}", keys::keyid_hex(&public));
    Ok(())
}

/// The flags of `minhbach new TYPE`, one per field of the statement type
/// (also the subcommands of `new` in the shell completions).
pub(super) fn type_command(kind: StatementKind) -> clap::Command {
    let mut cmd = clap::Command::new(kind.as_str())
        .about(format!("Build a `{}` statement.", kind.as_str()))
        .bin_name(format!("minhbach new {}", kind.as_str()))
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
    for field in compose::fields(kind) {
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
    cmd
}

pub(super) fn new_statement(kind_name: &str, args: &[String]) -> anyhow::Result<()> {
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
            StatementKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let fields = compose::fields(kind);
    let cmd = type_command(kind).no_binary_name(true);
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

pub(super) fn sign(file: &Path, key: &Path, out: Option<&Path>) -> anyhow::Result<()> {
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

pub(super) fn cosign(
    path: &Path,
    key: &Path,
    out: Option<&Path>,
    server: Option<&str>,
    pubkeys: &[String],
    json: bool,
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
    let written = out.unwrap_or(path);
    write_out(Some(written), &envelope.to_json())?;
    if json {
        return print_json(&json!({
            "type": statement.kind().as_str(),
            "statement_id": statement.id().as_str(),
            "keyid": me.to_string(),
            "signatures": envelope.signatures().len(),
            "file": written,
        }));
    }
    println!(
        "co-signed {} {} as {me}: {} signatures",
        statement.kind().as_str(),
        statement.id().as_str(),
        envelope.signatures().len()
    );
    Ok(())
}

/// One signer of an envelope as `inspect` sees it.
struct SignerView {
    keyid: String,
    validity: &'static str,
    registered: Option<crate::client::Key>,
}

pub(super) fn inspect(
    path: &Path,
    server: Option<&str>,
    pubkeys: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let (envelope, statement) = load_envelope(path)?;
    let pretty: Value = serde_json::from_slice(envelope.payload())?;
    let client = server.map(|s| client(s, 30));
    let registry = client.as_ref().map(Client::keys).transpose()?;
    let known = known_keys(registry.as_ref(), pubkeys)?;
    let message = envelope.pae();
    let signers: Vec<SignerView> = envelope
        .signatures()
        .iter()
        .map(|s| SignerView {
            keyid: s.keyid.to_string(),
            validity: match known.get(&s.keyid) {
                Some(k) if k.verify_strict(&message, &s.sig).is_ok() => "valid",
                Some(_) => "invalid",
                None => "unknown",
            },
            registered: registry
                .as_ref()
                .and_then(|r| r.keys.iter().find(|k| k.keyid == s.keyid.to_string()))
                .cloned(),
        })
        .collect();
    let all_valid = signers.iter().all(|s| s.validity != "invalid");
    // The policy: only the log can say, by a dry run.
    let verdict = match client.map(|c| c.dry_run(&envelope.to_json())) {
        None => None,
        Some(Ok(d)) => Some(Ok(d)),
        Some(Err(ClientError::Problem(p))) => Some(Err(p)),
        Some(Err(e)) => return Err(e.into()),
    };
    if json {
        let list: Vec<Value> = signers
            .iter()
            .map(|s| {
                let r = s.registered.as_ref();
                json!({
                    "keyid": s.keyid,
                    "signature": s.validity,
                    "name": r.map(|k| k.name.clone()),
                    "title": r.and_then(|k| k.title.clone()),
                    "roles": r.map(|k| k.roles.clone()),
                    "revoked_at": r.and_then(|k| k.revoked_at),
                })
            })
            .collect();
        let policy = match &verdict {
            None => json!({"checked": false}),
            Some(Ok(d)) => json!({"checked": true, "met": true, "counted_signers": d.signers}),
            Some(Err(p)) => json!({"checked": true, "met": false, "problem": problem_json(p)}),
        };
        print_json(&json!({
            "type": statement.kind().as_str(),
            "statement": pretty,
            "signers": list,
            "policy": policy,
        }))?;
    } else {
        println!("statement ({}):", statement.kind().as_str());
        println!("{}", serde_json::to_string_pretty(&pretty)?);
        println!("signers ({}):", signers.len());
        for s in &signers {
            let who = s
                .registered
                .as_ref()
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
            let validity = match s.validity {
                "valid" => "signature valid",
                "invalid" => "SIGNATURE INVALID",
                _ => "key unknown here",
            };
            println!("  {} {who} ({validity})", s.keyid);
        }
    }
    match verdict {
        None => {
            if !json {
                println!(
                    "policy: not checked (give --server to ask the log whether it would accept this now)"
                );
            }
            if all_valid {
                Ok(())
            } else {
                Err(Refused("a signature does not verify".into()).into())
            }
        }
        Some(Ok(d)) => {
            if !json {
                println!(
                    "policy: met, the log would accept it now ({} signers count)",
                    d.signers.len()
                );
            }
            Ok(())
        }
        Some(Err(p)) => {
            if !json {
                println!("policy: NOT MET: {}", problem_line(&p));
            }
            Err(Refused(format!("the log would refuse it: {}", p.code)).into())
        }
    }
}
