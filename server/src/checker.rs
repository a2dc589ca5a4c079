//! Signature checks for the request handlers, batched across requests.
//!
//! ```text
//!  handlers (any number)          checker threads (one per core)
//!  envelopes of one request ──►  a queue ──► take the first job waiting and
//!  await the answer                          every job queued behind it (up to
//!                                            MAX_ENVELOPES), parse and verify
//!  ◄── one verdict per envelope ──────────── them all in one Ed25519 batch
//! ```
//!
//! A single-statement request alone would pay for a single verification
//! (about three times a batched one). Under load, requests queue while the
//! threads are busy, so the next take is a batch: the more requests, the
//! cheaper each signature. An idle server answers a lone request at once,
//! with no waiting window. A bad signature costs only its own request: the
//! batch is split in halves until it is found (`Envelope::verify_batch`).

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use minhbach_ledger::envelope::Envelope;
use minhbach_ledger::rules::Rejection;
use tokio::sync::oneshot;

use crate::books::SharedBooks;
use crate::metrics::Metrics;
use crate::sequencer::{Checked, check_envelopes};

/// The most envelopes one thread verifies in one take (it always takes at
/// least the first job waiting, whatever its size).
const MAX_ENVELOPES: usize = 2048;

/// Requests waiting for a checker before new ones are refused (503).
const QUEUE: usize = 4096;

/// The verdict on each envelope of a request, in order.
pub type Verdicts = Vec<Result<Checked, Rejection>>;

struct Job {
    envelopes: Vec<Envelope>,
    reply: oneshot::Sender<Verdicts>,
}

/// Why a request's envelopes were not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The queue is full: try again shortly (HTTP 503).
    #[error("too many requests are waiting for their signatures to be checked")]
    Overloaded,
    /// The checker threads are gone (shutdown).
    #[error("the signature checkers have stopped")]
    Stopped,
}

/// The checker threads and their queue. Dropping it stops the threads once
/// the queued jobs are answered, and waits for them (they hold the books,
/// and through them the store, which must be closed when the server is).
#[derive(Debug)]
pub struct Checker {
    tx: SyncSender<Job>,
    metrics: Arc<Metrics>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Checker {
    fn drop(&mut self) {
        // Dropping our sender closes the queue; each thread stops at the
        // end of it.
        let (dummy, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.tx, dummy));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Checker {
    /// Starts `threads` checker threads verifying against the key registry
    /// of `books`; each batch and each refusal is counted in `metrics`.
    ///
    /// # Errors
    /// An I/O error if a thread cannot be spawned.
    pub fn start(
        books: SharedBooks,
        threads: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let mut handles = Vec::with_capacity(threads.max(1));
        for i in 0..threads.max(1) {
            let (rx, books, metrics) = (Arc::clone(&rx), books.clone(), Arc::clone(&metrics));
            handles.push(
                std::thread::Builder::new()
                    .name(format!("checker-{i}"))
                    .spawn(move || run(&rx, &books, &metrics))?,
            );
        }
        Ok(Self {
            tx,
            metrics,
            threads: handles,
        })
    }

    /// Parses the statements of `envelopes` and verifies their signatures;
    /// one verdict per envelope, in order.
    ///
    /// # Errors
    /// [`CheckError::Overloaded`] when the queue is full,
    /// [`CheckError::Stopped`] after shutdown.
    pub async fn check(&self, envelopes: Vec<Envelope>) -> Result<Verdicts, CheckError> {
        if envelopes.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job { envelopes, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => {
                    self.metrics.record_signature_overloaded();
                    CheckError::Overloaded
                }
                TrySendError::Disconnected(_) => CheckError::Stopped,
            })?;
        answer.await.map_err(|_| CheckError::Stopped)
    }
}

/// One checker thread: takes the first job waiting and those queued behind
/// it, checks them as one batch, answers each.
fn run(rx: &Mutex<Receiver<Job>>, books: &SharedBooks, metrics: &Metrics) {
    loop {
        let jobs = {
            let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(first) = rx.recv() else { return };
            let mut count = first.envelopes.len();
            let mut jobs = vec![first];
            while count < MAX_ENVELOPES {
                match rx.try_recv() {
                    Ok(job) => {
                        count += job.envelopes.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        let mut sizes = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut envelopes = Vec::new();
        for job in jobs {
            sizes.push(job.envelopes.len());
            replies.push(job.reply);
            envelopes.extend(job.envelopes);
        }
        metrics.record_signature_batch(envelopes.len(), sizes.len());
        let mut verdicts = check_envelopes(books, envelopes).into_iter();
        for (size, reply) in sizes.into_iter().zip(replies) {
            // A request whose client went away no longer waits.
            let _ = reply.send(verdicts.by_ref().take(size).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt as _;
    use minhbach_ledger::envelope::STATEMENT_PAYLOAD_TYPE;

    use super::*;

    fn envelope() -> Envelope {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        Envelope::sign(STATEMENT_PAYLOAD_TYPE, b"{}".to_vec(), &key)
    }

    /// While the checkers cannot work, requests queue up to the limit and
    /// the next one is refused as overloaded (never silently dropped); once
    /// they can work again, a new request is answered.
    #[test]
    fn a_full_queue_refuses_new_requests_as_overloaded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(minhbach_ledger::store::rocks::RocksStore::open(dir.path()).unwrap());
        let books = SharedBooks::new(crate::books::Books::open(&store).unwrap());
        let metrics = Arc::new(Metrics::new(0));
        let checker = Checker::start(books.clone(), 1, Arc::clone(&metrics)).unwrap();
        let blocked = books.write();
        let mut queued = 0;
        let refused = loop {
            assert!(queued < QUEUE + MAX_ENVELOPES + 8, "never refused");
            // Polled once: queued (pending) or refused at once.
            match checker.check(vec![envelope()]).now_or_never() {
                None => queued += 1,
                Some(Err(e)) => break e,
                Some(Ok(_)) => panic!("answered while the books were locked"),
            }
        };
        assert_eq!(refused, CheckError::Overloaded);
        assert!(
            metrics
                .render()
                .contains("minhbach_signature_overloaded_total 1\n")
        );
        assert!(queued >= QUEUE, "only {queued} queued");
        drop(blocked);
        let answer = futures::executor::block_on(async {
            loop {
                match checker.check(vec![envelope()]).await {
                    Err(CheckError::Overloaded) => std::thread::yield_now(),
                    other => break other,
                }
            }
        });
        let verdicts = answer.unwrap();
        assert_eq!(verdicts.len(), 1);
        // No genesis yet: the statement `{}` does not parse.
        assert!(verdicts[0].is_err());
        // Every queued request and the last one were checked, in batches
        // that each counted their requests.
        let text = metrics.render();
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("minhbach_signature_batch_requests_sum "))
            .expect("requests sum");
        assert!(
            count.parse::<f64>().unwrap() >= (queued + 1) as f64,
            "{text}"
        );
    }
}
