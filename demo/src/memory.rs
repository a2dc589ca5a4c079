//! The demo history without a server: each batch is encoded into leaves and
//! replayed through the rules' state in memory, as an auditor replays a
//! log. For tests and tools that want the demo's statements and leaves but
//! no store.

use chrono::{DateTime, Utc};
use minhbach_ledger::envelope::Envelope;
use minhbach_ledger::leaf::{Leaf, LeafError};
use minhbach_ledger::merkle::leaf_hash;
use minhbach_ledger::rules::{ApplyError, State};
use minhbach_ledger::statement::Slug;

use crate::history::{Landed, Writer};

/// A log in memory: the leaves the rules accepted, and the state they built.
#[derive(Default)]
#[non_exhaustive]
pub struct MemoryLog {
    /// The rules' state after every accepted leaf.
    pub state: State,
    /// Every accepted leaf, in order.
    pub leaves: Vec<Vec<u8>>,
}

impl MemoryLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl Writer for MemoryLog {
    type Error = LeafError;

    fn commit(
        &mut self,
        envelopes: Vec<Envelope>,
        logged_at: DateTime<Utc>,
    ) -> Result<Vec<Result<Landed, ApplyError>>, LeafError> {
        // A log's clock never runs backwards (as the server's writer does).
        let logged_at = self
            .state
            .last_logged_at()
            .map_or(logged_at, |last| logged_at.max(last));
        envelopes
            .into_iter()
            .map(|envelope| {
                let bytes = Leaf::new(logged_at, envelope).encode()?;
                Ok(match self.state.apply_leaf(&bytes) {
                    Ok((entry, _)) => {
                        self.leaves.push(bytes);
                        Ok(Landed {
                            index: entry.index,
                            leaf_hash: leaf_hash(&self.leaves[self.leaves.len() - 1]).0,
                        })
                    }
                    Err(rejection) => Err(rejection),
                })
            })
            .collect()
    }

    fn campaign_balance(&self, campaign: &str) -> u64 {
        Slug::new(campaign)
            .ok()
            .and_then(|slug| minhbach_ledger::summary::campaign(&self.state, &slug))
            .and_then(|c| c.assets.into_iter().find(|a| a.asset.as_str() == "VND"))
            .map_or(0, |a| a.balance)
    }

    fn account_balance(&self, account: &str) -> u64 {
        self.state
            .accounts()
            .find(|(id, _)| id.as_str() == account)
            .map_or(0, |(_, a)| a.derived)
    }
}
