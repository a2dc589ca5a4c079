//! The demo: a data directory with a development log key, a few officials'
//! keys and a small, realistic history of the 2024 typhoon Yagi relief fund.
//!
//! The history is what a real log would hold: a `genesis` signed by two
//! governance keys, `key.grant`s for an intake clerk and two approvers, the
//! campaign and its two receiving accounts, a few hundred donations signed by
//! the intake key (names as the donors chose them, memos with account and
//! phone numbers masked), and disbursements co-signed by both approvers. The
//! statements follow the shapes of DESIGN 5; the rules are not applied here
//! (the sequencer will do that), and the history is built to satisfy them.
//!
//! Content is deterministic (a fixed pseudo-random sequence); the keys, the
//! statement ids' random bits and the times are not: times run over the three
//! days before `now`, which the caller reads from the system clock.
//!
//! Seeding happens only when the log is empty, so starting the demo again
//! appends nothing.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::checkpoint::{sign_checkpoint, Checkpoint, CheckpointError, LogSigner};
use minhbach_ledger::envelope::{Envelope, EnvelopeError, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::leaf::{Leaf, LeafError};
use minhbach_ledger::log::{Log, LogError};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::LogStore as _;
use rand_core::CryptoRngCore;
use serde::Serialize;
use serde_json::json;

use crate::datadir::{DataDir, DataDirError};
use crate::AppState;

/// The demo log's origin (and the name of its key).
pub const DEMO_ORIGIN: &str = "demo.minhbach.vn/log";

/// The demo campaign.
pub const CAMPAIGN: &str = "bao-yagi-2024";

/// Leaves per append (one checkpoint each), like a sequencer's group commit.
const BATCH: usize = 64;

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
    /// A leaf could not be encoded.
    #[error(transparent)]
    Leaf(#[from] LeafError),
    /// The append failed; nothing of that batch was written.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// How much history to seed.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// The number of donations.
    pub donations: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        // With the 7 setup statements and 2 disbursements: 600 leaves, two
        // full entry bundles and a partial one.
        Self { donations: 591 }
    }
}

/// The roles an official holds in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Approver,
    Governance,
    Intake,
}

/// One demo official: file name, name, title, role.
struct OfficialSpec {
    id: &'static str,
    name: &'static str,
    title: &'static str,
    role: Role,
}

const OFFICIALS: &[OfficialSpec] = &[
    OfficialSpec {
        id: "governance-1",
        name: "Nguyễn Thị Hồng",
        title: "Phó Chủ tịch Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
    },
    OfficialSpec {
        id: "governance-2",
        name: "Lê Văn Minh",
        title: "Trưởng Ban Kiểm tra Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
    },
    OfficialSpec {
        id: "intake-1",
        name: "Trần Thu Hà",
        title: "Kế toán Ban Vận động Cứu trợ Trung ương",
        role: Role::Intake,
    },
    OfficialSpec {
        id: "approver-1",
        name: "Phạm Quốc Bảo",
        title: "Trưởng Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
    },
    OfficialSpec {
        id: "approver-2",
        name: "Đỗ Thị Lan",
        title: "Phó Trưởng Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
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

    fn with_role(&self, role: Role) -> impl Iterator<Item = &(&'static OfficialSpec, SigningKey)> {
        self.keys.iter().filter(move |(s, _)| s.role == role)
    }

    /// Signs `payload` with every key of `role`, in order.
    fn sign(&self, role: Role, payload: Vec<u8>) -> Result<Envelope, EnvelopeError> {
        let mut keys = self.with_role(role).map(|(_, k)| k);
        let first = keys
            .next()
            .expect("OFFICIALS holds at least one key of every role");
        let mut envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, payload, first);
        for key in keys {
            envelope.add_signature(key)?;
        }
        Ok(envelope)
    }
}

