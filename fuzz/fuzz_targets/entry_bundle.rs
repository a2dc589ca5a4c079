//! C2SP tlog-tiles entry bundles: `parse_entry_bundle` never panics and
//! accepts only bytes that `encode_entry_bundle` reproduces exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::tile::{encode_entry_bundle, parse_entry_bundle, parse_entry_bundle_exact};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_entry_bundle(data) {
        let bytes = encode_entry_bundle(&entries).expect("parsed entries encode");
        assert_eq!(bytes, data);
        let width = u16::try_from(entries.len()).expect("at most 256 entries");
        assert_eq!(parse_entry_bundle_exact(&bytes, width), Ok(entries));
    }
});
