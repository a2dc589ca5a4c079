//! Every example in `schemas/examples/{valid,invalid}` is checked against its
//! JSON Schema (with the `jsonschema` crate) and against the Rust parser, and the
//! two must agree: valid examples pass both, invalid examples fail both.
//! The schema is chosen by the file name: `statement.<type>[.<case>].json` →
//! `statement.schema.json`, `envelope.*` → `envelope.schema.json`, and so on.

use std::path::{Path, PathBuf};

use minhbach_ledger::envelope::Envelope;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::receipt::ReceiptBundle;
use minhbach_ledger::statement::Statement;
use serde_json::Value;

fn schemas_dir() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .parent()
        .unwrap()
        .join("schemas")
}

fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (schema file, Rust verdict) for an example.
fn judge(name: &str, v: &Value) -> (&'static str, Option<bool>) {
    let compact = serde_json::to_vec(v).unwrap();
    if name.starts_with("statement.") {
        return (
            "statement.schema.json",
            Some(Statement::from_json(&compact).is_ok()),
        );
    }
    if name.starts_with("envelope.") {
        return (
            "envelope.schema.json",
            Some(Envelope::from_json(&compact).is_ok()),
        );
    }
    if name.starts_with("leaf.") {
        // Leaf bytes are canonical compact JSON in a fixed key order: rebuild them.
        let ok = Envelope::from_json(&serde_json::to_vec(&v["envelope"]).unwrap())
            .ok()
            .and_then(|env| {
                let bytes = format!(
                    "{{\"v\":{},\"logged_at\":{},\"envelope\":{}}}",
                    v["v"],
                    v["logged_at"],
                    String::from_utf8(env.to_json()).unwrap()
                );
                Leaf::parse(bytes.as_bytes()).ok()
            });
        return ("leaf.schema.json", Some(ok.is_some()));
    }
    if name.starts_with("api.entries.request.") {
        let ok = match v {
            Value::Array(a) => {
                !a.is_empty()
                    && a.iter()
                        .all(|e| Envelope::from_json(&serde_json::to_vec(e).unwrap()).is_ok())
            }
            _ => Envelope::from_json(&compact).is_ok(),
        };
        return ("api.entries.request.schema.json", Some(ok));
    }
    if name.starts_with("receipt.") {
        return (
            "receipt.schema.json",
            Some(ReceiptBundle::from_json(&compact).is_ok()),
        );
    }
    if name.starts_with("api.problem.") {
        return ("api.problem.schema.json", None);
    }
    panic!("no schema for example {name}");
}

#[test]
fn examples_agree_with_schemas_and_parsers() {
    let dir = schemas_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (sub, want) in [("valid", true), ("invalid", false)] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("examples").join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let v = load(&path);
            let (schema_file, rust) = judge(&name, &v);
            let schema = load(&dir.join(schema_file));
            let validator = jsonschema::validator_for(&schema).unwrap();
            let by_schema = validator.is_valid(&v);
            if by_schema != want {
                failures.push(format!("{sub}/{name}: schema says {by_schema}"));
            }
            if let Some(r) = rust
                && r != want
            {
                failures.push(format!("{sub}/{name}: Rust parser says {r}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_statement_type_has_a_schema_and_a_valid_example() {
    let dir = schemas_dir();
    for k in minhbach_ledger::statement::StatementKind::ALL {
        let t = k.as_str();
        assert!(
            dir.join(format!("statement.{t}.schema.json")).exists(),
            "{t}"
        );
        assert!(
            dir.join(format!("examples/valid/statement.{t}.json"))
                .exists(),
            "{t}"
        );
    }
}

#[test]
fn schemas_reject_extra_fields_everywhere() {
    // Adding a field to any valid statement makes both the schema and the parser refuse it.
    let dir = schemas_dir();
    let schema = load(&dir.join("statement.schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    for k in minhbach_ledger::statement::StatementKind::ALL {
        let mut v = load(&dir.join(format!("examples/valid/statement.{}.json", k.as_str())));
        v["unexpected"] = Value::Bool(true);
        assert!(!validator.is_valid(&v), "{}", k.as_str());
        assert!(
            Statement::from_json(&serde_json::to_vec(&v).unwrap()).is_err(),
            "{}",
            k.as_str()
        );
    }
}

#[test]
fn problem_codes_match_the_rules() {
    let codes: Vec<String> =
        serde_json::from_value(load(&schemas_dir().join("rejection-codes.json"))).unwrap();
    for c in minhbach_ledger::rules::CODES {
        assert!(
            codes.iter().any(|x| x == c),
            "{c} missing from schemas/rejection-codes.json"
        );
    }
}
