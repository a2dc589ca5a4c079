//! Statements: `Statement::from_json` (the JSON of every statement type and
//! each type's own checks) never panics, and a parsed statement's compact
//! JSON parses to the same statement and is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::statement::Statement;

fuzz_target!(|data: &[u8]| {
    if let Ok(statement) = Statement::from_json(data) {
        let json = statement.to_json();
        let again = Statement::from_json(&json).expect("a statement's own JSON parses");
        assert_eq!(again, statement);
        assert_eq!(again.to_json(), json);
    }
});
