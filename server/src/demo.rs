//! The demo: a data directory with a development log key, officials' keys
//! and a realistic history, built **through the rules**: every statement is
//! signed by the officials the rules require and goes through the same
//! [`Core`] as a live submission, so the demo log replays cleanly in any
//! auditor.
//!
//! The history covers two campaigns:
//!
//! - a storm campaign (typhoon Yagi, Lào Cai and Thái Nguyên) taking money
//!   (VND, two bank accounts and cash) and rice in kind (`kg_rice`);
//! - a flood campaign (central Việt Nam, Huế and Đà Nẵng) with its own account;
//!
//! with a genesis signed by 2 of 3 governance keys, key grants, households
//! enrolled in ten communes of four provinces (commitments only: no personal
//! data), thousands of donations through bank, cash and in-kind channels,
//! disbursements to households (one approval) and to communes (≥ the policy's
//! threshold: 2 of 3 approvers), acknowledgments by field officers, a bounced
//! donation reversed, a disbursement reversed, daily bank balances (one that
//! does not match, shown, never hidden) and feedback items, some resolved.
//!
//! Content is deterministic (a fixed pseudo-random sequence); the keys, the
//! statement ids' random bits and the times are not: times run over the three
//! days before `now`. Seeding happens only when the log is empty.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::checkpoint::{CheckpointError, LogSigner};
use minhbach_ledger::envelope::{Envelope, EnvelopeError, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::rules::Rejection;
use minhbach_ledger::statement::{Commitment, Slug};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::LogStore as _;
use rand_core::CryptoRngCore;
use serde::Serialize;
use serde_json::{json, Value};

use crate::datadir::{DataDir, DataDirError};
use crate::metrics::Metrics;
use crate::sequencer::{
    check_envelopes, Accepted, Books, Core, CoreError, SequencerError, SharedBooks,
};
use crate::{AppState, StartError, WriteConfig};

/// The demo log's origin (and the name of its key).
pub const DEMO_ORIGIN: &str = "demo.minhbach.vn/log";

/// The storm campaign.
pub const STORM: &str = "bao-yagi";
/// The flood campaign.
pub const FLOOD: &str = "lu-mien-trung";

const ACCOUNT_VCB: &str = "mttq-vcb-0011001932418";
const ACCOUNT_VTB: &str = "mttq-vietinbank-ct1111";
const ACCOUNT_BIDV: &str = "mttq-bidv-flood";

/// Errors while preparing the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The data directory failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A checkpoint could not be built (an invalid origin).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A statement could not be signed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The writer could not open the log.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A batch could not be committed.
    #[error(transparent)]
    Sequencer(#[from] SequencerError),
    /// The server could not start over the seeded log.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The rules refused a demo statement: the demo is wrong.
    #[error("the rules refused demo statement {what}: {rejection} ({code})")]
    Refused {
        /// The statement's type.
        what: String,
        /// Why.
        rejection: Rejection,
        /// The stable code.
        code: &'static str,
    },
}

/// How much history to seed.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// The number of donations (at least [`DemoOptions::MIN_DONATIONS`]).
    pub donations: usize,
}

impl DemoOptions {
    /// The fewest donations the demo seeds: its fixed payments (commune
    /// support, rice, household aid) need at least this much money in.
    pub const MIN_DONATIONS: usize = 300;
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { donations: 3000 }
    }
}

/// The roles an official holds in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Approver,
    Field,
    Governance,
    Intake,
}

/// One demo official: file name, name, title, role, region scope.
struct OfficialSpec {
    id: &'static str,
    name: &'static str,
    title: &'static str,
    role: Role,
    regions: &'static [&'static str],
}

