//! The demo history, statement by statement, in named steps: the genesis
//! and the key grants, the campaigns and their accounts, households, three
//! days of donations with payments and bank balances among them, then
//! reversals, commune support, rice, and the hotline's feedback.
//!
//! Content is deterministic (a fixed pseudo-random sequence); the keys, the
//! statement ids' random bits and the times are not: times run over the three
//! days before `now`. Statements are handed to a [`Writer`] in time-ordered
//! batches, as a live sequencer would see them.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::envelope::{Envelope, EnvelopeError};
use minhbach_ledger::rules::ApplyError;
use rand_core::CryptoRngCore;
use serde::Serialize;
use serde_json::{Value, json};

use crate::officials::{OFFICIALS, Officials, Role};
use crate::{ACCOUNT_BIDV, ACCOUNT_VCB, ACCOUNT_VTB, FLOOD, ORIGIN, STORM, household};

/// How much history to seed.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The number of donations (at least [`Options::MIN_DONATIONS`]).
    pub donations: usize,
}

impl Options {
    /// The fewest donations the demo seeds: its fixed payments (commune
    /// support, rice, household aid) need at least this much money in.
    pub const MIN_DONATIONS: usize = 300;
}

impl Default for Options {
    fn default() -> Self {
        Self { donations: 3000 }
    }
}

/// Where a committed statement landed in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    /// Its index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: [u8; 32],
}

/// What the demo history is written to: a log that checks each statement
/// against the rules and commits it (the server's writer), and the books
/// the rules keep, which later statements of the demo depend on.
pub trait Writer {
    /// Why a batch could not be committed.
    type Error: std::error::Error + 'static;

    /// Checks `envelopes` and commits those the rules accept as one batch,
    /// logged at `logged_at`; one outcome per envelope, in order.
    ///
    /// # Errors
    /// When the batch cannot be committed at all.
    fn commit(
        &mut self,
        envelopes: Vec<Envelope>,
        logged_at: DateTime<Utc>,
    ) -> Result<Vec<Result<Landed, ApplyError>>, Self::Error>;

    /// What the campaign `campaign` holds in VND now (0 if it is unknown).
    fn campaign_balance(&self, campaign: &str) -> u64;

    /// The balance the books derive for the account `account` (0 if it is
    /// unknown).
    fn account_balance(&self, account: &str) -> u64;
}

/// Why the demo history could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError<E: std::error::Error + 'static> {
    /// A statement could not be signed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The writer failed.
    #[error(transparent)]
    Writer(E),
    /// The rules refused a demo statement: the demo is wrong.
    #[error("the rules refused demo statement {what}: {rejection} ({code})")]
    Refused {
        /// The statement's type.
        what: String,
        /// Why.
        rejection: ApplyError,
        /// The stable code.
        code: &'static str,
    },
}

/// Writes the whole demo history to `writer`, signed by `officials`;
/// `now` is the current time (the history ends a few hours before it).
///
/// # Errors
/// A [`SeedError`] if a statement is refused or a batch cannot be
/// committed; the batches committed before stay.
pub fn seed<W: Writer>(
    writer: &mut W,
    officials: &Officials,
    options: Options,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<(), SeedError<W::Error>> {
    let mut s = Seeder {
        writer,
        officials,
        queue: Vec::new(),
        batch_start: None,
        seq: Sequence::new(0x5961_6769_3230_3234),
        rng,
    };
    history(&mut s, options, now)?;
    s.flush()?;
    Ok(())
}

/// Feeds demo statements to the writer in time-ordered batches.
struct Seeder<'a, W, R> {
    writer: &'a mut W,
    officials: &'a Officials,
    queue: Vec<(String, Envelope)>,
    batch_start: Option<DateTime<Utc>>,
    seq: Sequence,
    rng: &'a mut R,
}

/// What a step of the seeder gives.
type Seeded<T, W> = Result<T, SeedError<<W as Writer>::Error>>;

/// Statements signed within this long of the first one of a batch go in
/// the same commit.
const WINDOW_MINUTES: i64 = 20;

impl<W: Writer, R: CryptoRngCore> Seeder<'_, W, R> {
    /// Queues a statement signed at `t` by `signers`; `fields` come after
    /// `type`, `id` and `time`.
    fn push(
        &mut self,
        t: DateTime<Utc>,
        kind: &str,
        signers: &[&str],
        fields: &[(&str, Value)],
    ) -> Seeded<(), W> {
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
    ) -> Seeded<Landed, W> {
        self.flush()?;
        self.push(t, kind, signers, fields)?;
        let mut out = self.flush()?;
        Ok(out.pop().expect("one statement was queued"))
    }

    /// Commits the queue, logged at the last statement's time plus a few
    /// seconds; every statement must be accepted.
    fn flush(&mut self) -> Seeded<Vec<Landed>, W> {
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
        let outcomes = self
            .writer
            .commit(envelopes, logged_at)
            .map_err(SeedError::Writer)?;
        outcomes
            .into_iter()
            .zip(kinds)
            .map(|(o, what)| {
                o.map_err(|rejection| SeedError::Refused {
                    what,
                    code: rejection.code(),
                    rejection,
                })
            })
            .collect()
    }
}

