//! Statements: the typed values signed into the log (SPEC 4.2 and 5).
//!
//! A statement is a JSON object with `type`, `id` and `time` and the fields of
//! its type. [`Statement::from_json`] parses strictly: unknown fields, duplicate
//! fields, non-integer or out-of-range amounts, malformed identifiers, unknown
//! region codes and unmasked numbers in memos are all rejected, each with a
//! [`StatementError`]. Text is normalized to NFC ([`Text`]).
//!
//! | `type` | struct | family file |
//! | --- | --- | --- |
//! | `genesis` | [`Genesis`] | `genesis.rs` |
//! | `key.grant`, `key.revoke` | [`KeyGrant`], [`KeyRevoke`] | `keys.rs` |
//! | `campaign.open`, `.update`, `.close` | [`CampaignOpen`], [`CampaignUpdate`], [`CampaignClose`] | `campaign.rs` |
//! | `account.register`, `.close`, `.balance` | [`AccountRegister`], [`AccountClose`], [`AccountBalance`] | `account.rs` |
//! | `donation`, `transfer` | [`Donation`], [`Transfer`] | `donation.rs` |
//! | `beneficiary.enroll`, `.update` | [`BeneficiaryEnroll`], [`BeneficiaryUpdate`] | `beneficiary.rs` |
//! | `disbursement`, `acknowledgment` | [`Disbursement`], [`Acknowledgment`] | `disbursement.rs` |
//! | `reversal` | [`Reversal`] | `reversal.rs` |
//! | `feedback.open`, `.resolve` | [`FeedbackOpen`], [`FeedbackResolve`] | `feedback.rs` |
//!
//! What this module does **not** do: check signatures ([`crate::envelope`]) or
//! anything that depends on the log's history ([`crate::rules`]).

mod account;
mod amount;
mod beneficiary;
mod campaign;
mod commitment;
mod disbursement;
mod donation;
mod feedback;
mod genesis;
mod ident;
mod keys;
mod reversal;
mod text;
mod time;

use serde::{Deserialize, Serialize};

pub use account::{AccountBalance, AccountClose, AccountKind, AccountRegister};
pub use amount::{Amount, AmountError, Asset, Balance, MAX_AMOUNT, format_amount, group_thousands};
pub use beneficiary::{BeneficiaryCategory, BeneficiaryEnroll, BeneficiaryUpdate};
pub use campaign::{
    ApprovalPolicy, CampaignClose, CampaignOpen, CampaignUpdate, Cause, CauseKind, Priority, Tier,
    Title, UnitRate,
};
pub use commitment::{COMMITMENT_LABEL, Commitment};
pub use disbursement::{Acknowledgment, Disbursement, Recipient};
pub use donation::{Channel, Donation, MAX_DIGIT_RUN, Transfer};
pub use feedback::{FeedbackCategory, FeedbackOpen, FeedbackResolve, Outcome};
pub use genesis::{
    AssetInfo, DEFAULT_FEEDBACK_DUE_DAYS, DEFAULT_MAX_SKEW_SECONDS, Defaults, Genesis, Governance,
    GovernanceKey,
};
pub use ident::{
    AccountNumber, Digest, EntryRef, ExternalRef, IdentError, KeyId, Origin, PublicKey, Slug,
    StatementId,
};
pub use keys::{KeyGrant, KeyRevoke, Role, Scope};
pub use reversal::Reversal;
pub use text::{MAX_TEXT_BYTES, Text, TextError};
pub use time::{Timestamp, TimestampError};

use crate::region::RegionCode;

/// The largest statement payload, in bytes: a leaf is at most 65,535 bytes
/// (SPEC 4.3) and wraps the base64 of the payload, so a payload is well below.
pub const MAX_STATEMENT_BYTES: usize = 32 * 1024;

/// Implements `Serialize`/`Deserialize` through a string for a newtype with
/// `new(&str) -> Result<Self, E>` and `as_str()` (or the named functions).
macro_rules! string_serde {
    ($t:ty) => {
        $crate::statement::string_serde!($t, new, as_str);
    };
    ($t:ty, $parse:ident, $show:ident) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.$show())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$t>::$parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_serde;