const OFFICIALS: &[OfficialSpec] = &[
    OfficialSpec {
        id: "governance-1",
        name: "Nguyễn Thị Hồng",
        title: "Phó Chủ tịch Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
        regions: &[],
    },
    OfficialSpec {
        id: "governance-2",
        name: "Lê Văn Minh",
        title: "Trưởng Ban Kiểm tra Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
        regions: &[],
    },
    OfficialSpec {
        id: "governance-3",
        name: "Hoàng Văn Thái",
        title: "Ủy viên Ban Thường trực Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
        regions: &[],
    },
    OfficialSpec {
        id: "intake-1",
        name: "Trần Thu Hà",
        title: "Kế toán Ban Vận động Cứu trợ Trung ương",
        role: Role::Intake,
        regions: &[],
    },
    OfficialSpec {
        id: "approver-1",
        name: "Phạm Quốc Bảo",
        title: "Trưởng Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
        regions: &[],
    },
    OfficialSpec {
        id: "approver-2",
        name: "Đỗ Thị Lan",
        title: "Phó Trưởng Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
        regions: &[],
    },
    OfficialSpec {
        id: "approver-3",
        name: "Vương Đình Huệ",
        title: "Ủy viên Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
        regions: &[],
    },
    OfficialSpec {
        id: "field-north",
        name: "Lò Văn Sình",
        title: "Cán bộ MTTQ tỉnh Lào Cai và Thái Nguyên",
        role: Role::Field,
        regions: &["15", "19"],
    },
    OfficialSpec {
        id: "field-central",
        name: "Trần Thị Diệu",
        title: "Cán bộ MTTQ thành phố Huế và Đà Nẵng",
        role: Role::Field,
        regions: &["46", "48"],
    },
];

