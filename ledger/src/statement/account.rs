//! `account.register`, `account.close` (governance quorum) and `account.balance`
//! (an intake key): the official receiving accounts and their daily
//! reconciliation against the bank (SPEC 5.4, 6.6).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AccountNumber, Asset, Balance, Slug, StatementId, Text, Timestamp};

/// What kind of account receives money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccountKind {
    /// A bank account.
    Bank,
    /// A cash box or safe held by an office.
    Cash,
    /// An e-wallet (MoMo, ZaloPay, Viettel Money).
    EWallet,
    /// A State Treasury account (Kho bạc Nhà nước).
    Treasury,
    /// A warehouse for goods in kind.
    Warehouse,
}

/// Registers an official receiving account of a campaign, so donors can tell real
/// accounts from scam look-alikes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRegister {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The account's stable name in the log (`mttq-vcb-0011001932418`).
    pub account: Slug,
    /// The campaign it receives for.
    pub campaign: Slug,
    /// Its kind.
    pub kind: AccountKind,
    /// The bank, wallet or treasury (`Vietcombank`).
    pub institution: Text,
    /// The account number, as public as the Front publishes it.
    pub number: AccountNumber,
    /// A short alias the bank also accepts (`CT1111`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<AccountNumber>,
    /// The holder's name (`Ủy ban Trung ương MTTQ Việt Nam`).
    pub holder: Text,
    /// The asset it holds (`VND` for money accounts).
    pub asset: Asset,
    /// Its balance when registered, so reconciliation starts from the bank's figure.
    #[serde(default)]
    pub opening_balance: Balance,
}

/// Closes a receiving account: it takes no new donations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountClose {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// Which account.
    pub account: Slug,
    /// Why.
    pub reason: Text,
}

/// The bank's own end-of-day balance of a registered account. The ledger
/// compares it with the balance it derives; a mismatch is accepted and recorded
/// as it is, never hidden (SPEC 6.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBalance {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// Which account.
    pub account: Slug,
    /// The bank day.
    pub date: NaiveDate,
    /// The bank's closing balance that day.
    pub balance: Balance,
}
