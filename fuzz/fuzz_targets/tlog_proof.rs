//! C2SP tlog-proof@v1: `TlogProof::parse` never panics, and a parsed proof
//! encodes to bytes that parse to the same proof.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::receipt::TlogProof;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = TlogProof::parse(data) {
        let bytes = proof.to_bytes();
        let again = TlogProof::parse(&bytes).expect("an encoded proof parses");
        assert_eq!(again, proof);
    }
});
