//! Plain words for people: the server's problem codes explained, and amounts
//! written the Vietnamese way (`1.000.000 ₫`).

/// A plain explanation of a problem `code` (the ledger's
/// [`minhbach_ledger::rules::CODES`] and the API's own codes).
#[must_use]
pub fn explain(code: &str) -> &'static str {
    match code {
        "above_unit_rate" => {
            "the amount is above the campaign's published unit rate: the governance quorum must approve it too"
        }
        "account_closed" => "the receiving account is closed",
        "already_resolved" => "this feedback was already resolved",
        "already_reversed" => "this entry was already reversed",
        "bad_signature" => {
            "a signature does not match the statement (was the file edited after signing?)"
        }
        "campaign_closed" => "the campaign is closed and takes nothing new",
        "duplicate" => "already in the log (same id, or same channel and bank reference)",
        "genesis_exists" => "the log already has its genesis entry",
        "insufficient_approvals" => {
            "not enough distinct approvers signed for this amount: ask more officials to co-sign"
        }
        "key_revoked" => "a signing key has been revoked",
        "leaf_hash_mismatch" => "the referenced entry's leaf hash is wrong",
        "malformed" => "the envelope or statement is not well formed",
        "not_genesis" => "the first entry of a log must be its genesis",
        "not_reversible" => "this entry cannot be reversed (e.g. aid already acknowledged)",
        "out_of_order" => "the statement refers to something that comes later in the log",
        "out_of_scope" => "a signer's key is not allowed for this campaign or region",
        "over_acknowledged" => "more is acknowledged than was disbursed",
        "overflow" => "an amount or a total is too large",
        "overspend" => "the campaign's balance is too small for this amount",
        "personal_data" => {
            "the text holds a long number (account, phone or ID): mask it before signing"
        }
        "quorum_unreachable" => {
            "the change would leave too few governance keys to reach the quorum"
        }
        "region_mismatch" => "the region does not match the beneficiary's region",
        "time_regression" => "the log's time would go backwards",
        "time_skew" => {
            "the statement's time is too far from the server's clock: check your computer's clock"
        }
        "too_large" => "the request or the statement is too large",
        "unauthorized" => "a signer's key does not hold the role this statement needs",
        "unknown_account" => "the receiving account is not registered",
        "unknown_asset" => "the asset is not one of the campaign's",
        "unknown_beneficiary" => "no beneficiary is enrolled under this commitment",
        "unknown_campaign" => "no such campaign",
        "unknown_category" => "the campaign publishes no unit rate for this category",
        "unknown_disbursement" => "no such disbursement",
        "unknown_entry" => "no such entry",
        "unknown_feedback" => "no such feedback",
        "unknown_key" => "a signer's key is not in the registry",
        "unknown_region" => "unknown administrative region code",
        "rate_limited" => "the server is busy with your requests: try again shortly",
        "overloaded" => "the server is overloaded: try again later",
        "unavailable" => {
            "the server cannot read its books right now: nothing was decided; send it again later"
        }
        "not_found" => "nothing found",
        _ => "the server refused it (see the detail)",
    }
}

/// The core's one formatter of amounts for people (`1.000.000 ₫`).
pub use minhbach_ledger::statement::format_amount as amount;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_code_has_its_own_explanation() {
        let fallback = explain("no-such-code");
        for code in minhbach_ledger::rules::CODES {
            assert_ne!(explain(code), fallback, "{code}");
        }
    }
}
