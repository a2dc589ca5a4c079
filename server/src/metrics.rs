//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
//!
//! A handful of counters and histograms kept in atomics: no registry crate,
//! no locks on the hot path. Names follow the Prometheus conventions
//! (`_total` for counters, base units: seconds, entries).
//!
//! Why not the official `prometheus-client` crate: its `Histogram` takes a
//! mutex on every observation (its source says "consider using atomics"),
//! and `record_submit` observes once per request, from every worker: the
//! hot path would not stay as fast. A switch is worth it once the crate's
//! histograms are lock-free.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        self.render_series(out, name, "");
    }

    /// The series of one histogram, each with `labels` (`key="value",`
    /// pairs, each followed by a comma) before `le`.
    fn render_series(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {total}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = labels.trim_end_matches(',');
        if braces.is_empty() {
            let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
        } else {
            let _ = writeln!(
                out,
                "{name}_sum{{{braces}}} {sum}\n{name}_count{{{braces}}} {total}"
            );
        }
    }
}

const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const ENTRIES: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0];
/// Witness requests: local witnesses answer in milliseconds, remote ones in
/// tens to hundreds, and the default timeout is 5 s.
const WITNESS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What the metrics show of one witness.
#[derive(Debug)]
struct WitnessSeries {
    seconds: Histogram,
    /// The size of the latest checkpoint it cosigned for us (0: none yet).
    cosigned_size: u64,
}

