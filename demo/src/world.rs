//! A small realistic world for the rules tests, property tests, golden vectors
//! and the benchmarks (the ledger's, the auditor's, and the end-to-end audit
//! tests): genesis with a 2-of-3 governance quorum, signer keys of every role
//! (fixed seeds, so the golden vectors never change), the Typhoon Yagi
//! campaign (post-2025 Lào Cai codes), a Hà Nội fund, a registered
//! Vietcombank account, one enrolled household, one donation. The statements
//! are applied to the rules' state in memory ([`World::submit`]), with no log
//! and no server: the demo log's history is [`crate::history`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::envelope::{Envelope, KeyId, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::leaf_hash;
use minhbach_ledger::rules::{ApplyError, Effects, Rejection, State, VerifiedEntry};
use minhbach_ledger::statement::{Commitment, PublicKey, Statement};
use minhbach_ledger::trace::TraceIndex;
use serde_json::{Value, json};

/// The Typhoon Yagi campaign.
pub const YAGI: &str = "yagi-2024";
/// The Hà Nội fund.
pub const HANOI: &str = "hanoi-fund";
/// Lào Cai province.
pub const LAO_CAI: &str = "15";
/// A ward of Lào Cai, where households are enrolled.
pub const LAO_CAI_WARD: &str = "15-02647";
/// Another ward of Lào Cai.
pub const CAM_DUONG: &str = "15-02671";
/// A ward of Hà Nội.
pub const BA_DINH: &str = "01-00004";
/// A commune code from before the 2025 reorganisation.
pub const OLD_DUYEN_HAI: &str = "pre2025:10-080-02635";

/// The names of the signers of the world, with the seed of their key.
pub const SIGNERS: &[(&str, u8)] = &[
    ("g1", 1),
    ("g2", 2),
    ("g3", 3),
    ("intake", 10),
    ("intake_hn", 11),
    ("a1", 20),
    ("a2", 21),
    ("a3", 22),
    ("field", 30),
    ("field_hn", 31),
    ("stranger", 99),
];

/// A signer of the world.
pub struct Signer {
    /// The private key.
    pub sk: SigningKey,
    /// The public key.
    pub pk: PublicKey,
    /// Its key id.
    pub id: KeyId,
}

impl Signer {
    /// The signer whose key is 32 bytes of `seed`.
    #[must_use]
    pub fn new(seed: u8) -> Self {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let pk = PublicKey(sk.verifying_key().to_bytes());
        Self {
            sk,
            id: pk.key_id(),
            pk,
        }
    }
}

/// A beneficiary commitment from a fixed salt and a made-up identifier.
#[must_use]
pub fn person(n: u32) -> Commitment {
    Commitment::compute(&[42u8; 32], format!("0791{n:08}").as_bytes())
}

/// One step: a statement (JSON, `id` and `time` filled in when absent), its
/// signers, and optional overrides of the entry.
#[derive(Clone, Debug)]
pub struct Step {
    /// The statement.
    pub json: Value,
    /// The names of its signers (of [`SIGNERS`]).
    pub signers: Vec<&'static str>,
    /// When it is logged (default: a second after the last entry).
    pub logged_at: Option<DateTime<Utc>>,
    /// Its index (default: the next one).
    pub index: Option<u64>,
    /// The payload bytes, instead of `json`.
    pub raw: Option<Vec<u8>>,
}