/// A reference to a committed entry, as statements carry it.
fn entry_ref(a: &Landed) -> Value {
    json!({"index": a.index, "leaf_hash": hex_of(&a.leaf_hash)})
}

fn hex_of(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// The demo statements, step by step.
fn history<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    options: Options,
    now: DateTime<Utc>,
) -> Seeded<(), W> {
    let options = Options {
        donations: options.donations.max(Options::MIN_DONATIONS),
    };
    let mut t = now - Duration::days(3);
    genesis(s, t)?;
    grant_keys(s, &mut t)?;
    open_campaigns(s, &mut t)?;
    register_accounts(s, &mut t)?;
    let households = enroll_households(s, &mut t)?;
    let bounced = donations(s, &mut t, now, options, &households)?;
    reverse_bounced(s, &mut t, bounced.as_ref())?;
    support_communes(s, &mut t)?;
    hand_out_rice(s, &mut t)?;
    reverse_double_payment(s, &mut t, &households)?;
    hotline_feedback(s, &mut t)
}

/// The governance quorum that signs the genesis, the grants and most
/// set-up statements.
const GOV: &[&str] = &["governance-1", "governance-2"];

/// The genesis: three governance keys (2 of 3), the assets, the defaults.
fn genesis<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: DateTime<Utc>,
) -> Seeded<(), W> {
    let governance: Vec<Value> = ["governance-1", "governance-2", "governance-3"]
        .iter()
        .map(|id| {
            let spec = OFFICIALS.iter().find(|o| o.id == *id).expect("listed");
            json!({"public_key": public_key_b64(s.officials.key(id)), "name": spec.name, "title": spec.title})
        })
        .collect();
    s.push(t, "genesis", GOV, &[
        ("origin", json!(ORIGIN)),
        ("governance", json!({"keys": governance, "threshold": 2})),
        ("assets", json!([{"code": "VND", "name": "Đồng Việt Nam"}, {"code": "kg_rice", "name": "Gạo (kg)"}])),
        ("defaults", json!({"max_skew_seconds": 3600, "feedback_due_days": 15})),
    ])
}