/// Every statement type (SPEC 5), tagged by `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum Statement {
    /// `account.balance`
    #[serde(rename = "account.balance")]
    AccountBalance(AccountBalance),
    /// `account.close`
    #[serde(rename = "account.close")]
    AccountClose(AccountClose),
    /// `account.register`
    #[serde(rename = "account.register")]
    AccountRegister(AccountRegister),
    /// `acknowledgment`
    #[serde(rename = "acknowledgment")]
    Acknowledgment(Acknowledgment),
    /// `beneficiary.enroll`
    #[serde(rename = "beneficiary.enroll")]
    BeneficiaryEnroll(BeneficiaryEnroll),
    /// `beneficiary.update`
    #[serde(rename = "beneficiary.update")]
    BeneficiaryUpdate(BeneficiaryUpdate),
    /// `campaign.close`
    #[serde(rename = "campaign.close")]
    CampaignClose(CampaignClose),
    /// `campaign.open`
    #[serde(rename = "campaign.open")]
    CampaignOpen(CampaignOpen),
    /// `campaign.update`
    #[serde(rename = "campaign.update")]
    CampaignUpdate(CampaignUpdate),
    /// `disbursement`
    #[serde(rename = "disbursement")]
    Disbursement(Disbursement),
    /// `donation`
    #[serde(rename = "donation")]
    Donation(Donation),
    /// `feedback.open`
    #[serde(rename = "feedback.open")]
    FeedbackOpen(FeedbackOpen),
    /// `feedback.resolve`
    #[serde(rename = "feedback.resolve")]
    FeedbackResolve(FeedbackResolve),
    /// `genesis`
    #[serde(rename = "genesis")]
    Genesis(Genesis),
    /// `key.grant`
    #[serde(rename = "key.grant")]
    KeyGrant(KeyGrant),
    /// `key.revoke`
    #[serde(rename = "key.revoke")]
    KeyRevoke(KeyRevoke),
    /// `reversal`
    #[serde(rename = "reversal")]
    Reversal(Reversal),
    /// `transfer`
    #[serde(rename = "transfer")]
    Transfer(Transfer),
}

/// The `type` of a statement, without its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the `type` string returned by `as_str`
pub enum StatementKind {
    AccountBalance,
    AccountClose,
    AccountRegister,
    Acknowledgment,
    BeneficiaryEnroll,
    BeneficiaryUpdate,
    CampaignClose,
    CampaignOpen,
    CampaignUpdate,
    Disbursement,
    Donation,
    FeedbackOpen,
    FeedbackResolve,
    Genesis,
    KeyGrant,
    KeyRevoke,
    Reversal,
    Transfer,
}

impl StatementKind {
    /// Every kind, in `type` order.
    pub const ALL: [StatementKind; 18] = [
        Self::AccountBalance,
        Self::AccountClose,
        Self::AccountRegister,
        Self::Acknowledgment,
        Self::BeneficiaryEnroll,
        Self::BeneficiaryUpdate,
        Self::CampaignClose,
        Self::CampaignOpen,
        Self::CampaignUpdate,
        Self::Disbursement,
        Self::Donation,
        Self::FeedbackOpen,
        Self::FeedbackResolve,
        Self::Genesis,
        Self::KeyGrant,
        Self::KeyRevoke,
        Self::Reversal,
        Self::Transfer,
    ];

    /// The `type` string.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountBalance => "account.balance",
            Self::AccountClose => "account.close",
            Self::AccountRegister => "account.register",
            Self::Acknowledgment => "acknowledgment",
            Self::BeneficiaryEnroll => "beneficiary.enroll",
            Self::BeneficiaryUpdate => "beneficiary.update",
            Self::CampaignClose => "campaign.close",
            Self::CampaignOpen => "campaign.open",
            Self::CampaignUpdate => "campaign.update",
            Self::Disbursement => "disbursement",
            Self::Donation => "donation",
            Self::FeedbackOpen => "feedback.open",
            Self::FeedbackResolve => "feedback.resolve",
            Self::Genesis => "genesis",
            Self::KeyGrant => "key.grant",
            Self::KeyRevoke => "key.revoke",
            Self::Reversal => "reversal",
            Self::Transfer => "transfer",
        }
    }
}

impl StatementKind {
    /// The kind of a `type` string ([`StatementKind::as_str`]).
    ///
    /// # Errors
    /// [`StatementError::Invalid`] for a string that is no statement type.
    pub fn from_type(s: &str) -> Result<Self, StatementError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(StatementError::Invalid {
                field: "type",
                rule: "a known statement type",
            })
    }
}

string_serde!(StatementKind, from_type, as_str);