/// What [`prepare`] opened.
pub struct Prepared {
    /// The server state over the opened log.
    pub state: AppState,
    /// The log's signer, for the writer that will append.
    pub signer: LogSigner,
    /// Leaves appended by this start (0 when the log already had a history).
    pub seeded: u64,
    /// The tree size after seeding.
    pub size: u64,
}

/// Opens (creating) the demo data directory, its log key and officials'
/// keys, and seeds the history if the log is empty. `now` is the current
/// time, from the system clock.
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
    let store = dir.open_store()?;
    let signer = dir.load_or_create_log_signer(&store, DEMO_ORIGIN, rng)?;
    let officials = Officials::load_or_create(&dir, rng)?;
    let seeded = seed_if_empty(&store, &signer, &officials, options, now, rng)?;
    let size = store.tree_size().map_err(DataDirError::from)?;
    let state = AppState::new(Arc::new(store), signer.verifier());
    Ok(Prepared {
        state,
        signer,
        seeded,
        size,
    })
}

/// Opens an existing data directory to serve it: the log and its key must
/// exist, and the stored checkpoint must verify with the key.
///
/// # Errors
/// [`DataDirError::MissingLogKey`]-like errors if the key is missing, and
/// those of opening the store and checking the checkpoint.
pub fn open_existing(data: &Path) -> Result<(AppState, LogSigner), DataDirError> {
    let dir = DataDir::new(data);
    let signer = dir.load_log_signer()?.ok_or_else(|| DataDirError::Io {
        path: dir.log_key_path(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no log key: is this a data directory? (`minhbach-server demo` creates one)",
        ),
    })?;
    let store = dir.open_store()?;
    dir.check_checkpoint(&store, &signer)?;
    Ok((AppState::new(Arc::new(store), signer.verifier()), signer))
}

