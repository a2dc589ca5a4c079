//! The demo history through the rules alone (no server): every statement is
//! accepted, it holds what the demo promises, and its content depends only
//! on the keys, the random bits of the ids and the time.

use std::convert::Infallible;

use chrono::{DateTime, TimeZone as _, Utc};
use ed25519_dalek::SigningKey;
use minhbach_demo::{
    ACCOUNT_BIDV, ACCOUNT_VCB, ACCOUNT_VTB, FLOOD, MemoryLog, Officials, Options, STORM, household,
    seed,
};
use minhbach_ledger::statement::Slug;
use sha2::Digest as _;

/// A fixed pseudo-random sequence standing in for the operating system's
/// (SplitMix64; the demo's ids need random bits, tests need them repeatable).
struct TestRng(u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for TestRng {}

/// The officials with keys derived from their ids.
fn officials() -> Officials {
    Officials::load_with(|id, _comment| {
        Ok::<_, Infallible>(SigningKey::from_bytes(&sha2::Sha256::digest(id).into()))
    })
    .unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 20, 12, 0, 0).unwrap()
}

fn seeded(rng_seed: u64, now: DateTime<Utc>) -> MemoryLog {
    let mut log = MemoryLog::new();
    let options = Options {
        donations: Options::MIN_DONATIONS,
    };
    seed(&mut log, &officials(), options, now, &mut TestRng(rng_seed))
        .expect("the rules accept every demo statement");
    log
}

#[test]
fn the_rules_accept_the_whole_history_and_it_holds_what_the_demo_promises() {
    let log = seeded(1, now());
    let state = &log.state;
    assert_eq!(state.next_index(), log.leaves.len() as u64);
    // Genesis, 6 grants, 2 campaigns, 3 accounts, 92 households, at least
    // 300 donations, payments, reversals, balances and feedback.
    assert!(
        log.leaves.len() > 1 + 6 + 2 + 3 + 92 + 300,
        "{}",
        log.leaves.len()
    );
    for campaign in [STORM, FLOOD] {
        assert!(state.campaign(&Slug::new(campaign).unwrap()).is_some());
    }
    let mut accounts: Vec<&str> = state.accounts().map(|(id, _)| id.as_str()).collect();
    accounts.sort_unstable();
    assert_eq!(accounts, [ACCOUNT_BIDV, ACCOUNT_VCB, ACCOUNT_VTB]);
    assert!((1..=92).all(|n| state.beneficiary(&household(n)).is_some()));
    assert!(state.beneficiary(&household(93)).is_none());
    // Money came in and went out of both campaigns.
    for campaign in [STORM, FLOOD] {
        let summary =
            minhbach_ledger::summary::campaign(state, &Slug::new(campaign).unwrap()).unwrap();
        let vnd = summary
            .assets
            .iter()
            .find(|a| a.asset.as_str() == "VND")
            .unwrap();
        assert!(vnd.balance > 0, "{campaign}");
    }
}

#[test]
fn the_content_depends_only_on_keys_ids_and_time() {
    let a = seeded(1, now());
    // The same keys, random bits and time: the same leaves, byte for byte.
    assert_eq!(a.leaves, seeded(1, now()).leaves);
    // Other random bits in the ids, another day: the same history.
    let b = seeded(2, now() + chrono::Duration::days(40));
    assert_eq!(a.leaves.len(), b.leaves.len());
    assert_ne!(a.leaves, b.leaves);
}