/// Why bytes are not a valid statement.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// A field breaks a rule of its type.
    #[error("invalid {field}: {rule}")]
    Invalid {
        /// The field (or statement part).
        field: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Not JSON, not an object of a known type, or a field of the wrong shape
    /// (unknown or duplicate fields, floats for amounts, malformed identifiers).
    #[error("malformed statement at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A memo or donor name holds an unmasked account, phone or ID number.
    #[error(
        "{field} holds a run of more than {MAX_DIGIT_RUN} digits: mask account, phone and ID numbers"
    )]
    PersonalData {
        /// The field.
        field: &'static str,
    },
    /// The payload is larger than [`MAX_STATEMENT_BYTES`].
    #[error("statement is {size} bytes, more than {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A region code is well-formed but not in the official list.
    #[error("region code {code} is not in the official list of administrative units")]
    UnknownRegion {
        /// The code.
        code: String,
    },
}

impl StatementError {
    pub(crate) fn invalid(field: &'static str, rule: &'static str) -> Self {
        Self::Invalid { field, rule }
    }
}

impl Statement {
    /// Parses and validates a statement payload.
    ///
    /// # Errors
    /// [`StatementError`] for anything that is not a valid statement.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StatementError> {
        if bytes.len() > MAX_STATEMENT_BYTES {
            return Err(StatementError::TooLarge {
                size: bytes.len(),
                max: MAX_STATEMENT_BYTES,
            });
        }
        let s: Statement = serde_json::from_slice(bytes).map_err(|e| StatementError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// The statement as compact JSON (what a signer signs).
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Invariant: every field serializes to JSON (strings, integers, arrays, maps
        // with string keys), so serialization cannot fail.
        serde_json::to_vec(self).expect("statements always serialize")
    }

    /// Checks the rules that depend on the statement alone.
    ///
    /// # Errors
    /// [`StatementError`] for the first rule broken.
    pub fn validate(&self) -> Result<(), StatementError> {
        match self {
            Statement::BeneficiaryEnroll(s) => s.validate(),
            Statement::BeneficiaryUpdate(s) => s.validate(),
            Statement::CampaignOpen(s) => s.validate(),
            Statement::CampaignUpdate(s) => s.validate(),
            Statement::Acknowledgment(s) => s.validate(),
            Statement::Disbursement(s) => s.validate(),
            Statement::Donation(s) => s.validate(),
            Statement::Genesis(s) => s.validate(),
            Statement::KeyGrant(s) => s.validate(),
            Statement::Transfer(s) => s.validate(),
            _ => Ok(()),
        }?;
        let mut unknown = None;
        self.for_each_region(|r| {
            if unknown.is_none() && r.info().is_none() {
                unknown = Some(r.as_str().to_owned());
            }
        });
        match unknown {
            Some(code) => Err(StatementError::UnknownRegion { code }),
            None => Ok(()),
        }
    }

    fn for_each_region(&self, mut f: impl FnMut(&RegionCode)) {
        match self {
            Statement::KeyGrant(s) => s.scope.regions.iter().flatten().for_each(f),
            Statement::CampaignOpen(s) => s.cause.regions.iter().for_each(f),
            Statement::CampaignUpdate(s) => s.cause.iter().flat_map(|c| &c.regions).for_each(f),
            Statement::BeneficiaryEnroll(s) => f(&s.region),
            Statement::BeneficiaryUpdate(s) => s.region.iter().for_each(f),
            Statement::Disbursement(s) => f(&s.region),
            Statement::FeedbackOpen(s) => f(&s.region),
            _ => {}
        }
    }

    /// The statement's type.
    #[must_use]
    pub fn kind(&self) -> StatementKind {
        match self {
            Statement::AccountBalance(_) => StatementKind::AccountBalance,
            Statement::AccountClose(_) => StatementKind::AccountClose,
            Statement::AccountRegister(_) => StatementKind::AccountRegister,
            Statement::Acknowledgment(_) => StatementKind::Acknowledgment,
            Statement::BeneficiaryEnroll(_) => StatementKind::BeneficiaryEnroll,
            Statement::BeneficiaryUpdate(_) => StatementKind::BeneficiaryUpdate,
            Statement::CampaignClose(_) => StatementKind::CampaignClose,
            Statement::CampaignOpen(_) => StatementKind::CampaignOpen,
            Statement::CampaignUpdate(_) => StatementKind::CampaignUpdate,
            Statement::Disbursement(_) => StatementKind::Disbursement,
            Statement::Donation(_) => StatementKind::Donation,
            Statement::FeedbackOpen(_) => StatementKind::FeedbackOpen,
            Statement::FeedbackResolve(_) => StatementKind::FeedbackResolve,
            Statement::Genesis(_) => StatementKind::Genesis,
            Statement::KeyGrant(_) => StatementKind::KeyGrant,
            Statement::KeyRevoke(_) => StatementKind::KeyRevoke,
            Statement::Reversal(_) => StatementKind::Reversal,
            Statement::Transfer(_) => StatementKind::Transfer,
        }
    }

    /// The statement's `id`.
    #[must_use]
    pub fn id(&self) -> &StatementId {
        self.common().0
    }

    /// The statement's `time`.
    #[must_use]
    pub fn time(&self) -> Timestamp {
        *self.common().1
    }

    fn common(&self) -> (&StatementId, &Timestamp) {
        match self {
            Statement::AccountBalance(s) => (&s.id, &s.time),
            Statement::AccountClose(s) => (&s.id, &s.time),
            Statement::AccountRegister(s) => (&s.id, &s.time),
            Statement::Acknowledgment(s) => (&s.id, &s.time),
            Statement::BeneficiaryEnroll(s) => (&s.id, &s.time),
            Statement::BeneficiaryUpdate(s) => (&s.id, &s.time),
            Statement::CampaignClose(s) => (&s.id, &s.time),
            Statement::CampaignOpen(s) => (&s.id, &s.time),
            Statement::CampaignUpdate(s) => (&s.id, &s.time),
            Statement::Disbursement(s) => (&s.id, &s.time),
            Statement::Donation(s) => (&s.id, &s.time),
            Statement::FeedbackOpen(s) => (&s.id, &s.time),
            Statement::FeedbackResolve(s) => (&s.id, &s.time),
            Statement::Genesis(s) => (&s.id, &s.time),
            Statement::KeyGrant(s) => (&s.id, &s.time),
            Statement::KeyRevoke(s) => (&s.id, &s.time),
            Statement::Reversal(s) => (&s.id, &s.time),
            Statement::Transfer(s) => (&s.id, &s.time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_kinds_round_trip_through_their_type_strings() {
        for k in StatementKind::ALL {
            assert_eq!(StatementKind::from_type(k.as_str()).unwrap(), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<StatementKind>(&json).unwrap(), k);
        }
        assert!(StatementKind::from_type("donation ").is_err());
    }

    fn donation_json(extra: &str) -> String {
        format!(
            r#"{{"type":"donation","id":"d-1","time":"2024-09-10T08:30:00Z","campaign":"yagi-2024",
            "account":"vcb-1","amount":500000,"asset":"VND","channel":"bank",
            "external_ref":"FT24254607609791","received_at":"2024-09-10T08:00:00Z"{extra}}}"#
        )
    }

    #[test]
    fn parses_a_donation() {
        let s = Statement::from_json(donation_json("").as_bytes()).unwrap();
        assert_eq!(s.kind(), StatementKind::Donation);
        assert_eq!(s.id().as_str(), "d-1");
        let round = Statement::from_json(&s.to_json()).unwrap();
        assert_eq!(round, s);
    }

    #[test]
    fn rejects_unknown_and_duplicate_fields() {
        assert!(matches!(
            Statement::from_json(donation_json(r#","extra":1"#).as_bytes()),
            Err(StatementError::Json { .. })
        ));
        assert!(matches!(
            Statement::from_json(donation_json(r#","amount":1"#).as_bytes()),
            Err(StatementError::Json { .. })
        ));
        assert!(matches!(
            Statement::from_json(br#"{"type":"nope","id":"x","time":"2024-09-10T08:30:00Z"}"#),
            Err(StatementError::Json { .. })
        ));
    }

    #[test]
    fn rejects_unmasked_memo() {
        let r =
            Statement::from_json(donation_json(r#","memo":"MBVCB.1234567890.ung ho"#).as_bytes());
        assert!(r.is_err());
        let r =
            Statement::from_json(donation_json(r#","memo":"MBVCB.1234567890.ung ho""#).as_bytes());
        assert_eq!(r, Err(StatementError::PersonalData { field: "memo" }));
        let ok = Statement::from_json(
            donation_json(r#","memo":"MBVCB.******7890.ung ho lu lut""#).as_bytes(),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for k in StatementKind::ALL {
            assert!(!k.as_str().is_empty());
        }
    }
}
