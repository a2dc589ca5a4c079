//! End-to-end tests of witnessing: the real server (demo history in RocksDB,
//! over HTTP on 127.0.0.1) asks real C2SP witnesses (`minhbach-witness`
//! servers, each with its own durable state) to cosign every checkpoint, and
//! publishes a checkpoint only once the quorum cosigned it. Readers, the
//! receipts and the auditor verify what is published under a policy that
//! requires the witnesses.
#![allow(missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use minhbach_auditor::Fetcher;
use minhbach_auditor::check::{CheckOutcome, check};
use minhbach_ledger::checkpoint::{Checkpoint, LogSigner, open_checkpoint, sign_checkpoint};
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::envelope::{Envelope, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::merkle::Hash;
use minhbach_ledger::note::{KeyName, VerifierKey};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::receipt::ReceiptBundle;
use minhbach_ledger::witness::add_checkpoint_body;
use minhbach_server::datadir::DataDir;
use minhbach_server::demo::{self, DemoOptions};
use minhbach_server::witness::{WitnessPolicy, WitnessSpec};
use minhbach_server::{AppState, WriteConfig};
use minhbach_witness::Witness;
use serde_json::{Value, json};

/// The `add-checkpoint` body, built by the core as the server builds it.
fn request_body(old: u64, proof: &[Hash], signed_checkpoint: &[u8]) -> Vec<u8> {
    add_checkpoint_body(old, proof, signed_checkpoint).unwrap()
}

/// Each witness request may take this long in these tests.
const TIMEOUT: Duration = Duration::from_secs(2);

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from(std::time::SystemTime::now())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let mut r = agent().get(url).call().unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_vec().unwrap())
}

