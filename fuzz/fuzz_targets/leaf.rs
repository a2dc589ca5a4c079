//! Log leaves: `Leaf::parse` never panics and accepts only the exact bytes
//! `Leaf::encode` produces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::leaf::Leaf;

fuzz_target!(|data: &[u8]| {
    if let Ok(leaf) = Leaf::parse(data) {
        let bytes = leaf.encode().expect("a parsed leaf encodes");
        assert_eq!(bytes, data);
        assert_eq!(Leaf::parse(&bytes).expect("it parses again"), leaf);
    }
});
