//! A load generator over real HTTP, shared by the restart test, the replica
//! test and the load bench: the `minhbach-server` binary as a child process,
//! the demo officials' keys from its data directory, and batches of the
//! demo's load statements ([`minhbach_demo::load`]) posted over keep-alive
//! connections.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ed25519_dalek::SigningKey;
#[allow(unused_imports)] // not every test including this file uses them all
pub(crate) use minhbach_demo::load::{disbursement, donation, donation_amount};
use minhbach_server::datadir::DataDir;
use serde_json::Value;

/// A `minhbach-server` child process and the URL it serves.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
}

/// A test that panics must not leave a server running.
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    /// Starts `minhbach-server <args…> --listen 127.0.0.1:0` and waits for
    /// the address it prints.
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_minhbach-server"));
        cmd.args(args);
        Self::spawn(cmd)
    }

    /// Starts `cmd` (a `minhbach-server` command line) with `--listen
    /// 127.0.0.1:0` and waits for the address it prints.
    pub(crate) fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "minhbach_server=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start minhbach-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the server printed its address before exiting")
                .expect("read the server's output");
            if let Some(rest) = line.split(" at http://").nth(1) {
                break format!("http://{}", rest.trim_end_matches('/'));
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    /// SIGKILL: no chance to finish anything.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server");
    }

    /// SIGTERM, then waits for the graceful exit; returns whether it exited
    /// successfully.
    pub(crate) fn terminate(mut self) -> bool {
        let pid = i32::try_from(self.child.id()).expect("a pid");
        let ok = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM {pid}");
        self.child.wait().expect("reap the server").success()
    }
}

/// The demo's intake official, who may record donations.
pub(crate) fn intake_key(data: &Path) -> SigningKey {
    DataDir::new(data)
        .load_or_create_official(minhbach_demo::INTAKE, "unused", &mut rand_core::OsRng)
        .expect("the demo's intake key")
}

/// The demo's first approver, who may sign disbursements of up to
/// 100,000,000 ₫ from the storm campaign alone.
#[allow(dead_code)] // used by the load bench, not by every test including this file
pub(crate) fn approver_key(data: &Path) -> SigningKey {
    DataDir::new(data)
        .load_or_create_official(minhbach_demo::APPROVER, "unused", &mut rand_core::OsRng)
        .expect("the demo's approver key")
}

/// A keep-alive HTTP client.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// What the server answered for one statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Acked {
    pub(crate) index: u64,
    pub(crate) leaf_hash: String,
    pub(crate) statement_id: String,
    pub(crate) existing: bool,
}

/// `envelopes` (each a JSON object) as one JSON array: a batch request body.
pub(crate) fn batch_body(envelopes: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(envelopes.iter().map(Vec::len).sum::<usize>() + 2);
    body.push(b'[');
    for (i, e) in envelopes.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e);
    }
    body.push(b']');
    body
}

/// Posts `envelopes` as one JSON array; `Ok` with one acknowledgment per
/// envelope when the server accepted them all, `Err` with a description
/// otherwise (network errors included).
pub(crate) fn post_batch(
    agent: &ureq::Agent,
    url: &str,
    envelopes: &[Vec<u8>],
    query: &str,
) -> Result<Vec<Acked>, String> {
    let body = batch_body(envelopes);
    let mut response = agent
        .post(&format!("{url}/api/v1/entries{query}"))
        .header("content-type", "application/json")
        .send(&body[..])
        .map_err(|e| format!("network: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(1 << 26)
        .read_to_string()
        .map_err(|e| format!("reading the answer: {e}"))?;
    if status != 200 {
        return Err(format!("HTTP {status}: {text}"));
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    value["results"]
        .as_array()
        .ok_or_else(|| format!("no results: {text}"))?
        .iter()
        .map(|r| {
            Ok(Acked {
                index: r["index"].as_u64().ok_or_else(|| format!("refused: {r}"))?,
                leaf_hash: r["leaf_hash"].as_str().unwrap_or_default().to_owned(),
                statement_id: r["statement_id"].as_str().unwrap_or_default().to_owned(),
                existing: r["existing"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// GETs `path` as JSON.
pub(crate) fn get_json(agent: &ureq::Agent, url: &str, path: &str) -> Result<Value, String> {
    let mut response = agent
        .get(&format!("{url}{path}"))
        .call()
        .map_err(|e| format!("network: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// GETs `path` as bytes.
pub(crate) fn get_bytes(agent: &ureq::Agent, url: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut response = agent
        .get(&format!("{url}{path}"))
        .call()
        .map_err(|e| format!("network: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    Ok(bytes)
}
