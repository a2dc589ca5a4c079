//! The audit report: totals per campaign, province and commune, coverage,
//! feedback on-time rate, reconciliation and anomalies, written as
//! `report.txt` (for people), `report.json` and CSV files (for spreadsheets).
//!
//! Figures come from the ledger's summaries ([`minhbach_ledger::summary`]) of
//! the replayed state, so they are the ones the server should publish; the
//! anomalies come from the replay's observations. Coverage cells with fewer
//! than [`DEFAULT_MIN_CELL`] households are suppressed (SPEC 6.10).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use minhbach_ledger::summary::{self, DEFAULT_MIN_CELL};
use serde::Serialize;

use crate::AuditError;
use crate::replay::Replay;

/// One anomaly worth a human look.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// `double_payment`, `never_enrolled`, `unacknowledged`, `near_threshold`,
    /// `overdue_feedback`, `reconciliation_mismatch` or `rule_rejection`.
    pub kind: &'static str,
    /// The entry concerned.
    pub index: u64,
    /// The campaign, when there is one.
    pub campaign: Option<String>,
    /// What is odd, in one line (no personal data: commitments only).
    pub detail: String,
}

/// Thresholds of the anomaly report.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// Disbursements unacknowledged for longer are flagged.
    pub unacked_days: u32,
    /// The time "now" for ages and overdue items.
    pub as_of: DateTime<Utc>,
}

/// Feedback figures of one category, with its on-time rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedbackRow {
    /// The figures.
    #[serde(flatten)]
    pub summary: summary::FeedbackSummary,
    /// Resolved on time / resolved, when any was resolved.
    pub on_time_rate: Option<f64>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The log.
    pub origin: String,
    /// The audited size.
    pub tree_size: u64,
    /// The verified root (base64).
    pub root: String,
    /// The time the report was made for.
    pub as_of: String,
    /// Signatures verified.
    pub signatures_verified: u64,
    /// Entries per statement type.
    pub entries_by_type: BTreeMap<&'static str, u64>,
    /// Per campaign and asset.
    pub campaigns: Vec<summary::CampaignSummary>,
    /// Households enrolled and reached per commune and category.
    pub coverage: Vec<summary::CoverageCell>,
    /// Feedback per category.
    pub feedback: Vec<FeedbackRow>,
    /// Resolved on time over all categories / resolved.
    pub feedback_on_time_rate: Option<f64>,
    /// Everything odd.
    pub anomalies: Vec<Anomaly>,
    /// The rule rejection that stopped the replay, if any (misbehaviour).
    pub rejection: Option<Anomaly>,
}

fn rate(on_time: u64, resolved: u64) -> Option<f64> {
    (resolved > 0).then(|| on_time as f64 / resolved as f64)
}

