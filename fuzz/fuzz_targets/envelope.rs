//! DSSE envelopes: `Envelope::from_json` never panics, and a parsed envelope's
//! canonical JSON parses to the same envelope and is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::envelope::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::from_json(data) {
        let json = envelope.to_json();
        let again = Envelope::from_json(&json).expect("canonical JSON parses");
        assert_eq!(again, envelope);
        assert_eq!(again.to_json(), json);
    }
});
