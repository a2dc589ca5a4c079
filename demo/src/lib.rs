//! The minhbach demo, generated in one place: the officials, campaigns,
//! accounts and households of the demo log, the history that
//! `minhbach-server demo` seeds ([`history`]), and the statements that the
//! server's load tests and bench post over HTTP ([`load`]).
//!
//! The history covers two campaigns:
//!
//! - a storm campaign ([`STORM`]: typhoon Yagi, Lào Cai and Thái Nguyên)
//!   taking money (VND, two bank accounts and cash) and rice in kind
//!   (`kg_rice`);
//! - a flood campaign ([`FLOOD`]: central Việt Nam, Huế and Đà Nẵng) with its
//!   own account;
//!
//! with a genesis signed by 2 of 3 governance keys, key grants, households
//! enrolled in ten communes of four provinces (commitments only: no personal
//! data), thousands of donations through bank, cash and in-kind channels,
//! disbursements to households (one approval) and to communes (≥ the policy's
//! threshold: 2 of 3 approvers), acknowledgments by field officers, a bounced
//! donation reversed, a disbursement reversed, daily bank balances (one that
//! does not match, shown, never hidden) and feedback items, some resolved.
//!
//! Every statement is signed by the officials the rules require and goes
//! through a [`history::Writer`]: the server's writer commits them through the
//! same rules as a live submission, so the demo log replays cleanly in any
//! auditor. This crate depends on the ledger core only: it holds no storage
//! and does no I/O (the officials' keys are handed to it).

pub mod history;
pub mod load;
pub mod memory;
mod officials;
pub mod world;

pub use history::{Landed, Options, SeedError, Writer, seed};
pub use memory::MemoryLog;
pub use officials::{OFFICIALS, Official, Officials, Role};

use minhbach_ledger::statement::Commitment;

/// The demo log's origin (and the name of its key).
pub const ORIGIN: &str = "demo.minhbach.vn/log";

/// The storm campaign.
pub const STORM: &str = "bao-yagi";
/// The flood campaign.
pub const FLOOD: &str = "lu-mien-trung";

/// The storm campaign's Vietcombank account.
pub const ACCOUNT_VCB: &str = "mttq-vcb-0011001932418";
/// The storm campaign's VietinBank account.
pub const ACCOUNT_VTB: &str = "mttq-vietinbank-ct1111";
/// The flood campaign's BIDV account.
pub const ACCOUNT_BIDV: &str = "mttq-bidv-flood";

/// The intake clerk, who records donations to both campaigns.
pub const INTAKE: &str = "intake-1";
/// The first approver, who alone may sign disbursements below each
/// campaign's two-approval threshold.
pub const APPROVER: &str = "approver-1";

/// A household's commitment (SPEC 6.9): a salted hash of an identifier the
/// demo makes up; nothing personal is ever logged.
#[must_use]
pub fn household(n: u32) -> Commitment {
    Commitment::compute(&[0x6d; 32], format!("demo-household-{n:05}").as_bytes())
}