/// Builds the report of a replay.
#[must_use]
pub fn build(
    replay: &Replay,
    origin: &str,
    root: &str,
    thresholds: Thresholds,
    rejection: Option<Anomaly>,
) -> Report {
    let state = &replay.state;
    let obs = &replay.observer;
    let as_of = thresholds.as_of;
    let mut anomalies = Vec::new();

    let live = |i: &u64| {
        state
            .history()
            .disbursement_record(*i)
            .is_some_and(|d| d.reversed_by.is_none())
    };
    for ((campaign, who), indices) in &obs.paid {
        let live: Vec<u64> = indices.iter().copied().filter(live).collect();
        if live.len() > 1 {
            for &i in &live[1..] {
                anomalies.push(Anomaly {
                    kind: "double_payment",
                    index: i,
                    campaign: Some(campaign.clone()),
                    detail: format!(
                        "commitment {who} was already paid by entr{} {:?} in this campaign",
                        if live.len() > 2 { "ies" } else { "y" },
                        live.iter().filter(|&&j| j < i).collect::<Vec<_>>()
                    ),
                });
            }
        }
    }
    for (i, campaign, who) in &obs.never_enrolled {
        anomalies.push(Anomaly {
            kind: "never_enrolled",
            index: *i,
            campaign: Some(campaign.clone()),
            detail: format!("paid to commitment {who}, never enrolled before"),
        });
    }
    let limit = Duration::days(i64::from(thresholds.unacked_days));
    for d in &obs.disbursements {
        let Some(rec) = state.history().disbursement_record(d.index) else {
            continue;
        };
        if rec.reversed_by.is_none() && rec.acknowledged < rec.amount && as_of - d.logged_at > limit
        {
            anomalies.push(Anomaly {
                kind: "unacknowledged",
                index: d.index,
                campaign: Some(rec.campaign.as_str().to_owned()),
                detail: format!(
                    "{} of {} {} acknowledged after {} days",
                    rec.acknowledged,
                    rec.amount,
                    rec.asset.as_str(),
                    (as_of - d.logged_at).num_days()
                ),
            });
        }
    }
    for (i, campaign, asset, amount, from) in &obs.near_threshold {
        anomalies.push(Anomaly {
            kind: "near_threshold",
            index: *i,
            campaign: Some(campaign.clone()),
            detail: format!(
                "{amount} {asset} is within 5% below the approval tier starting at {from}"
            ),
        });
    }
    for (i, f) in &obs.open_feedback {
        if f.due < as_of {
            anomalies.push(Anomaly {
                kind: "overdue_feedback",
                index: *i,
                campaign: None,
                detail: format!(
                    "{} feedback due {} is still open",
                    f.category.as_str(),
                    f.due.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            });
        }
    }
    for m in summary::mismatches(state) {
        anomalies.push(Anomaly {
            kind: "reconciliation_mismatch",
            index: m.index,
            campaign: None,
            detail: format!(
                "account {} on {}: bank says {}, ledger derives {}",
                m.account.as_str(),
                m.date,
                m.bank_balance,
                m.ledger_balance
            ),
        });
    }
    if let Some(r) = &rejection {
        anomalies.push(r.clone());
    }
    anomalies.sort_by_key(|a| (a.index, a.kind));

    let feedback: Vec<FeedbackRow> = summary::feedback(state, as_of)
        .into_iter()
        .map(|s| FeedbackRow {
            on_time_rate: rate(s.resolved_on_time, s.resolved),
            summary: s,
        })
        .collect();
    let (on_time, resolved) = feedback.iter().fold((0, 0), |(a, b), f| {
        (a + f.summary.resolved_on_time, b + f.summary.resolved)
    });
    Report {
        origin: origin.to_owned(),
        tree_size: replay.size(),
        root: root.to_owned(),
        as_of: as_of.to_rfc3339_opts(SecondsFormat::Secs, true),
        signatures_verified: replay.signatures,
        entries_by_type: obs.counts.iter().map(|(k, n)| (k.as_str(), *n)).collect(),
        campaigns: summary::campaigns(state),
        coverage: summary::coverage(state, DEFAULT_MIN_CELL),
        feedback,
        feedback_on_time_rate: rate(on_time, resolved),
        anomalies,
        rejection,
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "suppressed".to_owned(), |v| v.to_string())
}

fn write_csv(
    dir: &Path,
    name: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<(), AuditError> {
    let path = dir.join(name);
    let err = |e: csv::Error| AuditError::io(&path, std::io::Error::other(e));
    let mut w = csv::Writer::from_path(&path).map_err(err)?;
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.flush().map_err(|e| AuditError::io(&path, e))
}

impl Report {
    /// The human summary.
    #[must_use]
    pub fn text(&self) -> String {
        let mut t = String::new();
        let verdict = if self.rejection.is_some() {
            "MISBEHAVIOUR: the log holds an entry the rules refuse"
        } else {
            "verified: signatures, rules and root"
        };
        t.push_str(&format!(
            "minhbach audit of {}\n{verdict}\nsize {}  root {}\nas of {}, {} signatures verified\n\n",
            self.origin, self.tree_size, self.root, self.as_of, self.signatures_verified
        ));
        t.push_str("Entries by type:\n");
        for (k, v) in &self.entries_by_type {
            t.push_str(&format!("  {k:<20} {v}\n"));
        }
        t.push_str("\nCampaigns (in / out / balance):\n");
        for c in &self.campaigns {
            for a in &c.assets {
                t.push_str(&format!(
                    "  {:<20} {:<8} {} / {} / {}{}\n",
                    c.campaign.as_str(),
                    a.asset.as_str(),
                    a.total_in,
                    a.total_out,
                    a.balance,
                    if c.closed { "  (closed)" } else { "" }
                ));
            }
        }
        let (resolved, on_time) = self.feedback.iter().fold((0, 0), |(r, o), f| {
            (r + f.summary.resolved, o + f.summary.resolved_on_time)
        });
        t.push_str(&format!(
            "\nFeedback: {on_time} of {resolved} resolved on time{}\n",
            self.feedback_on_time_rate
                .map(|r| format!(" ({:.1}%)", r * 100.0))
                .unwrap_or_default()
        ));
        t.push_str(&format!("\nAnomalies: {}\n", self.anomalies.len()));
        for a in &self.anomalies {
            t.push_str(&format!(
                "  entry {:>8}  {:<24} {}{}\n",
                a.index,
                a.kind,
                a.campaign
                    .as_ref()
                    .map(|c| format!("[{c}] "))
                    .unwrap_or_default(),
                a.detail
            ));
        }
        t
    }

    /// Writes `report.txt`, `report.json`, `campaigns.csv`, `provinces.csv`,
    /// `communes.csv`, `coverage.csv`, `feedback.csv` and `anomalies.csv`
    /// into `dir`.
    ///
    /// # Errors
    /// [`AuditError::Io`].
    pub fn write(&self, dir: &Path) -> Result<(), AuditError> {
        std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        self.write_summary(dir)?;
        self.write_campaigns(dir)?;
        self.write_places(dir)?;
        self.write_coverage(dir)?;
        self.write_feedback(dir)?;
        self.write_anomalies(dir)
    }

    /// Each campaign's assets, with their campaign.
    fn assets(&self) -> impl Iterator<Item = (&summary::CampaignSummary, &summary::AssetSummary)> {
        self.campaigns
            .iter()
            .flat_map(|c| c.assets.iter().map(move |a| (c, a)))
    }

    /// `report.txt` and `report.json`.
    fn write_summary(&self, dir: &Path) -> Result<(), AuditError> {
        let txt = dir.join("report.txt");
        std::fs::write(&txt, self.text()).map_err(|e| AuditError::io(&txt, e))?;
        let json = dir.join("report.json");
        let body = serde_json::to_vec_pretty(self).map_err(|e| AuditError::io(&json, e.into()))?;
        std::fs::write(&json, body).map_err(|e| AuditError::io(&json, e))
    }

    /// `campaigns.csv`: one row per campaign and asset.
    fn write_campaigns(&self, dir: &Path) -> Result<(), AuditError> {
        write_csv(
            dir,
            "campaigns.csv",
            &[
                "campaign",
                "title",
                "closed",
                "asset",
                "in",
                "out",
                "balance",
                "donated",
                "donations_reversed",
                "transferred_in",
                "transferred_out",
                "disbursed",
                "acknowledged",
                "donation_count",
                "disbursement_count",
            ],
            self.assets().map(|(c, a)| {
                vec![
                    c.campaign.as_str().to_owned(),
                    c.title.clone(),
                    c.closed.to_string(),
                    a.asset.as_str().to_owned(),
                    a.total_in.to_string(),
                    a.total_out.to_string(),
                    a.balance.to_string(),
                    a.donated.to_string(),
                    a.donations_reversed.to_string(),
                    a.transferred_in.to_string(),
                    a.transferred_out.to_string(),
                    a.disbursed.to_string(),
                    a.acknowledged.to_string(),
                    a.donation_count.to_string(),
                    a.disbursement_count.to_string(),
                ]
            }),
        )
    }

    /// `provinces.csv` and `communes.csv`: what went out to each place, with its households.
    fn write_places(&self, dir: &Path) -> Result<(), AuditError> {
        // Households per province: the sum of the published (unsuppressed) cells.
        let mut households: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for c in &self.coverage {
            let e = households.entry(c.province.as_str()).or_default();
            e.0 += c.enrolled.unwrap_or(0);
            e.1 += c.reached.unwrap_or(0);
        }
        let mut commune_households: BTreeMap<&str, (Option<u64>, Option<u64>)> = BTreeMap::new();
        for c in &self.coverage {
            let e = commune_households
                .entry(c.commune.as_str())
                .or_insert((Some(0), Some(0)));
            e.0 = e.0.zip(c.enrolled).map(|(a, b)| a + b);
            e.1 = e.1.zip(c.reached).map(|(a, b)| a + b);
        }
        write_csv(
            dir,
            "provinces.csv",
            &[
                "province",
                "campaign",
                "asset",
                "out",
                "households_enrolled",
                "households_reached",
            ],
            self.assets().flat_map(|(c, a)| {
                let households = &households;
                a.by_province.iter().map(move |(p, out)| {
                    let (e, r) = households.get(p.as_str()).copied().unwrap_or_default();
                    vec![
                        p.clone(),
                        c.campaign.as_str().to_owned(),
                        a.asset.as_str().to_owned(),
                        out.to_string(),
                        e.to_string(),
                        r.to_string(),
                    ]
                })
            }),
        )?;
        write_csv(
            dir,
            "communes.csv",
            &[
                "commune",
                "campaign",
                "asset",
                "out",
                "households_enrolled",
                "households_reached",
            ],
            self.assets().flat_map(|(c, a)| {
                let ch = &commune_households;
                a.by_commune.iter().map(move |(k, out)| {
                    let (e, r) = ch.get(k.as_str()).copied().unwrap_or((Some(0), Some(0)));
                    vec![
                        k.clone(),
                        c.campaign.as_str().to_owned(),
                        a.asset.as_str().to_owned(),
                        out.to_string(),
                        opt(e),
                        opt(r),
                    ]
                })
            }),
        )
    }

    /// `coverage.csv`.
    fn write_coverage(&self, dir: &Path) -> Result<(), AuditError> {
        write_csv(
            dir,
            "coverage.csv",
            &["commune", "province", "category", "enrolled", "reached"],
            self.coverage.iter().map(|c| {
                vec![
                    c.commune.clone(),
                    c.province.clone(),
                    c.category.as_str().to_owned(),
                    opt(c.enrolled),
                    opt(c.reached),
                ]
            }),
        )
    }

    /// `feedback.csv`.
    fn write_feedback(&self, dir: &Path) -> Result<(), AuditError> {
        write_csv(
            dir,
            "feedback.csv",
            &[
                "category",
                "opened",
                "resolved",
                "resolved_on_time",
                "open",
                "overdue",
                "on_time_rate",
            ],
            self.feedback.iter().map(|f| {
                let s = &f.summary;
                vec![
                    s.category.as_str().to_owned(),
                    s.opened.to_string(),
                    s.resolved.to_string(),
                    s.resolved_on_time.to_string(),
                    s.open.to_string(),
                    s.overdue.to_string(),
                    f.on_time_rate
                        .map(|r| format!("{r:.4}"))
                        .unwrap_or_default(),
                ]
            }),
        )
    }

    /// `anomalies.csv`.
    fn write_anomalies(&self, dir: &Path) -> Result<(), AuditError> {
        write_csv(
            dir,
            "anomalies.csv",
            &["kind", "index", "campaign", "detail"],
            self.anomalies.iter().map(|a| {
                vec![
                    a.kind.to_owned(),
                    a.index.to_string(),
                    a.campaign.clone().unwrap_or_default(),
                    a.detail.clone(),
                ]
            }),
        )
    }
}