/// A step with no overrides.
#[must_use]
pub fn step(json: Value, signers: &[&'static str]) -> Step {
    Step {
        json,
        signers: signers.to_vec(),
        logged_at: None,
        index: None,
        raw: None,
    }
}

/// The rules' state after a list of steps, and what it took.
pub struct World {
    /// The rules' state.
    pub state: State,
    /// Where every donation went.
    pub trace: TraceIndex,
    /// The signers, by name.
    pub signers: BTreeMap<&'static str, Signer>,
    /// Every accepted entry.
    pub entries: Vec<VerifiedEntry>,
    /// Leaf bytes of every accepted entry (only when `sign` is on).
    pub leaves: Vec<Vec<u8>>,
    /// The time of the last entry.
    pub now: DateTime<Utc>,
    /// Whether entries are signed envelopes in leaves (slower) or bare
    /// payloads.
    pub sign: bool,
    counter: u64,
}

/// The world's start: 2024-09-10 01:00 UTC.
#[must_use]
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 10, 1, 0, 0).single().unwrap()
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// No entries yet.
    #[must_use]
    pub fn empty(sign: bool) -> Self {
        Self {
            state: State::new(),
            trace: TraceIndex::new(),
            signers: SIGNERS.iter().map(|(n, s)| (*n, Signer::new(*s))).collect(),
            entries: Vec::new(),
            leaves: Vec::new(),
            now: t0(),
            sign,
            counter: 0,
        }
    }

    /// The standard world (see the module docs), unsigned.
    #[must_use]
    pub fn new() -> Self {
        Self::build(false)
    }

    /// The standard world, signed if `sign`.
    ///
    /// # Panics
    /// If the rules refuse a base step.
    #[must_use]
    pub fn build(sign: bool) -> Self {
        let mut w = Self::empty(sign);
        for s in base_steps(&w) {
            w.submit(s).expect("the base world is valid");
        }
        w
    }

    /// The signer `name`.
    #[must_use]
    pub fn key(&self, name: &str) -> &Signer {
        &self.signers[name]
    }

    /// The public key of `name`, in base64.
    #[must_use]
    pub fn pk(&self, name: &str) -> String {
        self.key(name).pk.to_base64()
    }

    /// A new statement id.
    pub fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("s-{:05}", self.counter)
    }

    /// Fills `id` and `time`, returns the payload bytes.
    ///
    /// # Panics
    /// Never: a JSON value serialises.
    pub fn payload(&mut self, s: &Step, logged_at: DateTime<Utc>) -> Vec<u8> {
        if let Some(raw) = &s.raw {
            return raw.clone();
        }
        let mut v = s.json.clone();
        if let Value::Object(m) = &mut v {
            if !m.contains_key("id") {
                m.insert("id".into(), json!(self.next_id()));
            }
            if !m.contains_key("time") {
                m.insert(
                    "time".into(),
                    json!(logged_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                );
            }
        }
        serde_json::to_vec(&v).unwrap()
    }

    /// Builds the entry for a step without applying it.
    ///
    /// # Errors
    /// The [`Rejection`] of a statement that does not parse.
    ///
    /// # Panics
    /// If a signer is not of [`SIGNERS`].
    pub fn entry(&mut self, s: &Step) -> Result<(VerifiedEntry, Option<Vec<u8>>), Rejection> {
        let logged_at = s.logged_at.unwrap_or(self.now + Duration::seconds(1));
        let payload = self.payload(s, logged_at);
        let statement = Statement::from_json(&payload)?;
        let signers: Vec<KeyId> = s.signers.iter().map(|n| self.signers[n].id).collect();
        let index = s.index.unwrap_or(self.state.next_index());
        let (leaf_hash, leaf) = if self.sign {
            let mut env = Envelope::sign(
                STATEMENT_PAYLOAD_TYPE,
                payload.clone(),
                &self.signers[s.signers[0]].sk,
            );
            for n in &s.signers[1..] {
                env.add_signature(&self.signers[n].sk).unwrap();
            }
            let bytes = Leaf::new(logged_at, env).encode().unwrap();
            (leaf_hash(&bytes).into(), Some(bytes))
        } else {
            (leaf_hash(&payload).into(), None)
        };
        Ok((
            VerifiedEntry {
                index,
                leaf_hash,
                logged_at,
                statement,
                signers,
            },
            leaf,
        ))
    }

    /// Applies a step; on success records it and moves the clock.
    ///
    /// # Errors
    /// The rules' [`Rejection`] (a history in memory is always readable).
    pub fn submit(&mut self, s: Step) -> Result<Effects, ApplyError> {
        let (e, leaf) = self.entry(&s)?;
        let effects = self.state.apply(&e)?;
        self.trace.record(&effects);
        self.now = e.logged_at;
        self.entries.push(e);
        if let Some(l) = leaf {
            self.leaves.push(l);
        }
        Ok(effects)
    }

    /// Applies a step the rules must accept; returns its index.
    ///
    /// # Panics
    /// If the rules refuse it.
    pub fn ok(&mut self, s: Step) -> u64 {
        let what = s.json.clone();
        match self.submit(s) {
            Ok(e) => e.index,
            Err(r) => panic!("{} refused: {r} ({})", what, r.code()),
        }
    }

    /// The last entry.
    ///
    /// # Panics
    /// If there is none.
    #[must_use]
    pub fn last(&self) -> &VerifiedEntry {
        self.entries.last().unwrap()
    }

    /// A reference to entry `index`, as statements carry it.
    #[must_use]
    pub fn entry_ref(&self, index: u64) -> Value {
        json!({"index": index, "leaf_hash": self.entries[index as usize].leaf_hash.to_hex()})
    }

    // Common statements.

    /// A donation of `amount` ₫ to Yagi, bank reference `r`; its index.
    pub fn donation(&mut self, amount: u64, r: &str) -> u64 {
        self.ok(donation(YAGI, amount, r))
    }

    /// A disbursement of `amount` ₫ from Yagi to household `who`; its index.
    pub fn disburse(&mut self, amount: u64, who: u32) -> u64 {
        self.ok(disbursement(YAGI, amount, who, &["a1"]))
    }
}