/// Appends the demo history if the log is empty; returns the number of
/// leaves appended.
///
/// # Errors
/// A [`DemoError`] if a statement cannot be signed or a batch appended; the
/// batches appended before the failure stay.
pub fn seed_if_empty(
    store: &RocksStore,
    signer: &LogSigner,
    officials: &Officials,
    options: DemoOptions,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<u64, DemoError> {
    let mut log = Log::open(store)?;
    if log.size() > 0 {
        tracing::info!(target: "minhbach_server::demo", size = log.size(), "log already has a history; not seeding");
        return Ok(0);
    }
    let statements = history(officials, options, now, rng)?;
    let mut leaves = Vec::with_capacity(statements.len());
    let mut logged_at = now - Duration::days(4);
    let mut seq = Sequence::new(0x6d69_6e68_6261_6368);
    for (time, envelope) in statements {
        // The log accepts each statement a few seconds after it was signed,
        // and `logged_at` never decreases (DESIGN 6.7).
        let accepted = time + Duration::milliseconds(seq.range(300, 20_000) as i64);
        logged_at = logged_at.max(accepted).min(now);
        leaves.push(Leaf::new(logged_at, envelope).encode()?);
    }
    // Whether a checkpoint is valid depends only on its origin: check it once,
    // before anything is written.
    let origin = signer.name().as_str();
    Checkpoint::new(origin, 0, minhbach_ledger::merkle::empty_root(), vec![])?;
    for batch in leaves.chunks(BATCH) {
        let out = log.append(batch, &[], |size, root| {
            let checkpoint =
                Checkpoint::new(origin, size, *root, vec![]).expect("the origin was checked above");
            sign_checkpoint(&checkpoint, signer)
        })?;
        tracing::debug!(target: "minhbach_server::demo", size = out.size, "appended a demo batch");
    }
    tracing::info!(target: "minhbach_server::demo", size = log.size(), "seeded the demo history");
    Ok(leaves.len() as u64)
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

#[derive(Serialize)]
struct Donation<'a> {
    r#type: &'static str,
    id: String,
    time: String,
    campaign: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'static str>,
    amount: u64,
    asset: &'static str,
    channel: &'static str,
    external_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    donor_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memo: Option<String>,
    received_at: String,
}

#[derive(Serialize)]
struct Disbursement {
    r#type: &'static str,
    id: String,
    time: String,
    campaign: &'static str,
    amount: u64,
    asset: &'static str,
    recipient: serde_json::Value,
    region: &'static str,
    purpose: &'static str,
    account: &'static str,
}

const ACCOUNT_VCB: &str = "mttq-vcb-0011001932418";
const ACCOUNT_VTB: &str = "mttq-vietinbank-ct1111";

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

/// The demo statements, signed, with the times they were signed.
fn history(
    officials: &Officials,
    options: DemoOptions,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<(DateTime<Utc>, Envelope)>, DemoError> {
    let mut seq = Sequence::new(0x5961_6769_3230_3234);
    let mut out = Vec::with_capacity(options.donations + 16);
    let start = now - Duration::days(3);
    let mut t = start;
    let mut push = |t: DateTime<Utc>, role: Role, payload: Vec<u8>| {
        officials
            .sign(role, payload)
            .map(|envelope| out.push((t, envelope)))
    };

    // Setup, signed by the governance quorum (2 of 2).
    let governance: Vec<_> = officials
        .with_role(Role::Governance)
        .map(|(spec, key)| json!({"public_key": public_key_b64(key), "name": spec.name, "title": spec.title}))
        .collect();
    push(
        t,
        Role::Governance,
        ordered(&[
            ("type", json!("genesis")),
            ("id", json!(statement_id(t, rng))),
            ("time", json!(rfc3339(t))),
            ("origin", json!(DEMO_ORIGIN)),
            ("governance", json!({"keys": governance, "threshold": 2})),
            (
                "assets",
                json!([{"code": "VND", "name": "Đồng Việt Nam"}, {"code": "kg_rice", "name": "Gạo (kg)"}]),
            ),
        ]),
    )?;
    for (spec, key) in officials
        .keys
        .iter()
        .filter(|(s, _)| s.role != Role::Governance)
    {
        t += Duration::seconds(60);
        let role = match spec.role {
            Role::Approver => "approver",
            Role::Governance => "governance",
            Role::Intake => "intake",
        };
        push(
            t,
            Role::Governance,
            ordered(&[
                ("type", json!("key.grant")),
                ("id", json!(statement_id(t, rng))),
                ("time", json!(rfc3339(t))),
                ("public_key", json!(public_key_b64(key))),
                ("name", json!(spec.name)),
                ("title", json!(spec.title)),
                ("roles", json!([role])),
                ("scope", json!({"campaigns": [CAMPAIGN]})),
            ]),
        )?;
    }
    t += Duration::seconds(120);
    push(
        t,
        Role::Governance,
        ordered(&[
            ("type", json!("campaign.open")),
            ("id", json!(statement_id(t, rng))),
            ("time", json!(rfc3339(t))),
            ("campaign", json!(CAMPAIGN)),
            (
                "title",
                json!({"vi": "Ủng hộ đồng bào bị thiệt hại do bão số 3 (Yagi)", "en": "Relief for the victims of typhoon Yagi"}),
            ),
            (
                "cause",
                json!({"kind": "storm", "name": "Bão số 3 (Yagi)", "date": "2024-09-07", "regions": ["pre2025:10", "pre2025:15", "pre2025:22"]}),
            ),
            ("priority", json!(1)),
            ("assets", json!(["VND"])),
            (
                "approval_policy",
                json!({"VND": [{"from": 1, "approvals": 1}, {"from": 100_000_000, "approvals": 2}]}),
            ),
            (
                "unit_rates",
                json!([{"category": "house_rebuild", "asset": "VND", "amount": 100_000_000}]),
            ),
        ]),
    )?;
    for (account, number, alias, institution) in [
        (ACCOUNT_VCB, "0011001932418", None, "Vietcombank"),
        (ACCOUNT_VTB, "123000012345", Some("CT1111"), "VietinBank"),
    ] {
        t += Duration::seconds(60);
        let mut fields = vec![
            ("type", json!("account.register")),
            ("id", json!(statement_id(t, rng))),
            ("time", json!(rfc3339(t))),
            ("account", json!(account)),
            ("campaign", json!(CAMPAIGN)),
            ("kind", json!("bank")),
            ("institution", json!(institution)),
            ("number", json!(number)),
        ];
        if let Some(alias) = alias {
            fields.push(("alias", json!(alias)));
        }
        fields.push(("holder", json!("Ủy ban Trung ương MTTQ Việt Nam")));
        fields.push(("asset", json!("VND")));
        push(t, Role::Governance, ordered(&fields))?;
    }

    // Donations, spread over the three days, signed by the intake clerk.
    let end = now - Duration::hours(2);
    let span = (end - t).num_seconds().max(1) as u64;
    let step = span / (options.donations as u64 + 1);
    let mut raised = 0u64;
    for i in 0..options.donations {
        t += Duration::seconds(seq.range(step / 2 + 1, step * 3 / 2 + 2) as i64);
        let (channel, account, external_ref) = match seq.range(0, 20) {
            0..=13 => (
                "bank",
                Some(ACCOUNT_VCB),
                format!("FT{}{:09}", t.format("%y%j"), seq.range(0, 1_000_000_000)),
            ),
            14..=17 => (
                "bank",
                Some(ACCOUNT_VTB),
                format!("{}{:06}", t.format("%y%m%d"), 100_000 + i),
            ),
            _ => ("cash", None, format!("PT-{}-{:05}", t.format("%Y"), i + 1)),
        };
        let donor_name = match seq.range(0, 10) {
            0..=1 => None, // anonymous
            _ => Some(*seq.pick(DONORS)),
        };
        let memo = (channel == "bank").then(|| (*seq.pick(MEMOS)).to_owned());
        let amount = *seq.pick(AMOUNTS);
        raised += amount;
        let received = t - Duration::seconds(seq.range(60, 3_600) as i64);
        let statement = Donation {
            r#type: "donation",
            id: statement_id(t, rng),
            time: rfc3339(t),
            campaign: CAMPAIGN,
            account,
            amount,
            asset: "VND",
            channel,
            external_ref,
            donor_name,
            memo,
            received_at: rfc3339(received),
        };
        let payload = serde_json::to_vec(&statement).unwrap_or_default();
        out.push((t, officials.sign(Role::Intake, payload)?));
    }

    // Two disbursements, each co-signed by both approvers, well within what
    // was raised.
    let disbursements = [
        (
            raised / 3,
            "Ủy ban nhân dân xã Phúc Khánh",
            "pre2025:10-087-02998",
            "Hỗ trợ khẩn cấp các hộ dân thôn Làng Nủ bị lũ quét",
        ),
        (
            raised / 5,
            "Ủy ban nhân dân phường Yên Ninh",
            "pre2025:15-132-04252",
            "Hỗ trợ sửa chữa nhà ở bị hư hỏng do ngập lụt",
        ),
    ];
    for (amount, organization, region, purpose) in disbursements {
        t += Duration::minutes(30);
        // Round down to a whole million đồng, as such decisions are written.
        let amount = (amount / 1_000_000).max(1) * 1_000_000;
        let statement = Disbursement {
            r#type: "disbursement",
            id: statement_id(t, rng),
            time: rfc3339(t),
            campaign: CAMPAIGN,
            amount,
            asset: "VND",
            recipient: json!({ "organization": organization }),
            region,
            purpose,
            account: ACCOUNT_VCB,
        };
        let payload = serde_json::to_vec(&statement).unwrap_or_default();
        out.push((t, officials.sign(Role::Approver, payload)?));
    }
    Ok(out)
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
