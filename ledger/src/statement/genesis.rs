//! `genesis`: entry 0 of every log (SPEC 5.1, 6.1).

use serde::{Deserialize, Serialize};

use super::{Asset, Origin, PublicKey, StatementError, StatementId, Text, Timestamp};

/// The default allowed distance between a statement's `time` and its `logged_at`.
pub const DEFAULT_MAX_SKEW_SECONDS: u32 = 600;
/// The default number of days to resolve citizen feedback on time.
pub const DEFAULT_FEEDBACK_DUE_DAYS: u16 = 15;

/// The first statement of a log: who governs it, which assets it counts, defaults.
/// Signed by at least `threshold` of its own governance keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The log's origin (its checkpoint origin line).
    pub origin: Origin,
    /// The governance keys and the quorum M-of-N.
    pub governance: Governance,
    /// The assets the log counts (`VND`, `kg_rice`, ...).
    pub assets: Vec<AssetInfo>,
    /// Defaults for the rules.
    #[serde(default)]
    pub defaults: Defaults,
}

/// The governance quorum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// The N governance keys.
    pub keys: Vec<GovernanceKey>,
    /// M: how many distinct governance keys must sign a governance statement.
    pub threshold: u8,
}

/// A governance key named in genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceKey {
    /// The Ed25519 public key (base64).
    pub public_key: PublicKey,
    /// Who holds it (an office, not necessarily a person).
    pub name: Text,
    /// Their title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
}

/// An asset the log counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetInfo {
    /// Its code.
    pub code: Asset,
    /// Its name for people (`Việt Nam đồng`, `Gạo (kg)`).
    pub name: Text,
}

/// Defaults for the rules, fixed for the life of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Largest allowed |time − logged_at|, in seconds (SPEC 6.7), at most one day.
    #[serde(default = "default_skew")]
    pub max_skew_seconds: u32,
    /// Days within which feedback counts as resolved on time.
    #[serde(default = "default_due")]
    pub feedback_due_days: u16,
}

fn default_skew() -> u32 {
    DEFAULT_MAX_SKEW_SECONDS
}

fn default_due() -> u16 {
    DEFAULT_FEEDBACK_DUE_DAYS
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            max_skew_seconds: DEFAULT_MAX_SKEW_SECONDS,
            feedback_due_days: DEFAULT_FEEDBACK_DUE_DAYS,
        }
    }
}

impl Genesis {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        let n = self.governance.keys.len();
        let m = usize::from(self.governance.threshold);
        if n == 0 || m == 0 || m > n {
            return Err(StatementError::invalid(
                "governance.threshold",
                "need 1 <= M <= N",
            ));
        }
        let mut ids: Vec<_> = self.governance.keys.iter().map(|k| k.public_key).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != n {
            return Err(StatementError::invalid(
                "governance.keys",
                "a key is listed twice",
            ));
        }
        let mut assets: Vec<_> = self.assets.iter().map(|a| &a.code).collect();
        assets.sort_unstable();
        assets.dedup();
        if assets.is_empty() || assets.len() != self.assets.len() {
            return Err(StatementError::invalid(
                "assets",
                "need at least one asset, each once",
            ));
        }
        if self.defaults.max_skew_seconds > 86_400 {
            return Err(StatementError::invalid(
                "defaults.max_skew_seconds",
                "at most 86400",
            ));
        }
        if self.defaults.feedback_due_days == 0 {
            return Err(StatementError::invalid(
                "defaults.feedback_due_days",
                "at least 1",
            ));
        }
        Ok(())
    }
}