fn get_json(url: &str) -> Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn post(url: &str, body: &[u8]) -> (u16, Value) {
    let mut r = agent().post(url).send(body).unwrap();
    let status = r.status().as_u16();
    let bytes = r.body_mut().read_to_vec().unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Polls `f` every 50 ms for up to `within`; panics with `what` if it never
/// holds.
fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A real witness (the auditor's `witness serve`) on a fixed address, which
/// the test can take down and bring back with the same state file.
struct TestWitness {
    cosigner: Cosigner,
    log: VerifierKey,
    state: PathBuf,
    addr: SocketAddr,
    running: Option<(Arc<tiny_http::Server>, JoinHandle<()>)>,
}

impl TestWitness {
    fn start(name: &str, seed: u8, log: &VerifierKey, dir: &Path) -> Self {
        let cosigner = Cosigner::new(
            KeyName::new(name).unwrap(),
            SigningKey::from_bytes(&[seed; 32]),
        );
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let mut w = Self {
            cosigner,
            log: log.clone(),
            state: dir.join(format!("{name}.json")),
            addr,
            running: None,
        };
        w.run(server);
        w
    }

    fn run(&mut self, server: tiny_http::Server) {
        let witness =
            Witness::open(self.cosigner.clone(), vec![self.log.clone()], &self.state).unwrap();
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::spawn(move || witness.serve(&serving));
        self.running = Some((server, thread));
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn verifier(&self) -> VerifierKey {
        self.cosigner.verifier()
    }

    fn spec(&self) -> WitnessSpec {
        WitnessSpec::new(&self.url(), self.verifier()).unwrap()
    }

    fn name(&self) -> String {
        self.verifier().name().as_str().to_owned()
    }

    /// Takes the witness down: its port refuses connections.
    fn stop(&mut self) {
        if let Some((server, thread)) = self.running.take() {
            server.unblock();
            thread.join().unwrap();
            drop(server);
        }
    }

    /// Brings it back on the same address with the same state.
    fn restart(&mut self) {
        assert!(self.running.is_none());
        let server = eventually(Duration::from_secs(10), "the port is free again", || {
            tiny_http::Server::http(self.addr).ok()
        });
        self.run(server);
    }

    /// The size of the log it last cosigned, from its state file.
    fn cosigned_size(&self) -> u64 {
        let state: Value = serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap();
        state["logs"][demo::DEMO_ORIGIN]["size"].as_u64().unwrap()
    }
}

impl Drop for TestWitness {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A demo data directory (a small seeded history) and its log key.
struct Data {
    dir: tempfile::TempDir,
    signer: LogSigner,
}

impl Data {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Seeded by a writer without witnesses, then closed.
        let prepared = demo::prepare(
            dir.path(),
            DemoOptions { donations: 200 },
            now(),
            &mut rand_core::OsRng,
        )
        .unwrap();
        drop(prepared);
        let signer = DataDir::new(dir.path()).load_log_signer().unwrap().unwrap();
        Self { dir, signer }
    }

    fn verifier(&self) -> VerifierKey {
        self.signer.verifier()
    }

    fn donation(&self, reference: &str) -> Vec<u8> {
        let key = DataDir::new(self.dir.path())
            .load_or_create_official("intake-1", "unused", &mut rand_core::OsRng)
            .unwrap();
        let t = now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let payload = serde_json::to_vec(&json!({
            "type": "donation", "id": format!("witness-test-{reference}"), "time": t,
            "campaign": demo::STORM, "account": "mttq-vcb-0011001932418", "amount": 250_000,
            "asset": "VND", "channel": "bank", "external_ref": reference, "received_at": t,
        }))
        .unwrap();
        Envelope::sign(STATEMENT_PAYLOAD_TYPE, payload, &key).to_json()
    }

    /// A policy trusting the log and `witnesses`, `k` of which must cosign.
    fn policy(&self, witnesses: &[TestWitness], k: usize) -> Policy {
        let mut text = format!("log {}\n", self.verifier());
        let mut names = Vec::new();
        for (i, w) in witnesses.iter().enumerate() {
            text.push_str(&format!("witness w{i} {}\n", w.verifier()));
            names.push(format!("w{i}"));
        }
        text.push_str(&format!("group ws {k} {}\nquorum ws\n", names.join(" ")));
        Policy::parse(text.as_bytes()).unwrap()
    }
}

/// The server over `data`, asking `witnesses` (`required` of them must
/// cosign), on 127.0.0.1:0 until stopped.
struct Server {
    url: String,
    served: minhbach_tests::Served,
}

impl Server {
    fn start(data: &Data, witnesses: &[TestWitness], required: usize) -> Self {
        let (store, signer) = DataDir::new(data.dir.path()).open_existing().unwrap();
        let policy = WitnessPolicy::new(
            witnesses.iter().map(|w| w.spec()).collect(),
            required,
            TIMEOUT,
        )
        .unwrap();
        let config = WriteConfig {
            witnesses: policy,
            ..WriteConfig::default()
        };
        let state = AppState::writer(store, signer, config).unwrap();
        let served = minhbach_tests::Served::start(minhbach_server::app(state));
        Self {
            url: served.url.clone(),
            served,
        }
    }

    /// Stops serving and waits until the state (sequencer, publisher, store)
    /// is gone, so the data directory can be opened again.
    fn stop(&mut self) {
        self.served.stop();
    }

    fn checkpoint(&self) -> Vec<u8> {
        let (status, body) = get(&format!("{}/checkpoint", self.url));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        body
    }

    fn log_info(&self) -> Value {
        get_json(&format!("{}/api/v1/log", self.url))
    }

    fn published_size(&self) -> u64 {
        self.log_info()["tree_size"].as_u64().unwrap()
    }

    fn committed_size(&self) -> u64 {
        self.log_info()["committed_size"].as_u64().unwrap()
    }

    fn metrics(&self) -> String {
        let (status, body) = get(&format!("{}/metrics", self.url));
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    }

    /// The value of the metric line starting with `series ` (0 if absent).
    fn metric(&self, series: &str) -> u64 {
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0)
    }

    fn submit(&self, body: &[u8], wait: bool) -> (u16, Value) {
        let query = if wait { "?wait=checkpoint" } else { "" };
        post(&format!("{}/api/v1/entries{query}", self.url), body)
    }

    /// Waits until the published checkpoint covers `size` entries and
    /// carries the cosignatures of exactly the witnesses at `cosigners`
    /// among `witnesses`; returns it.
    fn published_with(
        &self,
        data: &Data,
        witnesses: &[TestWitness],
        size: u64,
        cosigners: &[usize],
    ) -> Vec<u8> {
        let keys: Vec<VerifierKey> = witnesses.iter().map(TestWitness::verifier).collect();
        let mut want: Vec<String> = cosigners.iter().map(|&i| witnesses[i].name()).collect();
        want.sort();
        eventually(
            Duration::from_secs(30),
            &format!("size {size} is published with cosignatures of {want:?}"),
            || {
                let signed = self.checkpoint();
                let opened = open_checkpoint(&signed, &data.verifier(), &keys).unwrap();
                let mut got: Vec<String> = opened
                    .cosignatures()
                    .iter()
                    .map(|c| c.name.as_str().to_owned())
                    .collect();
                got.sort();
                (opened.checkpoint().size() >= size && got == want).then_some(signed)
            },
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Posts an add-checkpoint body to a witness directly.
fn post_witness(w: &TestWitness, body: &[u8]) -> (u16, String) {
    let mut r = agent()
        .post(&format!("{}/add-checkpoint", w.url()))
        .send(body)
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn text(signed: &[u8]) -> String {
    String::from_utf8_lossy(signed).into_owned()
}

fn size_of(signed: &[u8]) -> u64 {
    let note = minhbach_ledger::note::Note::parse(signed).unwrap();
    Checkpoint::parse(note.text().as_bytes()).unwrap().size()
}

fn verify_receipt(answer: &Value, policy: &Policy) -> u64 {
    let receipt = serde_json::to_vec(&answer["receipt"]).unwrap();
    let verified = ReceiptBundle::from_json(&receipt)
        .unwrap()
        .verify(policy)
        .unwrap();
    assert_eq!(verified.index(), answer["index"].as_u64().unwrap());
    verified.tree_size()
}

#[test]
fn checkpoints_are_published_with_a_quorum_of_cosignatures_and_verify_under_the_witness_policy() {
    let data = Data::new();
    let dir = tempfile::tempdir().unwrap();
    let log = data.verifier();
    let w: Vec<TestWitness> = (0..3)
        .map(|i| TestWitness::start(&format!("w{i}.e2e.test"), 60 + i, &log, dir.path()))
        .collect();
    // w0 already cosigned the log's current checkpoint (say, from a
    // monitor): the server, which never asked it, learns its size from a 409
    // and asks again from there.
    let (store, _) = DataDir::new(data.dir.path()).open_existing().unwrap();
    let current = minhbach_ledger::store::LogStore::checkpoint(&*store)
        .unwrap()
        .unwrap();
    drop(store);
    let (status, _) = post_witness(&w[0], &request_body(0, &[], &current));
    assert_eq!(status, 200);

    let server = Server::start(&data, &w, 2);
    let policy = data.policy(&w, 2);

    // The history seeded before the witnesses were configured was public:
    // its checkpoint stays published, and the witnesses now cosign it.
    let size = server.committed_size();
    let signed = server.published_with(&data, &w, size, &[0, 1, 2]);
    assert_eq!(size_of(&signed), size);
    let verified = policy.verify_checkpoint(&signed).unwrap();
    assert_eq!(verified.witnesses().len(), 3);
    // The policy demands 2 of these 3: a policy naming other witnesses, or
    // the log alone with a quorum, does not accept a checkpoint without them.
    let strangers = [
        TestWitness::start("x0.e2e.test", 90, &log, dir.path()),
        TestWitness::start("x1.e2e.test", 91, &log, dir.path()),
    ];
    let other = data.policy(&strangers, 1);
    assert!(other.verify_checkpoint(&signed).is_err());

    // /api/v1/log names the witnesses and the quorum.
    let info = server.log_info();
    let keys: Vec<String> = w.iter().map(|w| w.verifier().to_string()).collect();
    assert_eq!(info["witnesses"], json!(keys));
    assert_eq!(info["witness_quorum"], 2);
    assert_eq!(info["tree_size"], info["committed_size"]);

    // A submission waiting for the checkpoint gets a receipt that verifies
    // offline under the witness policy.
    let (status, answer) = server.submit(&data.donation("FTWIT0000001"), true);
    assert_eq!(status, 200, "{answer}");
    let index = answer["index"].as_u64().unwrap();
    assert!(verify_receipt(&answer, &policy) > index);
    // The receipts endpoint agrees.
    let (status, body) = get(&format!("{}/api/v1/receipts/{index}", server.url));
    assert_eq!(status, 200);
    let again: Value = serde_json::from_slice(&body).unwrap();
    ReceiptBundle::from_json(&serde_json::to_vec(&again).unwrap())
        .unwrap()
        .verify(&policy)
        .unwrap();

    // The auditor's cron check accepts the witnessed log, then follows it.
    let state = dir.path().join("audit.state");
    let fetcher = Fetcher::new(&server.url);
    let first = check(&fetcher, &policy, &state).unwrap();
    assert!(matches!(first, CheckOutcome::First { .. }), "{first:?}");
    let (status, answer) = server.submit(&data.donation("FTWIT0000002"), true);
    assert_eq!(status, 200, "{answer}");
    verify_receipt(&answer, &policy);
    let next = check(&fetcher, &policy, &state).unwrap();
    assert!(
        matches!(next, CheckOutcome::Verified { new_size, .. } if new_size == size + 2),
        "{next:?}"
    );

    // Every witness recorded what it cosigned; the metrics show it.
    let published = size + 2;
    server.published_with(&data, &w, published, &[0, 1, 2]);
    for witness in &w {
        assert_eq!(witness.cosigned_size(), published);
        let name = witness.name();
        assert!(
            server.metric(&format!(
                "minhbach_witness_requests_total{{witness=\"{name}\",result=\"cosigned\"}}"
            )) >= 3
        );
        assert!(
            server.metric(&format!(
                "minhbach_witness_request_seconds_count{{witness=\"{name}\"}}"
            )) >= 3
        );
        assert_eq!(
            server.metric(&format!(
                "minhbach_witness_cosigned_size{{witness=\"{name}\"}}"
            )),
            published
        );
    }
    assert_eq!(server.metric("minhbach_published_size"), published);
    assert_eq!(server.metric("minhbach_tree_size"), published);
    assert_eq!(server.metric("minhbach_witness_quorum"), 2);
    let conflicts = |name: &str| {
        server.metric(&format!(
            "minhbach_witness_requests_total{{witness=\"{name}\",result=\"conflict\"}}"
        ))
    };
    assert_eq!(conflicts("w0.e2e.test"), 1);
    assert_eq!(conflicts("w1.e2e.test"), 0);
}

#[test]
fn one_witness_down_still_publishes_two_down_holds_publication_until_they_return() {
    let data = Data::new();
    let dir = tempfile::tempdir().unwrap();
    let log = data.verifier();
    let mut w: Vec<TestWitness> = (0..3)
        .map(|i| TestWitness::start(&format!("w{i}.e2e.test"), 70 + i, &log, dir.path()))
        .collect();
    let server = Server::start(&data, &w, 2);
    let policy = data.policy(&w, 2);
    let keys: Vec<VerifierKey> = w.iter().map(TestWitness::verifier).collect();
    let base = server.committed_size();
    server.published_with(&data, &w, base, &[0, 1, 2]);

    // One of three down: 2 of 3 still publish, without its cosignature.
    w[2].stop();
    let (status, answer) = server.submit(&data.donation("FTDOWN000001"), true);
    assert_eq!(status, 200, "{answer}");
    verify_receipt(&answer, &policy);
    let signed = server.checkpoint();
    let opened = open_checkpoint(&signed, &log, &keys).unwrap();
    assert_eq!(opened.checkpoint().size(), base + 1);
    let names: Vec<&str> = opened
        .cosignatures()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(!names.contains(&"w2.e2e.test"), "{names:?}");
    assert!(names.len() >= 2, "{names:?}");

    // Two down: entries are committed, nothing new is published.
    w[1].stop();
    let published = server.checkpoint();
    let (status, answer) = server.submit(&data.donation("FTDOWN000002"), false);
    assert_eq!(status, 200, "{answer}");
    let pending = answer["index"].as_u64().unwrap();
    // Waiting for a checkpoint gives up with 202 and no receipt.
    let (status, waited) = server.submit(&data.donation("FTDOWN000003"), true);
    assert_eq!(status, 202, "{waited}");
    assert!(waited.get("receipt").is_none(), "{waited}");
    assert_eq!(waited["existing"], false);
    assert_eq!(text(&server.checkpoint()), text(&published));
    assert_eq!(server.published_size(), base + 1);
    assert_eq!(server.committed_size(), base + 3);
    let (status, _) = get(&format!("{}/api/v1/receipts/{pending}", server.url));
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{}/api/v1/entries/{pending}", server.url));
    assert_eq!(status, 404);
    // The metrics show why: errors from the two, a publication behind.
    eventually(Duration::from_secs(10), "both errors are counted", || {
        (server.metric("minhbach_witness_requests_total{witness=\"w1.e2e.test\",result=\"error\"}")
            > 0
            && server.metric(
                "minhbach_witness_requests_total{witness=\"w2.e2e.test\",result=\"error\"}",
            ) > 0)
            .then_some(())
    });
    assert_eq!(server.metric("minhbach_published_size"), base + 1);
    assert_eq!(server.metric("minhbach_tree_size"), base + 3);

    // One comes back: the quorum is met again and the pending entries are
    // published without any new submission (the publisher retries).
    w[1].restart();
    let signed = server.published_with(&data, &w, base + 3, &[0, 1]);
    assert_eq!(size_of(&signed), base + 3);
    policy.verify_checkpoint(&signed).unwrap();
    let (status, body) = get(&format!("{}/api/v1/receipts/{pending}", server.url));
    assert_eq!(status, 200);
    ReceiptBundle::from_json(&body)
        .unwrap()
        .verify(&policy)
        .unwrap();
    // And the third, back too, catches up with a proof from its old size.
    w[2].restart();
    let (status, answer) = server.submit(&data.donation("FTDOWN000004"), true);
    assert_eq!(status, 200, "{answer}");
    server.published_with(&data, &w, base + 4, &[0, 1, 2]);
    assert_eq!(w[2].cosigned_size(), base + 4);
}

#[test]
fn a_witness_that_cosigned_a_fork_refuses_and_is_not_counted() {
    let data = Data::new();
    let dir = tempfile::tempdir().unwrap();
    let log = data.verifier();
    let w: Vec<TestWitness> = (0..3)
        .map(|i| TestWitness::start(&format!("w{i}.e2e.test"), 80 + i, &log, dir.path()))
        .collect();
    let keys: Vec<VerifierKey> = w.iter().map(TestWitness::verifier).collect();
    let size = {
        let (store, _) = DataDir::new(data.dir.path()).open_existing().unwrap();
        minhbach_ledger::store::LogStore::tree_size(&*store).unwrap()
    };

    // Witness w2 is shown another history under the same log key: a
    // checkpoint of an earlier size with another root. It cosigns it.
    let fork = sign_checkpoint(
        &Checkpoint::new(demo::DEMO_ORIGIN, size - 10, Hash([7; 32]), vec![]).unwrap(),
        &data.signer,
    );
    let (status, body) = post_witness(&w[2], &request_body(0, &[], &fork));
    assert_eq!(status, 200, "{body}");

    // The server's history does not extend the fork: w2 answers 409 with
    // its size, the server proves from there, w2 finds the proof fails and
    // refuses. w0 and w1 make the quorum of 2.
    let mut server = Server::start(&data, &w, 2);
    let signed = server.published_with(&data, &w, size, &[0, 1]);
    let opened = open_checkpoint(&signed, &log, &keys).unwrap();
    assert!(
        opened
            .cosignatures()
            .iter()
            .all(|c| c.name.as_str() != "w2.e2e.test")
    );
    let (status, answer) = server.submit(&data.donation("FTFORK000001"), true);
    assert_eq!(status, 200, "{answer}");
    verify_receipt(&answer, &data.policy(&w, 2));
    assert_eq!(w[2].cosigned_size(), size - 10);
    let series = |result: &str| {
        format!("minhbach_witness_requests_total{{witness=\"w2.e2e.test\",result=\"{result}\"}}")
    };
    assert!(server.metric(&series("conflict")) >= 1);
    assert!(server.metric(&series("refused")) >= 1);
    assert_eq!(server.metric(&series("cosigned")), 0);
    assert_eq!(server.published_size(), size + 1);
    server.stop();

    // With a quorum of 3 the refusal blocks publication: new entries are
    // committed, the published checkpoint stays the last one with 2.
    let server = Server::start(&data, &w, 3);
    let before = server.checkpoint();
    assert_eq!(size_of(&before), size + 1);
    let (status, answer) = server.submit(&data.donation("FTFORK000002"), false);
    assert_eq!(status, 200, "{answer}");
    eventually(Duration::from_secs(10), "w2 refuses again", || {
        (server.metric(&series("refused")) >= 2).then_some(())
    });
    assert_eq!(text(&server.checkpoint()), text(&before));
    assert_eq!(server.committed_size(), size + 2);
    assert_eq!(w[2].cosigned_size(), size - 10);
}

#[test]
fn a_restart_serves_the_last_published_checkpoint_and_remembers_each_witness_size() {
    let data = Data::new();
    let dir = tempfile::tempdir().unwrap();
    let log = data.verifier();
    let mut w: Vec<TestWitness> = (0..2)
        .map(|i| TestWitness::start(&format!("w{i}.e2e.test"), 100 + i, &log, dir.path()))
        .collect();
    let policy = data.policy(&w, 2);
    let mut server = Server::start(&data, &w, 2);
    let (status, answer) = server.submit(&data.donation("FTREST000001"), true);
    assert_eq!(status, 200, "{answer}");
    let size = verify_receipt(&answer, &policy);
    let published = server.published_with(&data, &w, size, &[0, 1]);
    server.stop();

    // Witnesses down, server restarted: it serves the same published
    // checkpoint, cosignatures and all, and holds back what it commits.
    for witness in &mut w {
        witness.stop();
    }
    let server = Server::start(&data, &w, 2);
    assert_eq!(text(&server.checkpoint()), text(&published));
    policy.verify_checkpoint(&server.checkpoint()).unwrap();
    let (status, answer) = server.submit(&data.donation("FTREST000002"), false);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.committed_size(), size + 1);
    assert_eq!(text(&server.checkpoint()), text(&published));

    // The witnesses return: the server asks them from the sizes it stored,
    // so none answers 409.
    for witness in &mut w {
        witness.restart();
    }
    let signed = server.published_with(&data, &w, size + 1, &[0, 1]);
    policy.verify_checkpoint(&signed).unwrap();
    for witness in &w {
        let name = witness.name();
        assert_eq!(
            server.metric(&format!(
                "minhbach_witness_requests_total{{witness=\"{name}\",result=\"conflict\"}}"
            )),
            0
        );
        assert!(
            server.metric(&format!(
                "minhbach_witness_requests_total{{witness=\"{name}\",result=\"cosigned\"}}"
            )) >= 1
        );
    }
}
