//! The world of the CLI tests: officials' keys made by `minhbach key new`
//! and by `ssh-keygen`, a genesis signed with the CLI, a log created from it
//! in RocksDB and served by the real server on 127.0.0.1, and the `minhbach`
//! binary run as a user runs it.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use std::time::Duration;

use minhbach_server::datadir::DataDir;
use minhbach_server::ops;
use minhbach_server::{AppState, WriteConfig};
use serde_json::{Value, json};

/// The log's origin in these tests.
pub(crate) const ORIGIN: &str = "cli.e2e.test/log";
/// The campaign every test uses.
pub(crate) const YAGI: &str = "yagi-2024";
/// Its registered receiving account (slug and number).
pub(crate) const ACCOUNT: &str = "vcb-1";
pub(crate) const ACCOUNT_NUMBER: &str = "0011001932418";
/// A commune of Lào Cai (post-2025 codes).
pub(crate) const WARD: &str = "15-02647";
/// From this amount a disbursement needs three approvers.
pub(crate) const THREE_APPROVALS_FROM: u64 = 100_000_000;

/// The `minhbach` executable: built by `cargo test --workspace` into the
/// target directory, one level above this test's own executable.
pub(crate) fn minhbach_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let me = std::env::current_exe().expect("the test executable's path");
        let candidates: Vec<PathBuf> = me
            .ancestors()
            .skip(1)
            .take(2)
            .map(|dir| dir.join(format!("minhbach{}", std::env::consts::EXE_SUFFIX)))
            .collect();
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "the `minhbach` binary is not built (looked at {candidates:?}): \
                     run these tests with `cargo test --workspace`, or build it first with \
                     `cargo build --workspace --bins`"
                )
            })
    })
}

/// What one run of `minhbach` did.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    /// Asserts success; returns self.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    /// Asserts the exit code; returns self.
    #[track_caller]
    pub(crate) fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        self
    }

    /// Asserts standard output contains `text`.
    #[track_caller]
    pub(crate) fn says(self, text: &str) -> Self {
        assert!(self.stdout.contains(text), "no {text:?} on stdout\n{self}");
        self
    }

    /// Asserts standard error contains `text`.
    #[track_caller]
    pub(crate) fn complains(self, text: &str) -> Self {
        assert!(self.stderr.contains(text), "no {text:?} on stderr\n{self}");
        self
    }

    /// Standard output as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `minhbach args` in `dir`, with `passphrase` in the environment.