/// The demo officials' keys, loaded or created in `<data>/officials/`.
pub struct Officials {
    keys: Vec<(&'static OfficialSpec, SigningKey)>,
}

impl Officials {
    /// Loads the demo officials' keys from `data`, creating missing ones.
    ///
    /// # Errors
    /// A [`DataDirError`] if a key cannot be read or written.
    pub fn load_or_create(
        data: &DataDir,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, DataDirError> {
        let keys = OFFICIALS
            .iter()
            .map(|spec| {
                let comment = format!("{}@{DEMO_ORIGIN}", spec.id);
                data.load_or_create_official(spec.id, &comment, rng)
                    .map(|key| (spec, key))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    fn key(&self, id: &str) -> &SigningKey {
        self.keys
            .iter()
            .find(|(s, _)| s.id == id)
            .map(|(_, k)| k)
            .expect("the demo names only officials of OFFICIALS")
    }

    /// Signs `payload` with the keys `ids`, in order.
    fn sign(&self, ids: &[&str], payload: Vec<u8>) -> Result<Envelope, EnvelopeError> {
        let mut envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, payload, self.key(ids[0]));
        for id in &ids[1..] {
            envelope.add_signature(self.key(id))?;
        }
        Ok(envelope)
    }
}

/// What [`prepare`] opened.
pub struct Prepared {
    /// The server state over the opened log, with its sequencer running.
    pub state: AppState,
    /// Leaves appended by this start (0 when the log already had a history).
    pub seeded: u64,
    /// The tree size after seeding.
    pub size: u64,
}

/// Opens (creating) the demo data directory, its log key and officials'
/// keys, seeds the history if the log is empty, and starts the writer.
/// `now` is the current time, from the system clock.
///
/// # Errors
/// A [`DemoError`] if anything cannot be read, created or appended.
pub fn prepare(
    data: &Path,
    options: DemoOptions,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<Prepared, DemoError> {
    let dir = DataDir::new(data);
    dir.create()?;
    let store = Arc::new(dir.open_store()?);
    let signer = dir.load_or_create_log_signer(&store, DEMO_ORIGIN, rng)?;
    let officials = Officials::load_or_create(&dir, rng)?;
    let seeded = seed_if_empty(&store, &signer, &officials, options, now, rng)?;
    let size = store.tree_size().map_err(DataDirError::from)?;
    let state = AppState::writer(store, signer, WriteConfig::default())?;
    Ok(Prepared {
        state,
        seeded,
        size,
    })
}

/// Appends the demo history through the rules if the log is empty; returns
/// the number of leaves appended.
///
/// # Errors
/// A [`DemoError`] if a statement is refused or a batch cannot be committed;
/// the batches committed before stay.
pub fn seed_if_empty(
    store: &Arc<RocksStore>,
    signer: &LogSigner,
    officials: &Officials,
    options: DemoOptions,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<u64, DemoError> {
    if store.tree_size().map_err(DataDirError::from)? > 0 {
        tracing::info!(target: "minhbach_server::demo", "log already has a history; not seeding");
        return Ok(0);
    }
    let books = SharedBooks::new(Books::open(store).map_err(CoreError::from)?);
    let core = Core::new(
        Arc::clone(store),
        books.clone(),
        signer.clone(),
        Arc::new(Metrics::new(0)),
    )?;
    let mut seeder = Seeder {
        core,
        books,
        officials,
        queue: Vec::new(),
        batch_start: None,
        seq: Sequence::new(0x5961_6769_3230_3234),
        rng,
    };
    history(&mut seeder, options, now)?;
    seeder.flush()?;
    let size = seeder.core.size();
    tracing::info!(target: "minhbach_server::demo", size, "seeded the demo history");
    Ok(size)
}

/// Feeds demo statements to the writer in time-ordered batches, as a live
/// sequencer would see them.
struct Seeder<'a, R> {
    core: Core,
    books: SharedBooks,
    officials: &'a Officials,
    queue: Vec<(String, Envelope)>,
    batch_start: Option<DateTime<Utc>>,
    seq: Sequence,
    rng: &'a mut R,
}

/// Statements signed within this long of the first one of a batch go in
/// the same commit.
const WINDOW_MINUTES: i64 = 20;

impl<R: CryptoRngCore> Seeder<'_, R> {
    /// Queues a statement signed at `t` by `signers`; `fields` come after
    /// `type`, `id` and `time`.
    fn push(
        &mut self,
        t: DateTime<Utc>,
        kind: &str,
        signers: &[&str],
        fields: &[(&str, Value)],
    ) -> Result<(), DemoError> {
        if self
            .batch_start
            .is_some_and(|s| t - s > Duration::minutes(WINDOW_MINUTES))
        {
            self.flush()?;
        }
        let _ = self.batch_start.get_or_insert(t);
        let id = fields
            .iter()
            .find(|(k, _)| *k == "id")
            .map_or_else(|| json!(statement_id(t, self.rng)), |(_, v)| v.clone());
        let mut all = vec![
            ("type", json!(kind)),
            ("id", id),
            ("time", json!(rfc3339(t))),
        ];
        all.extend(fields.iter().filter(|(k, _)| *k != "id").cloned());
        let envelope = self.officials.sign(signers, ordered(&all))?;
        self.queue.push((kind.to_owned(), envelope));
        Ok(())
    }

    /// Pushes one statement and commits at once; returns where it landed,
    /// for statements that must reference it.
    fn commit_one(
        &mut self,
        t: DateTime<Utc>,
        kind: &str,
        signers: &[&str],
        fields: &[(&str, Value)],
    ) -> Result<Accepted, DemoError> {
        self.flush()?;
        self.push(t, kind, signers, fields)?;
        let mut out = self.flush()?;
        Ok(out.pop().expect("one statement was queued"))
    }

    /// Commits the queue, logged at the last statement's time plus a few
    /// seconds; every statement must be accepted.
    fn flush(&mut self) -> Result<Vec<Accepted>, DemoError> {
        let Some(start) = self.batch_start.take() else {
            return Ok(Vec::new());
        };
        let queue = std::mem::take(&mut self.queue);
        let (kinds, envelopes): (Vec<String>, Vec<Envelope>) = queue.into_iter().unzip();
        let last = envelopes
            .iter()
            .filter_map(|e| serde_json::from_slice::<Value>(e.payload()).ok())
            .filter_map(|v| {
                v["time"]
                    .as_str()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            })
            .max()
            .unwrap_or(start);
        let logged_at = last + Duration::seconds(self.seq.range(2, 40) as i64);
        let checked = check_envelopes(&self.books, envelopes);
        let outcomes = self.core.process(checked, logged_at)?;
        outcomes
            .into_iter()
            .zip(kinds)
            .map(|(o, what)| {
                o.map_err(|rejection| DemoError::Refused {
                    what,
                    code: rejection.code(),
                    rejection,
                })
            })
            .collect()
    }

    fn entry_ref(a: &Accepted) -> Value {
        json!({"index": a.index, "leaf_hash": hex_of(&a.leaf_hash.0)})
    }
}

fn hex_of(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A small deterministic pseudo-random sequence (SplitMix64), so the demo
/// content is the same on every machine.
struct Sequence(u64);

impl Sequence {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `[lo, hi)`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // Every list below is non-empty.
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A UUIDv7-shaped statement id: the time in milliseconds, then random bits.
fn statement_id(t: DateTime<Utc>, rng: &mut impl CryptoRngCore) -> String {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    let mut r = [0u8; 10];
    rng.fill_bytes(&mut r);
    let rand_a = u16::from_be_bytes([r[0], r[1]]) & 0x0fff;
    let rand_b = u64::from_be_bytes([r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]])
        & 0x3fff_ffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        rand_a,
        0x8000 | (rand_b >> 48),
        rand_b & 0xffff_ffff_ffff
    )
}

fn public_key_b64(key: &SigningKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
}

const DONORS: &[&str] = &[
    "Nguyễn Văn An",
    "N.V.A.",
    "Trần Thị Bích Ngọc",
    "T.T.B.N.",
    "Lê Hoàng Phúc",
    "Phạm Minh Tuấn",
    "Hoàng Thị Mai",
    "Vũ Đức Thắng",
    "Đặng Thu Trang",
    "Bùi Quang Huy",
    "Đỗ Ngọc Ánh",
    "Ngô Thanh Tùng",
    "Dương Thị Hạnh",
    "Lý Văn Hải",
    "Gia đình bác Tư (Cần Thơ)",
    "Công ty TNHH Minh Phát",
    "Tập thể giáo viên Trường THCS Lê Lợi",
    "Lớp 12A1 Trường THPT Chu Văn An",
    "Hội doanh nhân trẻ Đà Nẵng",
    "Chùa Giác Ngộ, TP. Hồ Chí Minh",
    "Kiều bào tại Nhật Bản",
    "P.M.T.",
    "H.T.M.",
];

const MEMOS: &[&str] = &[
    "UNG HO DONG BAO BI BAO LU SO 3",
    "ung ho bao Yagi mien Bac",
    "CK ung ho dong bao mien Bac tu TK ******4821",
    "IBFT ung ho Lang Nu Lao Cai SDT 09******87",
    "ung ho ba con vung lu Yen Bai",
    "MB ung ho bao lu - CCCD ********1205",
    "chung tay vi mien Bac than yeu",
    "ung ho khac phuc hau qua bao so 3",
    "gia dinh ung ho ba con vung lu",
    "QR - ung ho dong bao bi thiet hai do bao",
];

const AMOUNTS: &[u64] = &[
    50_000, 100_000, 100_000, 200_000, 200_000, 300_000, 500_000, 500_000, 500_000, 1_000_000,
    1_000_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000,
];

/// A household's commitment (DESIGN 6.9): a salted hash of an identifier the
/// demo makes up; nothing personal is ever logged.
fn household(n: u32) -> Commitment {
    Commitment::compute(&[0x6d; 32], format!("demo-household-{n:05}").as_bytes())
}

/// Communes where households are enrolled: (commune, campaign, field officer).
const COMMUNES: &[(&str, &str, &str)] = &[
    ("15-02647", STORM, "field-north"),
    ("15-02671", STORM, "field-north"),
    ("15-02680", STORM, "field-north"),
    ("15-02683", STORM, "field-north"),
    ("19-01840", STORM, "field-north"),
    ("19-01849", STORM, "field-north"),
    ("46-19753", FLOOD, "field-central"),
    ("46-19774", FLOOD, "field-central"),
    ("48-20194", FLOOD, "field-central"),
    ("48-20200", FLOOD, "field-central"),
];

/// Households enrolled per commune; the last communes get fewer, and fewer
/// of them are reached, so under-served places show.
fn households_in(commune: usize) -> u32 {
    [14, 12, 10, 9, 8, 6, 12, 9, 7, 5][commune]
}

/// The demo statements, committed through the writer.
#[allow(clippy::too_many_lines)]
fn history<R: CryptoRngCore>(
    s: &mut Seeder<'_, R>,
    options: DemoOptions,
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    const GOV: &[&str] = &["governance-1", "governance-2"];
    let options = DemoOptions {
        donations: options.donations.max(DemoOptions::MIN_DONATIONS),
    };
    let mut t = now - Duration::days(3);
    let governance: Vec<Value> = ["governance-1", "governance-2", "governance-3"]
        .iter()
        .map(|id| {
            let spec = OFFICIALS.iter().find(|o| o.id == *id).expect("listed");
            json!({"public_key": public_key_b64(s.officials.key(id)), "name": spec.name, "title": spec.title})
        })
        .collect();
    s.push(t, "genesis", GOV, &[
        ("origin", json!(DEMO_ORIGIN)),
        ("governance", json!({"keys": governance, "threshold": 2})),
        ("assets", json!([{"code": "VND", "name": "Đồng Việt Nam"}, {"code": "kg_rice", "name": "Gạo (kg)"}])),
        ("defaults", json!({"max_skew_seconds": 3600, "feedback_due_days": 15})),
    ])?;
    for spec in OFFICIALS.iter().filter(|o| o.role != Role::Governance) {
        t += Duration::seconds(60);
        let (role, scope) = match spec.role {
            Role::Approver => ("approver", json!({"campaigns": [STORM, FLOOD]})),
            Role::Intake => ("intake", json!({"campaigns": [STORM, FLOOD]})),
            Role::Field => ("field", json!({"regions": spec.regions})),
            Role::Governance => ("governance", json!({})),
        };
        s.push(
            t,
            "key.grant",
            GOV,
            &[
                (
                    "public_key",
                    json!(public_key_b64(s.officials.key(spec.id))),
                ),
                ("name", json!(spec.name)),
                ("title", json!(spec.title)),
                ("roles", json!([role])),
                ("scope", scope),
            ],
        )?;
    }
    t += Duration::seconds(120);
    s.push(t, "campaign.open", GOV, &[
        ("campaign", json!(STORM)),
        ("title", json!({"vi": "Ủng hộ đồng bào bị thiệt hại do bão số 3 (Yagi)", "en": "Relief for the victims of typhoon Yagi"})),
        ("cause", json!({"kind": "typhoon", "name": "Bão số 3 (Yagi)", "date": "2024-09-07", "regions": ["15", "19"]})),
        ("priority", json!(1)),
        ("assets", json!(["VND", "kg_rice"])),
        ("approval_policy", json!({"VND": [{"from": 0, "approvals": 1}, {"from": 100_000_000, "approvals": 2}],
                                   "kg_rice": [{"from": 0, "approvals": 1}, {"from": 5_000, "approvals": 2}]})),
        ("unit_rates", json!([{"category": "house_rebuild", "asset": "VND", "amount": 100_000_000},
                              {"category": "house_repair", "asset": "VND", "amount": 20_000_000}])),
    ])?;
    t += Duration::seconds(60);
    s.push(t, "campaign.open", &["governance-2", "governance-3"], &[
        ("campaign", json!(FLOOD)),
        ("title", json!({"vi": "Hỗ trợ đồng bào miền Trung bị lũ lụt", "en": "Flood relief for central Viet Nam"})),
        ("cause", json!({"kind": "flood", "name": "Lũ lụt miền Trung", "regions": ["46", "48"]})),
        ("priority", json!(2)),
        ("assets", json!(["VND"])),
        ("approval_policy", json!({"VND": [{"from": 0, "approvals": 1}, {"from": 50_000_000, "approvals": 2}]})),
    ])?;
    for (account, campaign, number, institution) in [
        (ACCOUNT_VCB, STORM, "0011001932418", "Vietcombank"),
        (ACCOUNT_VTB, STORM, "123000012345", "VietinBank"),
        (ACCOUNT_BIDV, FLOOD, "31410001234567", "BIDV"),
    ] {
        t += Duration::seconds(60);
        s.push(
            t,
            "account.register",
            GOV,
            &[
                ("account", json!(account)),
                ("campaign", json!(campaign)),
                ("kind", json!("bank")),
                ("institution", json!(institution)),
                ("number", json!(number)),
                ("holder", json!("Ủy ban Trung ương MTTQ Việt Nam")),
                ("asset", json!("VND")),
            ],
        )?;
    }
    // Households, enrolled by the field officers of their provinces.
    let mut households: Vec<(u32, usize)> = Vec::new();
    let mut n = 0;
    for (c, (commune, _, officer)) in COMMUNES.iter().enumerate() {
        for _ in 0..households_in(c) {
            n += 1;
            t += Duration::seconds(20);
            let category = *s.seq.pick(&[
                "disaster_affected",
                "disaster_affected",
                "poor_household",
                "elderly_alone",
            ]);
            let priority = s.seq.range(1, 4);
            s.push(
                t,
                "beneficiary.enroll",
                &[officer],
                &[
                    ("beneficiary", json!(household(n).to_hex())),
                    ("region", json!(commune)),
                    ("category", json!(category)),
                    ("priority", json!(priority)),
                ],
            )?;
            households.push((n, c));
        }
    }

    // Donations over the three days.
    let end = now - Duration::hours(3);
    let span = (end - t).num_seconds().max(1) as u64;
    let step = span / (options.donations as u64 + 1);
    let mut bounced = None;
    for i in 0..options.donations {
        t += Duration::seconds(s.seq.range(step / 2 + 1, step * 3 / 2 + 2) as i64);
        let storm = s.seq.range(0, 10) < 7;
        let campaign = if storm { STORM } else { FLOOD };
        let roll = s.seq.range(0, 20);
        let donor = (s.seq.range(0, 10) > 1).then(|| *s.seq.pick(DONORS));
        let received = t - Duration::seconds(s.seq.range(60, 3_000) as i64);
        let mut fields = vec![("campaign", json!(campaign))];
        let external_ref;
        let channel = match roll {
            0..=14 => 0,
            15..=17 => 1,
            _ if !storm => 1,
            _ => 2,
        };
        match channel {
            0 => {
                let account = match (storm, roll) {
                    (true, 0..=10) => ACCOUNT_VCB,
                    (true, _) => ACCOUNT_VTB,
                    (false, _) => ACCOUNT_BIDV,
                };
                external_ref =
                    format!("FT{}{:09}", t.format("%y%j"), s.seq.range(0, 1_000_000_000));
                fields.push(("account", json!(account)));
                fields.push(("amount", json!(*s.seq.pick(AMOUNTS))));
                fields.push(("asset", json!("VND")));
                fields.push(("channel", json!("bank")));
                fields.push(("external_ref", json!(external_ref)));
                fields.push(("memo", json!(*s.seq.pick(MEMOS))));
            }
            1 => {
                external_ref = format!("PT-{}-{:05}", t.format("%Y"), i + 1);
                fields.push(("amount", json!(*s.seq.pick(AMOUNTS))));
                fields.push(("asset", json!("VND")));
                fields.push(("channel", json!("cash")));
                fields.push(("external_ref", json!(external_ref)));
            }
            _ => {
                external_ref = format!("HV-{}-{:05}", t.format("%Y"), i + 1);
                fields.push(("amount", json!(s.seq.range(1, 40) * 50)));
                fields.push(("asset", json!("kg_rice")));
                fields.push(("channel", json!("in_kind")));
                fields.push(("external_ref", json!(external_ref)));
            }
        }
        if let Some(donor) = donor {
            fields.push(("donor_name", json!(donor)));
        }
        fields.push(("received_at", json!(rfc3339(received))));
        if i == options.donations / 3 {
            // This one bounces: commit it alone to reverse it later.
            bounced = Some(s.commit_one(t, "donation", &["intake-1"], &fields)?);
        } else {
            s.push(t, "donation", &["intake-1"], &fields)?;
        }
        // Every ~8 hours of donations: pay households, and every day a bank balance.
        if i % (options.donations / 9).max(1) == 0 && i > 0 {
            pay_households(s, &mut t, &households, i)?;
        }
        if i % (options.donations / 3).max(1) == 1 && i > 1 {
            balance(s, t, ACCOUNT_VCB, i == 1 + (options.donations / 3).max(1))?;
        }
    }

    // A bounced bank transfer, reversed by the intake clerk.
    t += Duration::minutes(5);
    if let Some(b) = &bounced {
        s.push(
            t,
            "reversal",
            &["intake-1"],
            &[
                ("target", Seeder::<R>::entry_ref(b)),
                ("reason", json!("Giao dịch bị ngân hàng hoàn trả")),
            ],
        )?;
    }
    // Commune-level support: large enough to need 2 of 3 approvers.
    for (campaign, commune, organization, amount, approvers) in [
        (
            STORM,
            "15-02683",
            "Ủy ban nhân dân xã Bát Xát",
            150_000_000u64,
            ["approver-1", "approver-2"],
        ),
        (
            FLOOD,
            "46-19753",
            "Ủy ban nhân dân phường Phú Xuân",
            60_000_000,
            ["approver-2", "approver-3"],
        ),
    ] {
        t += Duration::minutes(7);
        s.push(
            t,
            "disbursement",
            &approvers,
            &[
                ("campaign", json!(campaign)),
                ("amount", json!(amount)),
                ("asset", json!("VND")),
                ("recipient", json!({"organization": organization})),
                ("region", json!(commune)),
                (
                    "purpose",
                    json!("Hỗ trợ khắc phục hậu quả thiên tai cho các hộ dân trong xã"),
                ),
            ],
        )?;
    }
    // Rice handed out in kind.
    t += Duration::minutes(7);
    s.push(
        t,
        "disbursement",
        &["approver-1"],
        &[
            ("campaign", json!(STORM)),
            ("amount", json!(1_000)),
            ("asset", json!("kg_rice")),
            (
                "recipient",
                json!({"organization": "Ủy ban nhân dân phường Cam Đường"}),
            ),
            ("region", json!("15-02671")),
            ("purpose", json!("Cấp gạo cứu đói cho các hộ bị ngập")),
        ],
    )?;
    // A payment entered twice by mistake, reversed before anyone acknowledged it.
    t += Duration::minutes(5);
    let (who, c) = households[0];
    let twice = s.commit_one(
        t,
        "disbursement",
        &["approver-3"],
        &[
            ("campaign", json!(COMMUNES[c].1)),
            ("amount", json!(5_000_000)),
            ("asset", json!("VND")),
            ("recipient", json!({"beneficiary": household(who).to_hex()})),
            ("region", json!(COMMUNES[c].0)),
            ("purpose", json!("Hỗ trợ khẩn cấp hộ bị thiệt hại")),
        ],
    )?;
    t += Duration::minutes(3);
    s.push(
        t,
        "reversal",
        &["approver-3"],
        &[
            ("target", Seeder::<R>::entry_ref(&twice)),
            ("reason", json!("Nhập trùng, đã chi ở đợt trước")),
        ],
    )?;
    // Feedback from the hotline: some resolved, some still open.
    let mut opened = Vec::new();
    for (k, (category, commune)) in [
        ("question", "15-02647"),
        ("complaint", "15-02680"),
        ("complaint", "19-01849"),
        ("request", "46-19774"),
        ("fraud_report", "48-20200"),
        ("question", "48-20194"),
    ]
    .into_iter()
    .enumerate()
    {
        t += Duration::minutes(4);
        let id = format!("fb-demo-{:04}", k + 1);
        let campaign = if commune.starts_with("15") || commune.starts_with("19") {
            STORM
        } else {
            FLOOD
        };
        s.push(
            t,
            "feedback.open",
            &["intake-1"],
            &[
                ("id", json!(id)),
                ("category", json!(category)),
                ("region", json!(commune)),
                ("campaign", json!(campaign)),
                ("text_hash", json!(hex_of(&sha256(id.as_bytes())))),
            ],
        )?;
        opened.push((id, commune));
    }
    s.flush()?;
    for (k, (feedback_id, commune)) in opened.iter().enumerate().take(4) {
        let officer = if commune.starts_with("15") || commune.starts_with("19") {
            "field-north"
        } else {
            "field-central"
        };
        t += Duration::minutes(4);
        s.push(
            t,
            "feedback.resolve",
            &[officer],
            &[
                ("feedback", json!(feedback_id)),
                (
                    "outcome",
                    json!(if k == 2 { "referred" } else { "resolved" }),
                ),
                (
                    "response_hash",
                    json!(hex_of(&sha256(format!("response-{k}").as_bytes()))),
                ),
            ],
        )?;
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Pays a round of households (1 approval each), then has the field officers
/// acknowledge most of the payments.
fn pay_households<R: CryptoRngCore>(
    s: &mut Seeder<'_, R>,
    t: &mut DateTime<Utc>,
    households: &[(u32, usize)],
    round: usize,
) -> Result<(), DemoError> {
    let mut paid = Vec::new();
    for (who, c) in households {
        // Later communes are reached less often: under-served places show.
        if s.seq.range(0, 10) < (*c as u64) + 2 || (round + *who as usize) % 3 != 0 {
            continue;
        }
        let (commune, campaign, _) = COMMUNES[*c];
        let balance = campaign_balance(s, campaign);
        let (amount, category) = if s.seq.range(0, 6) == 0 && campaign == STORM {
            (20_000_000u64, Some("house_repair"))
        } else {
            (*s.seq.pick(&[2_000_000u64, 3_000_000, 5_000_000]), None)
        };
        if balance < amount + 200_000_000 {
            continue;
        }
        *t += Duration::seconds(30);
        let mut fields = vec![
            ("campaign", json!(campaign)),
            ("amount", json!(amount)),
            ("asset", json!("VND")),
            (
                "recipient",
                json!({"beneficiary": household(*who).to_hex()}),
            ),
            ("region", json!(commune)),
            ("purpose", json!("Hỗ trợ hộ bị thiệt hại do thiên tai")),
        ];
        if let Some(category) = category {
            fields.push(("category", json!(category)));
            fields.push(("units", json!(1)));
        }
        let approver = *s.seq.pick(&["approver-1", "approver-2", "approver-3"]);
        paid.push((
            s.commit_one(*t, "disbursement", &[approver], &fields)?,
            amount,
            *c,
        ));
    }
    for (accepted, amount, c) in paid {
        if s.seq.range(0, 5) == 0 {
            continue; // not yet acknowledged
        }
        *t += Duration::seconds(40);
        s.push(
            *t,
            "acknowledgment",
            &[COMMUNES[c].2],
            &[
                ("disbursement", Seeder::<R>::entry_ref(&accepted)),
                ("amount", json!(amount)),
                (
                    "evidence",
                    json!([hex_of(&sha256(
                        format!("bien-nhan-{}", accepted.index).as_bytes()
                    ))]),
                ),
            ],
        )?;
    }
    Ok(())
}

fn campaign_balance<R>(s: &Seeder<'_, R>, campaign: &str) -> u64 {
    let books = s.books.read();
    let balance = Slug::new(campaign)
        .ok()
        .and_then(|slug| minhbach_ledger::summary::campaign(&books.state, &slug))
        .and_then(|c| c.assets.into_iter().find(|a| a.asset.as_str() == "VND"))
        .map_or(0, |a| a.balance);
    balance
}

/// The day's closing balance from the bank: what the ledger derives, or (to
/// show a reconciliation mismatch) a little less.
fn balance<R: CryptoRngCore>(
    s: &mut Seeder<'_, R>,
    t: DateTime<Utc>,
    account: &str,
    off: bool,
) -> Result<(), DemoError> {
    s.flush()?;
    let derived = {
        let books = s.books.read();
        let derived = books
            .state
            .accounts()
            .find(|(id, _)| id.as_str() == account)
            .map_or(0, |(_, a)| a.derived);
        derived
    };
    let bank = if off {
        derived.saturating_sub(500_000)
    } else {
        derived
    };
    s.commit_one(
        t,
        "account.balance",
        &["intake-1"],
        &[
            ("account", json!(account)),
            ("date", json!(t.format("%Y-%m-%d").to_string())),
            ("balance", json!(bank)),
        ],
    )?;
    Ok(())
}

/// A JSON object's bytes with its fields in the given order (`json!` would
/// sort them): `type`, `id` and `time` first, as people write statements.
fn ordered(fields: &[(&str, serde_json::Value)]) -> Vec<u8> {
    struct Ordered<'a>(&'a [(&'a str, serde_json::Value)]);
    impl Serialize for Ordered<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap as _;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
    // Strings and `Value`s always serialise.
    serde_json::to_vec(&Ordered(fields)).unwrap_or_default()
}
