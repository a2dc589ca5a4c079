//! C2SP signed notes: `Note::parse` never panics, and a parsed note encodes
//! to bytes that parse to the same note.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::note::Note;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let bytes = note.to_bytes();
        let again = Note::parse(&bytes).expect("an encoded note parses");
        assert_eq!(again, note);
    }
});