pub(crate) fn minhbach_in(dir: &Path, args: &[&str], passphrase: Option<&str>) -> Out {
    let mut cmd = Command::new(minhbach_exe());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("MINHBACH_PASSPHRASE")
        .env_remove("MINHBACH_KEY")
        .env_remove("MINHBACH_SERVER")
        .env_remove("MINHBACH_POLICY");
    if let Some(p) = passphrase {
        cmd.env("MINHBACH_PASSPHRASE", p);
    }
    let out = cmd.output().expect("run minhbach");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// An official: a key file, its passphrase, and what the registry knows.
#[derive(Clone, Debug)]
pub(crate) struct Official {
    pub(crate) file: String,
    pub(crate) passphrase: Option<String>,
    pub(crate) public_key: String,
    pub(crate) keyid: String,
}

fn ssh_keygen(dir: &Path, name: &str, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", name, "-N", passphrase, "-f"])
        .arg(dir.join(name))
        .status()
        .expect("ssh-keygen is installed");
    assert!(status.success(), "ssh-keygen failed");
}

/// The server over a data directory, on 127.0.0.1:0 until dropped.
pub(crate) struct Server {
    pub(crate) url: String,
    /// Serving until the server is dropped.
    _served: minhbach_tests::Served,
}

impl Server {
    fn start(data: &Path, config: WriteConfig) -> Self {
        let (store, signer) = DataDir::new(data).open_existing().unwrap();
        let state = AppState::writer(store, signer, config).unwrap();
        let served = minhbach_tests::Served::start(minhbach_server::app(state));
        Self {
            url: served.url.clone(),
            _served: served,
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A log made with the CLI and served, and the officials who sign for it.
pub(crate) struct Ledger {
    /// Declared first: stopped before its data directory is removed.
    pub(crate) server: Server,
    /// The officials' working folder: key files, statements, envelopes.
    pub(crate) dir: tempfile::TempDir,
    _data: tempfile::TempDir,
    pub(crate) officials: BTreeMap<&'static str, Official>,
}

/// Governance: g1 (`minhbach key new`, passphrase), g2 (`ssh-keygen`,
/// passphrase), g3 (`minhbach key new`, none); 2 of 3 sign.
const GOVERNANCE: [&str; 3] = ["g1", "g2", "g3"];

impl Ledger {
    /// Makes the keys, signs a genesis with the CLI, creates the log from
    /// it, serves it, and logs with the CLI: the campaign, its receiving
    /// account and the grants of an intake officer, three approvers (one
    /// key made by ssh-keygen) and a commune field officer.
    pub(crate) fn start() -> Self {
        Self::start_with(WriteConfig::default())
    }

    /// As [`Ledger::start`], with the server's write settings (witnesses).
    pub(crate) fn start_with(config: WriteConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut officials = BTreeMap::new();
        let cli_keys: [(&'static str, Option<&str>); 6] = [
            ("g1", Some("g1: mật khẩu của Chủ tịch")),
            ("g3", None),
            ("intake", Some("intake passphrase")),
            ("a1", Some("a1 passphrase")),
            ("a3", None),
            ("field", None),
        ];
        for (name, pass) in cli_keys {
            let mut args = vec!["--json", "key", "new", "--out", name, "--comment", name];
            if pass.is_none() {
                args.push("--no-passphrase");
            }
            let made = minhbach_in(d, &args, pass).ok().json();
            assert_eq!(made["encrypted"], json!(pass.is_some()));
            officials.insert(
                name,
                Official {
                    file: name.to_owned(),
                    passphrase: pass.map(str::to_owned),
                    public_key: made["public_key"].as_str().unwrap().to_owned(),
                    keyid: made["keyid"].as_str().unwrap().to_owned(),
                },
            );
        }
        for (name, pass) in [("g2", "g2 ssh passphrase"), ("a2", "a2 ssh passphrase")] {
            ssh_keygen(d, name, pass);
            let shown = minhbach_in(d, &["--json", "key", "show", &format!("{name}.pub")], None)
                .ok()
                .json();
            officials.insert(
                name,
                Official {
                    file: name.to_owned(),
                    passphrase: Some(pass.to_owned()),
                    public_key: shown["public_key"].as_str().unwrap().to_owned(),
                    keyid: shown["keyid"].as_str().unwrap().to_owned(),
                },
            );
        }

        // The genesis, built, signed and co-signed with the CLI.
        let governance = json!({
            "threshold": 2,
            "keys": GOVERNANCE.iter().map(|g| json!({
                "public_key": officials[g].public_key,
                "name": format!("Ban Thường trực {g}"),
                "title": "Ủy viên",
            })).collect::<Vec<_>>(),
        });
        let genesis = minhbach_in(
            d,
            &[
                "new",
                "genesis",
                "--origin",
                ORIGIN,
                "--governance",
                &governance.to_string(),
                "--assets",
                r#"[{"code":"VND","name":"Việt Nam đồng"}]"#,
            ],
            None,
        )
        .ok();
        std::fs::write(d.join("genesis.json"), genesis.stdout).unwrap();
        let g1 = officials["g1"].passphrase.as_deref();
        minhbach_in(
            d,
            &[
                "sign",
                "genesis.json",
                "--key",
                "g1",
                "--out",
                "genesis.env.json",
            ],
            g1,
        )
        .ok();
        let g2 = officials["g2"].passphrase.as_deref();
        minhbach_in(
            d,
            &[
                "cosign",
                "genesis.env.json",
                "--key",
                "g2",
                "--pubkey",
                "g1.pub",
            ],
            g2,
        )
        .ok()
        .says("2 signatures");
        let genesis = std::fs::read(d.join("genesis.env.json")).unwrap();
        let data = tempfile::tempdir().unwrap();
        let created = ops::init(
            data.path(),
            &genesis,
            chrono::Utc::now(),
            &mut rand_core::OsRng,
        )
        .unwrap();
        assert_eq!(created.origin, ORIGIN);
        std::fs::write(
            d.join("policy"),
            format!("log {}\nquorum none\n", created.verifier),
        )
        .unwrap();
        let ledger = Self {
            server: Server::start(data.path(), config),
            dir,
            _data: data,
            officials,
        };

        // The campaign and its account, then the officials' grants.
        let policy = json!({"VND": [{"from": 0, "approvals": 1},
                                    {"from": THREE_APPROVALS_FROM, "approvals": 3}]});
        let mut files = vec![
            ledger.governance(
                "campaign",
                &[
                    "campaign.open",
                    "--campaign",
                    YAGI,
                    "--title-vi",
                    "Ủng hộ đồng bào bị thiệt hại do bão số 3 (Yagi)",
                    "--cause-kind",
                    "typhoon",
                    "--cause-name",
                    "Bão số 3 (Yagi)",
                    "--cause-regions",
                    "15",
                    "--priority",
                    "1",
                    "--assets",
                    "VND",
                    "--approval-policy",
                    &policy.to_string(),
                ],
            ),
            ledger.governance(
                "account",
                &[
                    "account.register",
                    "--account",
                    ACCOUNT,
                    "--campaign",
                    YAGI,
                    "--kind",
                    "bank",
                    "--institution",
                    "Vietcombank",
                    "--number",
                    ACCOUNT_NUMBER,
                    "--holder",
                    "Ủy ban Trung ương MTTQ Việt Nam",
                    "--asset",
                    "VND",
                ],
            ),
        ];
        let grants: [(&str, &str, &str, &[&str]); 5] = [
            (
                "intake",
                "Kế toán tiếp nhận",
                "intake",
                &["--scope-campaigns", YAGI],
            ),
            (
                "a1",
                "Trưởng ban cứu trợ",
                "approver",
                &["--scope-campaigns", YAGI],
            ),
            (
                "a2",
                "Phó ban cứu trợ",
                "approver",
                &["--scope-campaigns", YAGI],
            ),
            ("a3", "Ủy viên", "approver", &["--scope-campaigns", YAGI]),
            (
                "field",
                "Cán bộ MTTQ xã",
                "field",
                &["--scope-regions", "15"],
            ),
        ];
        for (who, title, role, scope) in grants {
            let public_key = ledger.officials[who].public_key.clone();
            let name = format!("Cán bộ {who}");
            let mut args = vec![
                "key.grant",
                "--public-key",
                &public_key,
                "--name",
                &name,
                "--title",
                title,
                "--roles",
                role,
            ];
            args.extend_from_slice(scope);
            files.push(ledger.governance(&format!("grant-{who}"), &args));
        }
        let refs: Vec<&str> = files.iter().map(String::as_str).collect();
        let mut args = vec!["submit"];
        args.extend_from_slice(&refs);
        let out = ledger.cli_with_server(&args).ok();
        for (i, f) in files.iter().enumerate() {
            out.stdout
                .lines()
                .find(|l| *l == format!("{f}: index {}", i + 1))
                .unwrap_or_else(|| panic!("{f} is not at index {}\n{out}", i + 1));
        }
        assert_eq!(ledger.size(), 8);
        ledger
    }

    /// A path in the officials' folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn official(&self, who: &str) -> &Official {
        &self.officials[who]
    }

    /// Runs `minhbach` in the officials' folder (no passphrase).
    pub(crate) fn cli(&self, args: &[&str]) -> Out {
        minhbach_in(self.dir.path(), args, None)
    }

    /// Runs `minhbach` as `who` (their passphrase in the environment).
    pub(crate) fn cli_as(&self, who: &str, args: &[&str]) -> Out {
        minhbach_in(
            self.dir.path(),
            args,
            self.officials[who].passphrase.as_deref(),
        )
    }

    /// Runs `minhbach args --server URL`.
    pub(crate) fn cli_with_server(&self, args: &[&str]) -> Out {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &self.server.url]);
        self.cli(&all)
    }

    /// `minhbach new ARGS > NAME.json`; returns the statement.
    pub(crate) fn new_statement(&self, name: &str, args: &[&str]) -> Value {
        let mut all = vec!["new"];
        all.extend_from_slice(args);
        let out = self.cli(&all).ok();
        std::fs::write(self.path(&format!("{name}.json")), &out.stdout).unwrap();
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// `minhbach sign STATEMENT --key WHO --out ENVELOPE`.
    pub(crate) fn sign_as(&self, who: &str, statement: &str, envelope: &str) {
        let key = self.officials[who].file.clone();
        self.cli_as(who, &["sign", statement, "--key", &key, "--out", envelope])
            .ok()
            .complains(&format!("as {}", self.officials[who].keyid));
    }

    /// A statement built from `args`, signed by `signers` (the first signs,
    /// the others co-sign against the server's registry); returns the
    /// envelope's file name.
    pub(crate) fn signed(&self, name: &str, signers: &[&str], args: &[&str]) -> String {
        self.new_statement(name, args);
        let envelope = format!("{name}.env.json");
        self.sign_as(signers[0], &format!("{name}.json"), &envelope);
        for who in &signers[1..] {
            let key = self.officials[*who].file.clone();
            let mut pubkeys = Vec::new();
            for s in signers {
                if s == who {
                    break;
                }
                pubkeys.push("--pubkey".to_owned());
                pubkeys.push(format!("{s}.pub"));
            }
            let mut all = vec!["cosign", envelope.as_str(), "--key", key.as_str()];
            all.extend(pubkeys.iter().map(String::as_str));
            self.cli_as(who, &all).ok();
        }
        envelope
    }

    /// A statement signed by the governance quorum (g1 and g2).
    fn governance(&self, name: &str, args: &[&str]) -> String {
        self.signed(name, &["g1", "g2"], args)
    }

    /// `minhbach submit FILE --server URL`, asserting success; returns the
    /// entry's index.
    pub(crate) fn submit(&self, file: &str) -> u64 {
        let out = self
            .cli_with_server(&["--json", "submit", file])
            .ok()
            .json();
        out["results"][0]["index"].as_u64().unwrap()
    }

    /// A bank donation to the campaign, signed by the intake officer;
    /// returns its envelope's file name.
    pub(crate) fn donation(&self, name: &str, amount: u64, reference: &str) -> String {
        let amount = amount.to_string();
        self.signed(
            name,
            &["intake"],
            &[
                "donation",
                "--campaign",
                YAGI,
                "--account",
                ACCOUNT,
                "--amount",
                &amount,
                "--asset",
                "VND",
                "--channel",
                "bank",
                "--external-ref",
                reference,
                "--donor-name",
                "N.V.A.",
                "--received-at",
                "2024-09-10T08:00:00Z",
            ],
        )
    }

    /// `GET url` on the server, as JSON; panics unless 200.
    pub(crate) fn get(&self, path: &str) -> Value {
        let mut r = agent()
            .get(&format!("{}{path}", self.server.url))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        let body = r.body_mut().read_to_vec().unwrap();
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// The committed tree size.
    pub(crate) fn size(&self) -> u64 {
        self.get("/api/v1/log")["committed_size"].as_u64().unwrap()
    }

    /// The statement logged at `index`, as the server decodes it.
    pub(crate) fn entry(&self, index: u64) -> Value {
        self.get(&format!("/api/v1/entries/{index}"))
    }

    /// The index of the donation with bank reference `r`.
    pub(crate) fn lookup_ref(&self, r: &str) -> u64 {
        self.get(&format!("/api/v1/lookup?ref={r}"))["index"]
            .as_u64()
            .unwrap()
    }
}

/// A URL where nothing listens: a port bound, then freed.
pub(crate) fn dead_server() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}