impl Default for WitnessSeries {
    fn default() -> Self {
        Self {
            seconds: Histogram::new(WITNESS_SECONDS),
            cosigned_size: 0,
        }
    }
}

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
    witnesses: Mutex<std::collections::BTreeMap<String, WitnessSeries>>,
    published_size: AtomicU64,
    witness_quorum: AtomicU64,
    replica_size: AtomicU64,
    replica_objects: AtomicU64,
    replica_bytes: AtomicU64,
    replica_skipped: AtomicU64,
    replica_errors: AtomicU64,
    replica_round_seconds: Histogram,
    signature_batch_envelopes: Histogram,
    signature_batch_requests: Histogram,
    signature_overloaded: AtomicU64,
    books_freeze_seconds: Histogram,
    books_flush_seconds: Histogram,
    books_flush_errors: AtomicU64,
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
            witnesses: Mutex::default(),
            published_size: AtomicU64::new(0),
            witness_quorum: AtomicU64::new(0),
            replica_size: AtomicU64::new(0),
            replica_objects: AtomicU64::new(0),
            replica_bytes: AtomicU64::new(0),
            replica_skipped: AtomicU64::new(0),
            replica_errors: AtomicU64::new(0),
            replica_round_seconds: Histogram::new(SECONDS),
            signature_batch_envelopes: Histogram::new(ENTRIES),
            signature_batch_requests: Histogram::new(ENTRIES),
            signature_overloaded: AtomicU64::new(0),
            books_freeze_seconds: Histogram::new(SECONDS),
            books_flush_seconds: Histogram::new(SECONDS),
            books_flush_errors: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Metrics for a log that holds `size` entries.
    #[must_use]
    pub fn new(size: u64) -> Self {
        let m = Self::default();
        m.tree_size.store(size, Ordering::Relaxed);
        m.published_size.store(size, Ordering::Relaxed);
        m
    }

    /// One durable commit of `entries` statements that took `took`.
    pub fn record_commit(&self, entries: usize, took: Duration, size: u64) {
        self.appended.fetch_add(entries as u64, Ordering::Relaxed);
        self.tree_size.store(size, Ordering::Relaxed);
        if self.witness_quorum.load(Ordering::Relaxed) == 0 {
            // Without a quorum every commit is published at once.
            self.published_size.store(size, Ordering::Relaxed);
        }
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

    /// One request to a witness ended with `result` (`cosigned`,
    /// `conflict`, `refused`, `invalid`, `error`).
    pub fn record_witness(&self, witness: &str, result: &'static str) {
        let mut w = self
            .witness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *w.entry((witness.to_owned(), result)).or_default() += 1;
    }

    /// One request to a witness took `took` (answered or not).
    pub fn record_witness_latency(&self, witness: &str, took: Duration) {
        self.witness_series(witness, |s| s.seconds.observe(took.as_secs_f64()));
    }

    /// A witness cosigned the checkpoint of `size`.
    pub fn record_witness_cosigned(&self, witness: &str, size: u64) {
        self.witness_series(witness, |s| s.cosigned_size = s.cosigned_size.max(size));
    }

    fn witness_series(&self, witness: &str, f: impl FnOnce(&mut WitnessSeries)) {
        let mut w = self
            .witnesses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(w.entry(witness.to_owned()).or_default());
    }

    /// A checkpoint of `size` was published.
    pub fn record_published(&self, size: u64) {
        self.published_size.store(size, Ordering::Relaxed);
    }

    /// How many witnesses must cosign before a checkpoint is published (0:
    /// every commit is published at once, and counted so here).
    pub fn set_witness_quorum(&self, required: usize) {
        self.witness_quorum
            .store(required as u64, Ordering::Relaxed);
    }

    /// A replica round brought the bucket to `size` entries, writing
    /// `objects` objects of `bytes` bytes and skipping `skipped` already
    /// there, in `took`.
    pub fn record_replica(
        &self,
        size: u64,
        objects: u64,
        bytes: u64,
        skipped: u64,
        took: Duration,
    ) {
        self.replica_size.store(size, Ordering::Relaxed);
        self.replica_objects.fetch_add(objects, Ordering::Relaxed);
        self.replica_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.replica_skipped.fetch_add(skipped, Ordering::Relaxed);
        self.replica_round_seconds.observe(took.as_secs_f64());
    }

    /// A checker thread verified `envelopes` signatures from `requests`
    /// requests as one Ed25519 batch.
    pub fn record_signature_batch(&self, envelopes: usize, requests: usize) {
        {
            self.signature_batch_envelopes.observe(envelopes as f64);
            self.signature_batch_requests.observe(requests as f64);
        }
    }

    /// A request was refused because the signature checkers' queue was full.
    pub fn record_signature_overloaded(&self) {
        self.signature_overloaded.fetch_add(1, Ordering::Relaxed);
    }

    /// The sequencer held the books `took` to begin a flush (freeze the
    /// unwritten records, copy the live state).
    pub fn record_books_freeze(&self, took: Duration) {
        self.books_freeze_seconds.observe(took.as_secs_f64());
    }

    /// A flush of the books was written in `took` (on its own thread), or
    /// failed (`None`).
    pub fn record_books_flush(&self, took: Option<Duration>) {
        match took {
            Some(took) => self.books_flush_seconds.observe(took.as_secs_f64()),
            None => {
                self.books_flush_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A replica round failed.
    pub fn record_replica_error(&self) {
        self.replica_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_commits(&mut out);
        self.render_signatures(&mut out);
        self.render_books(&mut out);
        self.render_rejections(&mut out);
        self.render_witnesses(&mut out);
        for (name, help, kind, value) in [
            (
                "minhbach_replica_size",
                "Entries covered by the checkpoint in the object-storage replica.",
                "gauge",
                &self.replica_size,
            ),
            (
                "minhbach_replica_objects_total",
                "Objects written to the replica.",
                "counter",
                &self.replica_objects,
            ),
            (
                "minhbach_replica_bytes_total",
                "Bytes written to the replica.",
                "counter",
                &self.replica_bytes,
            ),
            (
                "minhbach_replica_skipped_total",
                "Objects found already in the replica after a restart, not written again.",
                "counter",
                &self.replica_skipped,
            ),
            (
                "minhbach_replica_errors_total",
                "Replica rounds that failed (retried with backoff).",
                "counter",
                &self.replica_errors,
            ),
        ] {
            scalar(&mut out, name, kind, help, value.load(Ordering::Relaxed));
        }
        self.replica_round_seconds.render(
            &mut out,
            "minhbach_replica_round_seconds",
            "Time of one replica round (objects, then the checkpoint).",
        );
        out
    }

    /// The log and its commits.
    fn render_commits(&self, out: &mut String) {
        scalar(
            out,
            "minhbach_tree_size",
            "gauge",
            "Entries in the committed log.",
            self.tree_size.load(Ordering::Relaxed),
        );
        scalar(
            out,
            "minhbach_appended_entries_total",
            "counter",
            "Statements appended since start.",
            self.appended.load(Ordering::Relaxed),
        );
        self.batch_entries.render(
            out,
            "minhbach_batch_entries",
            "Statements per durable commit.",
        );
        self.commit_seconds.render(
            out,
            "minhbach_commit_seconds",
            "Time of one durable commit (write batch + fsync).",
        );
        self.submit_seconds.render(
            out,
            "minhbach_submit_seconds",
            "Time from receiving a submission to answering it.",
        );
    }

    /// The signature checkers.
    fn render_signatures(&self, out: &mut String) {
        self.signature_batch_envelopes.render(
            out,
            "minhbach_signature_batch_envelopes",
            "Signatures verified in one Ed25519 batch by a checker thread.",
        );
        self.signature_batch_requests.render(
            out,
            "minhbach_signature_batch_requests",
            "Requests whose signatures one checker batch verified together.",
        );
        scalar(
            out,
            "minhbach_signature_overloaded_total",
            "counter",
            "Requests refused (503) because the signature checkers' queue was full.",
            self.signature_overloaded.load(Ordering::Relaxed),
        );
    }

    /// The books' flushes and failed reads.
    fn render_books(&self, out: &mut String) {
        self.books_freeze_seconds.render(
            out,
            "minhbach_books_freeze_seconds",
            "Time the sequencer held the books to begin a flush (freeze the unwritten records, copy the live state).",
        );
        self.books_flush_seconds.render(
            out,
            "minhbach_books_flush_seconds",
            "Time to encode and durably write one flush of the books (on its own thread).",
        );
        scalar(
            out,
            "minhbach_books_flush_errors_total",
            "counter",
            "Flushes of the books that failed (their records stay in memory and go with the next).",
            self.books_flush_errors.load(Ordering::Relaxed),
        );
        scalar(
            out,
            "minhbach_books_read_errors_total",
            "counter",
            "Reads of the books from the store that failed (answered 503 unavailable; nothing decided), in this process.",
            crate::books::table::read_errors(),
        );
    }

    /// The rules' refusals.
    fn render_rejections(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP minhbach_rejected_total Statements refused, by rule code.\n# TYPE minhbach_rejected_total counter"
        );
        for (code, n) in self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "minhbach_rejected_total{{code=\"{code}\"}} {n}");
        }
    }

    /// The witnesses and the published checkpoint.
    fn render_witnesses(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP minhbach_witness_requests_total Cosigning requests to witnesses, by result.\n# TYPE minhbach_witness_requests_total counter"
        );
        for ((witness, result), n) in self
            .witness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let witness = label(witness);
            let _ = writeln!(
                out,
                "minhbach_witness_requests_total{{witness=\"{witness}\",result=\"{result}\"}} {n}"
            );
        }
        let witnesses = self
            .witnesses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(
            out,
            "# HELP minhbach_witness_request_seconds Time of one cosigning request to a witness, answered or not.\n# TYPE minhbach_witness_request_seconds histogram"
        );
        for (witness, series) in witnesses.iter() {
            let witness = label(witness);
            series.seconds.render_series(
                out,
                "minhbach_witness_request_seconds",
                &format!("witness=\"{witness}\","),
            );
        }
        let _ = writeln!(
            out,
            "# HELP minhbach_witness_cosigned_size Size of the latest checkpoint each witness cosigned.\n# TYPE minhbach_witness_cosigned_size gauge"
        );
        for (witness, series) in witnesses.iter() {
            let _ = writeln!(
                out,
                "minhbach_witness_cosigned_size{{witness=\"{}\"}} {}",
                label(witness),
                series.cosigned_size
            );
        }
        drop(witnesses);
        scalar(
            out,
            "minhbach_published_size",
            "gauge",
            "Entries covered by the published checkpoint.",
            self.published_size.load(Ordering::Relaxed),
        );
        scalar(
            out,
            "minhbach_witness_quorum",
            "gauge",
            "Witness cosignatures required to publish a checkpoint.",
            self.witness_quorum.load(Ordering::Relaxed),
        );
    }
}