/// Enrolls households 2..200 in the Lào Cai ward (the relief flow pays them).
pub fn enroll_households(w: &mut World) {
    for p in 2..200 {
        w.ok(step(
            json!({"type": "beneficiary.enroll", "beneficiary": person(p).to_hex(), "region": LAO_CAI_WARD,
                   "category": "disaster_affected", "priority": 2}),
            &["field"],
        ));
    }
}

/// A relief campaign's steady flow of `n` entries after
/// [`enroll_households`]: 70 % donations, 15 % disbursements to enrolled
/// households, 10 % acknowledgments, 5 % feedback opened and resolved. Each
/// disbursement pays out up to 5,000,000 ₫ of what the campaign holds, so money
/// does not pile up: the open items (unspent slices, open feedback) stay few
/// however long the log grows.
pub fn relief_flow(w: &mut World, n: usize) {
    let start = w.entries.len();
    let mut last_disbursement = None;
    let mut i = 0u64;
    while w.entries.len() - start < n {
        i += 1;
        match i % 20 {
            0..=13 => {
                w.donation(1_000_000 + i % 977, &format!("FT24{i:012}"));
            }
            14..=16 => {
                let balance = w.state.campaign(&slug(YAGI)).unwrap().funds[&asset("VND")].balance;
                let amount = balance.min(5_000_000);
                if amount > 0 {
                    let d = w.disburse(amount, 1 + (i % 199) as u32);
                    last_disbursement = Some((d, amount));
                }
            }
            17 | 18 => {
                if let Some((d, amount)) = last_disbursement.take() {
                    let r = w.entry_ref(d);
                    w.ok(step(
                        json!({"type": "acknowledgment", "disbursement": r, "amount": amount}),
                        &["field"],
                    ));
                }
            }
            _ => {
                let id = format!("fb-{i}");
                w.ok(step(
                    json!({"type": "feedback.open", "id": id, "category": "request", "region": LAO_CAI_WARD,
                           "text_hash": "cd".repeat(32)}),
                    &["field"],
                ));
                w.ok(step(
                    json!({"type": "feedback.resolve", "feedback": id, "outcome": "resolved",
                           "response_hash": "ef".repeat(32)}),
                    &["field"],
                ));
            }
        }
    }
}

/// `s` as a slug.
///
/// # Panics
/// If it is not one.
#[must_use]
pub fn slug(s: &str) -> minhbach_ledger::statement::Slug {
    serde_json::from_value(json!(s)).unwrap()
}

/// `s` as an asset code.
///
/// # Panics
/// If it is not one.
#[must_use]
pub fn asset(s: &str) -> minhbach_ledger::statement::Asset {
    serde_json::from_value(json!(s)).unwrap()
}

/// A donation step of `amount` ₫ to `campaign` (Yagi or the Hà Nội fund),
/// bank reference `r`, signed by the campaign's intake clerk.
#[must_use]
pub fn donation(campaign: &str, amount: u64, r: &str) -> Step {
    let (account, signer) = if campaign == YAGI {
        ("vcb-1", "intake")
    } else {
        ("vcb-hn", "intake_hn")
    };
    step(
        json!({"type": "donation", "campaign": campaign, "account": account, "amount": amount,
               "asset": "VND", "channel": "bank", "external_ref": r,
               "donor_name": "Nguyễn Văn A", "memo": "MBVCB.******7890.ung ho dong bao lu lut",
               "received_at": "2024-09-10T00:00:00Z"}),
        &[signer],
    )
}

