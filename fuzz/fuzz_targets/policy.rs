//! C2SP tlog-policy: `Policy::parse` never panics, and a parsed policy
//! encodes to bytes that parse to the same policy (comments and spacing
//! are not kept, so only the value must survive).
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::policy::Policy;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::parse(data) {
        let bytes = policy.to_bytes();
        let again = Policy::parse(&bytes).expect("an encoded policy parses");
        assert_eq!(again, policy);
    }
});
