//! The group-commit thread: jobs from concurrent requests grouped into one
//! batch (up to a size, within a short window), handed to the [`Core`], and
//! answered once it is committed; the committed size is announced first, to
//! the publisher (the witness step) and to anyone waiting on it.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use minhbach_ledger::rules::Rejection;
use tokio::sync::{oneshot, watch};

use super::{Checked, Core, Outcome, SequencerError};

/// How the sequencer groups statements.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    /// The most statements in one commit.
    pub max_batch: usize,
    /// How long to wait for more statements after the first one.
    pub window: Duration,
    /// Jobs that may wait in the queue before submitters get 503.
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            window: Duration::from_millis(2),
            queue: 1024,
        }
    }
}

struct Job {
    items: Vec<Result<Checked, Rejection>>,
    reply: oneshot::Sender<Result<Vec<Outcome>, SequencerError>>,
}

/// The running sequencer: a thread that owns the [`Core`].
pub struct Sequencer {
    tx: SyncSender<Job>,
    committed: watch::Receiver<u64>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("committed", &*self.committed.borrow())
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Starts the sequencer thread over `core`.
    ///
    /// # Errors
    /// An I/O error if the thread cannot be spawned.
    pub fn start(mut core: Core, config: BatchConfig) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Job>(config.queue);
        let (committed_tx, committed) = watch::channel(core.size());
        let thread = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let mut count = jobs[0].items.len();
                    let deadline = Instant::now() + config.window;
                    while count < config.max_batch {
                        let wait = deadline.saturating_duration_since(Instant::now());
                        match rx.recv_timeout(wait) {
                            Ok(job) => {
                                count += job.items.len();
                                jobs.push(job);
                            }
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break;
                            }
                        }
                    }
                    let mut items = Vec::with_capacity(count);
                    let mut replies = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        replies.push((job.items.len(), job.reply));
                        items.extend(job.items);
                    }
                    let result = core.process(items, DateTime::<Utc>::from(std::time::SystemTime::now()));
                    // Published before anyone hears back, so a waiter that
                    // asks for the size afterwards sees it.
                    committed_tx.send_replace(core.size());
                    match result {
                        Ok(outcomes) => {
                            let mut outcomes = outcomes.into_iter();
                            for (n, reply) in replies {
                                let _ = reply.send(Ok(outcomes.by_ref().take(n).collect()));
                            }
                        }
                        Err(e) => {
                            for (_, reply) in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                    // After the answers: a flush delays only the next batch.
                    core.flush_if_due();
                }
                tracing::info!(target: "minhbach_server::sequencer", size = core.size(), "sequencer stopped");
            })?;
        Ok(Self {
            tx,
            committed,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Submits checked statements; the answer comes once their batch is
    /// committed.
    ///
    /// # Errors
    /// [`SequencerError::Overloaded`] when the queue is full,
    /// [`SequencerError::Stopped`] after shutdown, [`SequencerError::Store`]
    /// if the commit failed.
    pub async fn submit(
        &self,
        items: Vec<Result<Checked, Rejection>>,
    ) -> Result<Vec<Outcome>, SequencerError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job { items, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => SequencerError::Overloaded,
                TrySendError::Disconnected(_) => SequencerError::Stopped,
            })?;
        answer.await.map_err(|_| SequencerError::Stopped)?
    }

    /// The committed size, updated after each commit.
    #[must_use]
    pub fn committed(&self) -> watch::Receiver<u64> {
        self.committed.clone()
    }
}

/// Stops the sequencer: the batch in flight is finished, queued jobs are
/// answered, then the thread exits. Called when the last handle goes.
impl Drop for Sequencer {
    fn drop(&mut self) {
        // Replacing the sender drops ours; the thread drains what is queued
        // and stops when the channel is empty and closed.
        let (dummy, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.tx, dummy));
        crate::join_once(&self.thread);
    }
}
