//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
//!
//! A handful of counters and histograms kept in atomics: no registry crate,
//! no locks on the hot path. Names follow the Prometheus conventions
//! (`_total` for counters, base units: seconds, entries).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A fixed-bucket histogram.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    /// The sum, in millionths of the unit.
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            if value <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Values are small and positive; the float-to-int cast saturates.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        #[allow(clippy::cast_precision_loss)]
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    }
}

const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const ENTRIES: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0];

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    appended: AtomicU64,
    tree_size: AtomicU64,
    batch_entries: Histogram,
    commit_seconds: Histogram,
    submit_seconds: Histogram,
    rejected: Mutex<std::collections::BTreeMap<&'static str, u64>>,
    witness: Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            appended: AtomicU64::new(0),
            tree_size: AtomicU64::new(0),
            batch_entries: Histogram::new(ENTRIES),
            commit_seconds: Histogram::new(SECONDS),
            submit_seconds: Histogram::new(SECONDS),
            rejected: Mutex::default(),
            witness: Mutex::default(),
        }
    }
}

impl Metrics {
    /// Metrics for a log that holds `size` entries.
    #[must_use]
    pub fn new(size: u64) -> Self {
        let m = Self::default();
        m.tree_size.store(size, Ordering::Relaxed);
        m
    }

    /// One durable commit of `entries` statements that took `took`.
    pub fn record_commit(&self, entries: usize, took: Duration, size: u64) {
        self.appended.fetch_add(entries as u64, Ordering::Relaxed);
        self.tree_size.store(size, Ordering::Relaxed);
        #[allow(clippy::cast_precision_loss)]
        self.batch_entries.observe(entries as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// One submission answered after `took` (from receipt to answer).
    pub fn record_submit(&self, took: Duration) {
        self.submit_seconds.observe(took.as_secs_f64());
    }

    /// A statement refused with `code`.
    pub fn record_rejection(&self, code: &'static str) {
        let mut r = self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *r.entry(code).or_default() += 1;
    }

    /// A witness answered (`result`: `cosigned`, `conflict`, `error`).
    pub fn record_witness(&self, witness: &str, result: &'static str) {
        let mut w = self
            .witness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *w.entry((witness.to_owned(), result)).or_default() += 1;
    }

    /// The text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP minhbach_tree_size Entries in the committed log.\n# TYPE minhbach_tree_size gauge\nminhbach_tree_size {}",
            self.tree_size.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP minhbach_appended_entries_total Statements appended since start.\n# TYPE minhbach_appended_entries_total counter\nminhbach_appended_entries_total {}",
            self.appended.load(Ordering::Relaxed)
        );
        self.batch_entries.render(
            &mut out,
            "minhbach_batch_entries",
            "Statements per durable commit.",
        );
        self.commit_seconds.render(
            &mut out,
            "minhbach_commit_seconds",
            "Time of one durable commit (write batch + fsync).",
        );
        self.submit_seconds.render(
            &mut out,
            "minhbach_submit_seconds",
            "Time from receiving a submission to answering it.",
        );
        let _ = writeln!(out, "# HELP minhbach_rejected_total Statements refused, by rule code.\n# TYPE minhbach_rejected_total counter");
        for (code, n) in self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "minhbach_rejected_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP minhbach_witness_requests_total Cosigning requests to witnesses, by result.\n# TYPE minhbach_witness_requests_total counter");
        for ((witness, result), n) in self
            .witness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let witness = witness.replace(['\\', '"', '\n'], "_");
            let _ = writeln!(
                out,
                "minhbach_witness_requests_total{{witness=\"{witness}\",result=\"{result}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_what_was_recorded() {
        let m = Metrics::new(10);
        m.record_commit(3, Duration::from_millis(4), 13);
        m.record_commit(1000, Duration::from_millis(30), 1013);
        m.record_rejection("overspend");
        m.record_rejection("overspend");
        m.record_witness("w1", "cosigned");
        let text = m.render();
        assert!(text.contains("minhbach_tree_size 1013\n"), "{text}");
        assert!(text.contains("minhbach_appended_entries_total 1003\n"));
        assert!(text.contains("minhbach_batch_entries_bucket{le=\"4\"} 1\n"));
        assert!(text.contains("minhbach_batch_entries_bucket{le=\"1024\"} 2\n"));
        assert!(text.contains("minhbach_commit_seconds_count 2\n"));
        assert!(text.contains("minhbach_rejected_total{code=\"overspend\"} 2\n"));
        assert!(text
            .contains("minhbach_witness_requests_total{witness=\"w1\",result=\"cosigned\"} 1\n"));
    }
}