/// The store's memory gauges, by part (RocksDB's own estimates).
#[must_use]
pub fn store_memory(m: &minhbach_ledger::store::rocks::StoreMemory) -> String {
    let mut out = String::from(
        "# HELP minhbach_store_memory_bytes Memory of the RocksDB store, by part.\n# TYPE minhbach_store_memory_bytes gauge\n",
    );
    for (part, bytes) in [
        ("memtables", m.memtables),
        ("table_readers", m.table_readers),
        ("block_cache", m.block_cache),
    ] {
        let _ = writeln!(
            out,
            "minhbach_store_memory_bytes{{part=\"{part}\"}} {bytes}"
        );
    }
    out
}

/// One unlabelled counter or gauge (`kind`), with its help and type lines.
fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// A label value with the characters the exposition format escapes replaced.
fn label(value: &str) -> String {
    value.replace(['\\', '"', '\n'], "_")
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
        m.record_signature_batch(1, 1);
        m.record_signature_batch(900, 37);
        m.record_signature_overloaded();
        let text = m.render();
        assert!(text.contains("minhbach_tree_size 1013\n"), "{text}");
        assert!(text.contains("minhbach_appended_entries_total 1003\n"));
        assert!(text.contains("minhbach_batch_entries_bucket{le=\"4\"} 1\n"));
        assert!(text.contains("minhbach_batch_entries_bucket{le=\"1024\"} 2\n"));
        assert!(text.contains("minhbach_commit_seconds_count 2\n"));
        assert!(text.contains("minhbach_rejected_total{code=\"overspend\"} 2\n"));
        assert!(
            text.contains(
                "minhbach_witness_requests_total{witness=\"w1\",result=\"cosigned\"} 1\n"
            )
        );
        assert!(text.contains("minhbach_signature_batch_envelopes_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("minhbach_signature_batch_envelopes_bucket{le=\"1024\"} 2\n"));
        assert!(
            text.contains("minhbach_signature_batch_envelopes_sum 901\n"),
            "{text}"
        );
        assert!(text.contains("minhbach_signature_batch_requests_bucket{le=\"16\"} 1\n"));
        assert!(text.contains("minhbach_signature_batch_requests_bucket{le=\"64\"} 2\n"));
        assert!(text.contains("minhbach_signature_overloaded_total 1\n"));
        assert!(text.contains(
            "# TYPE minhbach_signature_overloaded_total counter\nminhbach_signature_overloaded_total 1\n"
        ));
    }

    #[test]
    fn books_flushes_count_their_times_and_their_failures_apart() {
        let m = Metrics::new(0);
        m.record_books_freeze(Duration::from_millis(3));
        m.record_books_flush(Some(Duration::from_millis(200)));
        m.record_books_flush(None);
        m.record_books_flush(None);
        let text = m.render();
        assert!(text.contains("minhbach_books_freeze_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("minhbach_books_freeze_seconds_count 1\n"));
        // A failed flush has no time: it is counted as an error only.
        assert!(text.contains("minhbach_books_flush_seconds_bucket{le=\"0.1\"} 0\n"));
        assert!(text.contains("minhbach_books_flush_seconds_bucket{le=\"0.25\"} 1\n"));
        assert!(
            text.contains("minhbach_books_flush_seconds_count 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "# TYPE minhbach_books_flush_errors_total counter\nminhbach_books_flush_errors_total 2\n"
        ));
    }

    #[test]
    fn witness_series_carry_their_label() {
        let m = Metrics::new(10);
        m.set_witness_quorum(2);
        m.record_published(7);
        m.record_witness("w\"1", "error");
        m.record_witness_latency("w\"1", Duration::from_millis(30));
        m.record_witness_latency("w\"1", Duration::from_secs(7));
        m.record_witness_cosigned("w2", 9);
        m.record_witness_cosigned("w2", 5);
        let text = m.render();
        assert!(
            text.contains("minhbach_witness_requests_total{witness=\"w_1\",result=\"error\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "minhbach_witness_request_seconds_bucket{witness=\"w_1\",le=\"0.05\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "minhbach_witness_request_seconds_bucket{witness=\"w_1\",le=\"+Inf\"} 2\n"
            )
        );
        assert!(text.contains("minhbach_witness_request_seconds_count{witness=\"w_1\"} 2\n"));
        assert!(
            text.contains("minhbach_witness_request_seconds_sum{witness=\"w_1\"} 7.03\n"),
            "{text}"
        );
        assert!(text.contains("minhbach_witness_cosigned_size{witness=\"w2\"} 9\n"));
        assert!(text.contains("minhbach_published_size 7\n"));
        assert!(text.contains("minhbach_witness_quorum 2\n"));
        // Unlabelled histograms keep their plain series.
        assert!(text.contains("minhbach_commit_seconds_count 0\n"));
    }
}