/// A key grant for every official but the governance: one role each.
fn grant_keys<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<(), W> {
    for spec in OFFICIALS.iter().filter(|o| o.role != Role::Governance) {
        *t += Duration::seconds(60);
        let role = spec.role.as_str();
        let scope = match spec.role {
            Role::Field => json!({"regions": spec.regions}),
            Role::Governance => json!({}),
            _ => json!({"campaigns": [STORM, FLOOD]}),
        };
        s.push(
            *t,
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
    Ok(())
}

/// The storm campaign (money and rice, unit rates for houses) and the
/// flood campaign (money).
fn open_campaigns<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<(), W> {
    *t += Duration::seconds(120);
    s.push(*t, "campaign.open", GOV, &[
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
    *t += Duration::seconds(60);
    s.push(*t, "campaign.open", &["governance-2", "governance-3"], &[
        ("campaign", json!(FLOOD)),
        ("title", json!({"vi": "Hỗ trợ đồng bào miền Trung bị lũ lụt", "en": "Flood relief for central Viet Nam"})),
        ("cause", json!({"kind": "flood", "name": "Lũ lụt miền Trung", "regions": ["46", "48"]})),
        ("priority", json!(2)),
        ("assets", json!(["VND"])),
        ("approval_policy", json!({"VND": [{"from": 0, "approvals": 1}, {"from": 50_000_000, "approvals": 2}]})),
    ])
}

/// The three bank accounts: two of the storm campaign, one of the flood's.
fn register_accounts<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<(), W> {
    for (account, campaign, number, institution) in [
        (ACCOUNT_VCB, STORM, "0011001932418", "Vietcombank"),
        (ACCOUNT_VTB, STORM, "123000012345", "VietinBank"),
        (ACCOUNT_BIDV, FLOOD, "31410001234567", "BIDV"),
    ] {
        *t += Duration::seconds(60);
        s.push(
            *t,
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
    Ok(())
}

/// Households, enrolled by the field officers of their provinces; returns
/// each household's number and commune (an index into [`COMMUNES`]).
fn enroll_households<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<Vec<(u32, usize)>, W> {
    let mut households: Vec<(u32, usize)> = Vec::new();
    let mut n = 0;
    for (c, (commune, _, officer)) in COMMUNES.iter().enumerate() {
        for _ in 0..households_in(c) {
            n += 1;
            *t += Duration::seconds(20);
            let category = *s.seq.pick(&[
                "disaster_affected",
                "disaster_affected",
                "poor_household",
                "elderly_alone",
            ]);
            let priority = s.seq.range(1, 4);
            s.push(
                *t,
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
    Ok(households)
}

/// Donations over the three days, with rounds of household payments and
/// daily bank balances among them; returns the donation that bounces.
fn donations<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
    now: DateTime<Utc>,
    options: Options,
    households: &[(u32, usize)],
) -> Seeded<Option<Landed>, W> {
    let end = now - Duration::hours(3);
    let span = (end - *t).num_seconds().max(1) as u64;
    let step = span / (options.donations as u64 + 1);
    let mut bounced = None;
    // A bank gives one balance per account and day (SPEC 6.6): the days
    // given so far, so that two balances in one UTC day (the history's
    // start depends on the time of day) do not collide.
    let mut balance_days = std::collections::BTreeSet::new();
    for i in 0..options.donations {
        *t += Duration::seconds(s.seq.range(step / 2 + 1, step * 3 / 2 + 2) as i64);
        let fields = donation(s, *t, i);
        if i == options.donations / 3 {
            // This one bounces: commit it alone to reverse it later.
            bounced = Some(s.commit_one(*t, "donation", &["intake-1"], &fields)?);
        } else {
            s.push(*t, "donation", &["intake-1"], &fields)?;
        }
        // Every ~8 hours of donations: pay households, and every day a bank balance.
        if i % (options.donations / 9).max(1) == 0 && i > 0 {
            pay_households(s, t, households, i)?;
        }
        if i % (options.donations / 3).max(1) == 1 && i > 1 && balance_days.insert(t.date_naive()) {
            balance(s, *t, ACCOUNT_VCB, i == 1 + (options.donations / 3).max(1))?;
        }
    }
    Ok(bounced)
}

/// The fields of donation `i`, at `t`: to either campaign, by bank (most),
/// cash or rice in kind, named or anonymous.
fn donation<W, R>(
    s: &mut Seeder<'_, W, R>,
    t: DateTime<Utc>,
    i: usize,
) -> Vec<(&'static str, Value)> {
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
            external_ref = format!("FT{}{:09}", t.format("%y%j"), s.seq.range(0, 1_000_000_000));
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
    fields
}

/// A bounced bank transfer, reversed by the intake clerk.
fn reverse_bounced<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
    bounced: Option<&Landed>,
) -> Seeded<(), W> {
    *t += Duration::minutes(5);
    if let Some(b) = bounced {
        s.push(
            *t,
            "reversal",
            &["intake-1"],
            &[
                ("target", entry_ref(b)),
                ("reason", json!("Giao dịch bị ngân hàng hoàn trả")),
            ],
        )?;
    }
    Ok(())
}

/// Commune-level support: large enough to need 2 of 3 approvers.
fn support_communes<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<(), W> {
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
        *t += Duration::minutes(7);
        s.push(
            *t,
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
    Ok(())
}

/// Rice handed out in kind.
fn hand_out_rice<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<(), W> {
    *t += Duration::minutes(7);
    s.push(
        *t,
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
    )
}

/// A payment entered twice by mistake, reversed before anyone acknowledged it.
fn reverse_double_payment<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
    households: &[(u32, usize)],
) -> Seeded<(), W> {
    *t += Duration::minutes(5);
    let (who, c) = households[0];
    let twice = s.commit_one(
        *t,
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
    *t += Duration::minutes(3);
    s.push(
        *t,
        "reversal",
        &["approver-3"],
        &[
            ("target", entry_ref(&twice)),
            ("reason", json!("Nhập trùng, đã chi ở đợt trước")),
        ],
    )
}

/// Feedback from the hotline: some resolved, some still open.
fn hotline_feedback<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
) -> Seeded<(), W> {
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
        *t += Duration::minutes(4);
        let id = format!("fb-demo-{:04}", k + 1);
        let campaign = if commune.starts_with("15") || commune.starts_with("19") {
            STORM
        } else {
            FLOOD
        };
        s.push(
            *t,
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
        *t += Duration::minutes(4);
        s.push(
            *t,
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

/// Pays a round of households (1 approval each), then has the field officers
/// acknowledge most of the payments.
fn pay_households<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: &mut DateTime<Utc>,
    households: &[(u32, usize)],
    round: usize,
) -> Seeded<(), W> {
    let mut paid = Vec::new();
    for (who, c) in households {
        // Later communes are reached less often: under-served places show.
        if s.seq.range(0, 10) < (*c as u64) + 2 || !(round + *who as usize).is_multiple_of(3) {
            continue;
        }
        let (commune, campaign, _) = COMMUNES[*c];
        let balance = s.writer.campaign_balance(campaign);
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
    for (landed, amount, c) in paid {
        if s.seq.range(0, 5) == 0 {
            continue; // not yet acknowledged
        }
        *t += Duration::seconds(40);
        s.push(
            *t,
            "acknowledgment",
            &[COMMUNES[c].2],
            &[
                ("disbursement", entry_ref(&landed)),
                ("amount", json!(amount)),
                (
                    "evidence",
                    json!([hex_of(&sha256(
                        format!("bien-nhan-{}", landed.index).as_bytes()
                    ))]),
                ),
            ],
        )?;
    }
    Ok(())
}

/// The day's closing balance from the bank: what the ledger derives, or (to
/// show a reconciliation mismatch) a little less.
fn balance<W: Writer, R: CryptoRngCore>(
    s: &mut Seeder<'_, W, R>,
    t: DateTime<Utc>,
    account: &str,
    off: bool,
) -> Seeded<(), W> {
    s.flush()?;
    let derived = s.writer.account_balance(account);
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
