//! C2SP tlog-checkpoint: `Checkpoint::parse` never panics, and a parsed
//! checkpoint encodes to bytes that parse to the same checkpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(checkpoint) = Checkpoint::parse(data) {
        let bytes = checkpoint.to_bytes();
        let again = Checkpoint::parse(&bytes).expect("an encoded checkpoint parses");
        assert_eq!(again, checkpoint);
    }
});