/// A disbursement step of `amount` ₫ from `campaign` to household `who`.
#[must_use]
pub fn disbursement(campaign: &str, amount: u64, who: u32, signers: &[&'static str]) -> Step {
    step(
        json!({"type": "disbursement", "campaign": campaign, "amount": amount, "asset": "VND",
               "recipient": {"beneficiary": person(who).to_hex()}, "region": LAO_CAI_WARD,
               "purpose": "Hỗ trợ khẩn cấp hộ bị thiệt hại"}),
        signers,
    )
}

fn grant(w: &World, name: &str, title: &str, roles: Value, scope: Value) -> Step {
    step(
        json!({"type": "key.grant", "public_key": w.pk(name), "name": name, "title": title,
               "roles": roles, "scope": scope}),
        &["g1", "g2"],
    )
}

fn base_steps(w: &World) -> Vec<Step> {
    let policy = json!({"VND": [{"from": 0, "approvals": 1}, {"from": 100_000_000, "approvals": 2}],
                        "kg_rice": [{"from": 0, "approvals": 1}]});
    vec![
        step(
            json!({"type": "genesis", "origin": "minhbach.example/log",
                   "governance": {"threshold": 2, "keys": [
                       {"public_key": w.pk("g1"), "name": "Ủy ban Trung ương MTTQ Việt Nam", "title": "Chủ tịch"},
                       {"public_key": w.pk("g2"), "name": "Ban Thường trực", "title": "Phó Chủ tịch"},
                       {"public_key": w.pk("g3"), "name": "Ban Kiểm tra"}]},
                   "assets": [{"code": "VND", "name": "Việt Nam đồng"}, {"code": "kg_rice", "name": "Gạo (kg)"}],
                   "defaults": {"max_skew_seconds": 600, "feedback_due_days": 15}}),
            &["g1", "g2"],
        ),
        grant(
            w,
            "intake",
            "Kế toán tiếp nhận",
            json!(["intake"]),
            json!({"campaigns": [YAGI]}),
        ),
        grant(
            w,
            "intake_hn",
            "Kế toán Hà Nội",
            json!(["intake"]),
            json!({"campaigns": [HANOI]}),
        ),
        grant(
            w,
            "a1",
            "Trưởng ban cứu trợ",
            json!(["approver"]),
            json!({"campaigns": [YAGI, HANOI]}),
        ),
        grant(
            w,
            "a2",
            "Phó ban cứu trợ",
            json!(["approver"]),
            json!({"campaigns": [YAGI, HANOI]}),
        ),
        grant(
            w,
            "a3",
            "Ủy viên",
            json!(["approver"]),
            json!({"campaigns": [YAGI], "regions": ["01"]}),
        ),
        grant(
            w,
            "field",
            "Cán bộ MTTQ xã",
            json!(["field", "intake"]),
            json!({"regions": [LAO_CAI]}),
        ),
        grant(
            w,
            "field_hn",
            "Cán bộ MTTQ phường",
            json!(["field"]),
            json!({"regions": ["01"]}),
        ),
        step(
            json!({"type": "campaign.open", "campaign": YAGI,
                   "title": {"vi": "Ủng hộ đồng bào bị thiệt hại do bão số 3 (Yagi)", "en": "Typhoon Yagi relief"},
                   "cause": {"kind": "typhoon", "name": "Bão số 3 (Yagi)", "date": "2024-09-07",
                             "regions": [LAO_CAI, OLD_DUYEN_HAI]},
                   "priority": 1, "assets": ["VND", "kg_rice"], "approval_policy": policy,
                   "unit_rates": [{"category": "house_rebuild", "asset": "VND", "amount": 100_000_000u64},
                                  {"category": "house_repair", "asset": "VND", "amount": 20_000_000u64}]}),
            &["g1", "g2"],
        ),
        step(
            json!({"type": "campaign.open", "campaign": HANOI,
                   "title": {"vi": "Quỹ Cứu trợ Thành phố Hà Nội"},
                   "cause": {"kind": "other", "name": "Cứu trợ thường xuyên", "regions": ["01"]},
                   "priority": 3, "assets": ["VND"],
                   "approval_policy": {"VND": [{"from": 0, "approvals": 1}]}}),
            &["g1", "g3"],
        ),
        step(
            json!({"type": "account.register", "account": "vcb-1", "campaign": YAGI, "kind": "bank",
                   "institution": "Vietcombank", "number": "0011001932418",
                   "holder": "Ủy ban Trung ương MTTQ Việt Nam", "asset": "VND"}),
            &["g1", "g2"],
        ),
        step(
            json!({"type": "account.register", "account": "vcb-hn", "campaign": HANOI, "kind": "bank",
                   "institution": "Vietcombank", "number": "1234567890",
                   "holder": "Ủy ban MTTQ Thành phố Hà Nội", "asset": "VND"}),
            &["g1", "g2"],
        ),
        step(
            json!({"type": "beneficiary.enroll", "beneficiary": person(1).to_hex(), "region": LAO_CAI_WARD,
                   "category": "disaster_affected", "priority": 1}),
            &["field"],
        ),
        donation(YAGI, 10_000_000, "FT24254000000001"),
    ]
}
