//! The OpenAPI document (`GET /api/v1/openapi.json`) is checked against the
//! server itself: every route the router registers is documented and every
//! documented path is routed, and live answers of a demo log (successes and
//! problems) validate against the documented response schemas.

use std::collections::BTreeSet;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use minhbach_server::demo::{self, DemoOptions, Prepared};
use minhbach_server::{OPENAPI, app};
use serde_json::{Value, json};
use tower::ServiceExt as _;

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("the OpenAPI document is JSON")
}

/// The server's sources, but the explorer's (`src/web/`: HTML pages for
/// people, outside the API the document describes).
fn sources(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).expect("the server's sources") {
        let path = entry.expect("a source").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "web") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).expect("a readable source"));
        }
    }
}

/// The routes `app()` registers, read from the sources of the modules that
/// declare them (every route outside the explorer): `(method, path)` with
/// axum's `{*rest}` written as OpenAPI's `{rest}`.
fn routed() -> BTreeSet<(String, String)> {
    let mut source = String::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut source,
    );
    let mut out = BTreeSet::new();
    for part in source.split(".route(\"").skip(1) {
        let (path, rest) = part.split_once('"').expect("a quoted path");
        let method = rest
            .trim_start_matches(',')
            .trim_start()
            .split('(')
            .next()
            .expect("a method router")
            .to_owned();
        out.insert((method, path.replace("{*", "{")));
    }
    out
}

fn documented() -> BTreeSet<(String, String)> {
    let doc = doc();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            out.insert((method.clone(), path.clone()));
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let routed = routed();
    assert!(routed.len() >= 18, "found only {routed:?}");
    assert!(routed.contains(&("post".into(), "/api/v1/entries".into())));
    assert_eq!(routed, documented());
}

#[test]
fn the_document_is_openapi_3_1_with_an_operation_id_and_responses_everywhere() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}: no responses"
            );
            // Every path parameter is declared.
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                let name = segment.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(
                    declared,
                    "{method} {path}: path parameter {name} not declared"
                );
            }
        }
    }
    // Every reference resolves.
    let text = OPENAPI;
    for part in text.split("\"$ref\": \"").skip(1) {
        let target = part.split('"').next().unwrap();
        let pointer = target.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
    }
}

/// A validator for the schema at `pointer` inside the document, with the
/// document's components in reach of its `$ref`s.
fn validator(pointer: &str) -> jsonschema::Validator {
    let mut root = doc();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    // A JSON pointer in a URI fragment: braces must be percent-encoded.
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = json!(format!("#{fragment}"));
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{pointer}: {e}"))
}

fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

struct Fixture {
    _dir: tempfile::TempDir,
    prepared: Prepared,
    app: Router,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let prepared = demo::prepare(
        dir.path(),
        DemoOptions { donations: 150 },
        chrono::DateTime::from(std::time::SystemTime::now()),
        &mut rand_core::OsRng,
    )
    .unwrap();
    let app = app(prepared.state.clone());
    Fixture {
        _dir: dir,
        prepared,
        app,
    }
}

impl Fixture {
    async fn call(&self, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let ctype = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, ctype, body.to_vec())
    }

    /// Requests `uri` and validates the answer against the documented
    /// response of `path` for its status; returns the JSON body.
    async fn check(&self, method: &str, path: &str, request: Request<Body>) -> (StatusCode, Value) {
        let uri = request.uri().to_string();
        let (status, ctype, body) = self.call(request).await;
        let doc = doc();
        let op = &doc["paths"][path][method];
        let code = status.as_u16().to_string();
        let response = &op["responses"][&code];
        assert!(
            response.is_object(),
            "{method} {uri}: status {code} is not documented"
        );
        let base = format!("/paths/{}/{method}/responses/{code}", escape(path));
        let (ctype_key, pointer) = match response.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let target = r.trim_start_matches('#');
                let ct = doc.pointer(target).unwrap()["content"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .unwrap()
                    .clone();
                (
                    ct.clone(),
                    format!("{target}/content/{}/schema", escape(&ct)),
                )
            }
            None => {
                let ct = response["content"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .unwrap()
                    .clone();
                (ct.clone(), format!("{base}/content/{}/schema", escape(&ct)))
            }
        };
        assert!(
            ctype.starts_with(&ctype_key),
            "{method} {uri}: content type {ctype}, documented {ctype_key}"
        );
        if !ctype_key.contains("json") {
            return (status, Value::Null);
        }
        let value: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{method} {uri}: not JSON: {e}"));
        let v = validator(&pointer);
        let errors: Vec<String> = v
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{method} {uri} ({code}): {errors:#?}");
        (status, value)
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn live_answers_match_the_documented_schemas() {
    let f = fixture();
    let size = f.prepared.size;
    assert!(size > 150);

    let (_, log) = f.check("get", "/api/v1/log", get("/api/v1/log")).await;
    assert_eq!(log["tree_size"], size);
    f.check("get", "/checkpoint", get("/checkpoint")).await;
    f.check("get", "/tile/{path}", get("/tile/0/000")).await;
    f.check("get", "/healthz", get("/healthz")).await;
    f.check("get", "/metrics", get("/metrics")).await;
    let (_, served) = f
        .check("get", "/api/v1/openapi.json", get("/api/v1/openapi.json"))
        .await;
    assert_eq!(served, doc());

    for index in [0, 1, size / 2, size - 1] {
        f.check(
            "get",
            "/api/v1/entries/{index}",
            get(&format!("/api/v1/entries/{index}")),
        )
        .await;
        f.check(
            "get",
            "/api/v1/receipts/{index}",
            get(&format!("/api/v1/receipts/{index}")),
        )
        .await;
        f.check(
            "get",
            "/api/v1/proofs/inclusion",
            get(&format!("/api/v1/proofs/inclusion?index={index}")),
        )
        .await;
    }
    f.check(
        "get",
        "/api/v1/proofs/consistency",
        get(&format!("/api/v1/proofs/consistency?from=3&to={size}")),
    )
    .await;

    let (_, campaigns) = f
        .check("get", "/api/v1/campaigns", get("/api/v1/campaigns"))
        .await;
    let first = campaigns["campaigns"][0]["campaign"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, one) = f
        .check(
            "get",
            "/api/v1/campaigns/{id}",
            get(&format!("/api/v1/campaigns/{first}")),
        )
        .await;
    assert!(one["accounts"].as_array().is_some_and(|a| !a.is_empty()));
    for path in [
        "/api/v1/keys",
        "/api/v1/accounts",
        "/api/v1/coverage",
        "/api/v1/feedback",
    ] {
        f.check("get", path, get(path)).await;
    }

    // A donation: find it by statement id, then its trace.
    let donation = (0..size)
        .find(|&i| {
            let leaf = minhbach_ledger::store::LogStore::read_leaves(
                f.prepared.state.store().as_ref(),
                i,
                i + 1,
            )
            .unwrap()
            .pop()
            .unwrap();
            let leaf = minhbach_ledger::leaf::Leaf::parse(&leaf).unwrap();
            serde_json::from_slice::<Value>(leaf.envelope.payload()).unwrap()["type"] == "donation"
        })
        .expect("the demo has donations");
    let (_, entry) = f
        .check(
            "get",
            "/api/v1/entries/{index}",
            get(&format!("/api/v1/entries/{donation}")),
        )
        .await;
    let id = entry["statement"]["id"].as_str().unwrap();
    let reference = entry["statement"]["external_ref"]
        .as_str()
        .map(str::to_owned);
    let (_, found) = f
        .check(
            "get",
            "/api/v1/lookup",
            get(&format!("/api/v1/lookup?id={id}")),
        )
        .await;
    assert_eq!(found["index"], donation);
    if let Some(r) = reference {
        let (_, found) = f
            .check(
                "get",
                "/api/v1/lookup",
                get(&format!("/api/v1/lookup?ref={r}")),
            )
            .await;
        assert_eq!(found["index"], donation);
    }
    f.check(
        "get",
        "/api/v1/donations/{index}/trace",
        get(&format!("/api/v1/donations/{donation}/trace")),
    )
    .await;

    // Problems are documented too, and validate as problems.
    for (path, uri, status) in [
        (
            "/api/v1/entries/{index}",
            format!("/api/v1/entries/{size}"),
            404,
        ),
        (
            "/api/v1/entries/{index}",
            "/api/v1/entries/minus-one".to_owned(),
            400,
        ),
        (
            "/api/v1/receipts/{index}",
            format!("/api/v1/receipts/{}", size + 5),
            404,
        ),
        (
            "/api/v1/proofs/inclusion",
            "/api/v1/proofs/inclusion".to_owned(),
            400,
        ),
        (
            "/api/v1/proofs/inclusion",
            format!("/api/v1/proofs/inclusion?index=0&size={}", size + 1),
            400,
        ),
        (
            "/api/v1/proofs/consistency",
            format!("/api/v1/proofs/consistency?from={}", size + 1),
            400,
        ),
        (
            "/api/v1/lookup",
            "/api/v1/lookup?ref=NO-SUCH-REF".to_owned(),
            404,
        ),
        (
            "/api/v1/lookup",
            "/api/v1/lookup?ref=a&id=b".to_owned(),
            400,
        ),
        (
            "/api/v1/campaigns/{id}",
            "/api/v1/campaigns/no-such-campaign".to_owned(),
            404,
        ),
        (
            "/api/v1/donations/{index}/trace",
            "/api/v1/donations/0/trace".to_owned(),
            404,
        ),
        ("/tile/{path}", "/tile/9/999".to_owned(), 404),
        ("/tile/{path}", "/tile/not-a-tile".to_owned(), 404),
    ] {
        let (got, body) = f.check("get", path, get(&uri)).await;
        assert_eq!(got.as_u16(), status, "{uri}: {body}");
        assert_eq!(body["status"], status, "{uri}");
    }

    // The write path: a refusal and a dry run.
    let request = |body: &str| {
        Request::post("/api/v1/entries")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let (got, body) = f
        .check("post", "/api/v1/entries", request("{\"payloadType\": 1}"))
        .await;
    assert_eq!(got, StatusCode::BAD_REQUEST, "{body}");
    let (got, body) = f
        .check("post", "/api/v1/entries", request("[{\"payloadType\": 1}]"))
        .await;
    assert_eq!(got, StatusCode::OK, "{body}");
    assert!(body["results"][0]["problem"]["code"].is_string(), "{body}");
}

/// The answers' types, written once in the core (`minhbach_ledger::api`, and
/// the gift trace's `minhbach_ledger::trace::Trace`) and shared by the
/// server, the CLI and the auditor, against the document: a
/// sample of each validates against its documented schema, it has exactly
/// the documented properties, and it reads back from its own JSON.
#[test]
fn the_shared_answer_types_match_the_documented_schemas() {
    use minhbach_ledger::api;

    fn sample<T>(value: &T) -> Value
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let v = serde_json::to_value(value).unwrap();
        let back: T = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(&back, value);
        v
    }

    let hash = format!("{}=", "A".repeat(43));
    let key = api::Key {
        keyid: "ab".repeat(16),
        public_key: hash.clone(),
        name: "Nguyễn Văn A".into(),
        title: Some("Thủ quỹ".into()),
        roles: vec!["intake".into(), "approver".into()],
        scope: json!({"campaigns": ["lu-2026"]}),
        granted_at: 3,
        revoked_at: Some(9),
    };
    let samples = [
        (
            "LogInfo",
            sample(&api::LogInfo {
                origin: "log.example".into(),
                verifier_key: "log.example+01234567+AQ".into(),
                witnesses: vec!["w.example+89abcdef+BA".into()],
                witness_quorum: 1,
                tree_size: 10,
                root: hash.clone(),
                committed_size: 12,
            }),
        ),
        (
            "Entry",
            sample(&api::Entry {
                index: 4,
                leaf: "AAEC".into(),
                leaf_hash: hash.clone(),
                leaf_hash_hex: "0f".repeat(32),
                logged_at: "2026-01-02T03:04:05.678Z".into(),
                payload_type: "application/vnd.minhbach.statement+json".into(),
                signers: vec!["ab".repeat(16)],
                statement: Some(json!({"type": "donation"})),
            }),
        ),
        (
            "InclusionProof",
            sample(&api::InclusionProof {
                index: 4,
                tree_size: 10,
                leaf_hash: hash.clone(),
                proof: vec![hash.clone(), hash.clone()],
            }),
        ),
        (
            "ConsistencyProof",
            sample(&api::ConsistencyProof {
                from: 4,
                to: 10,
                proof: vec![hash.clone()],
            }),
        ),
        (
            "Lookup",
            sample(&api::Lookup {
                index: 4,
                kind: "donation".into(),
                statement_id: "d-1".into(),
            }),
        ),
        ("Key", sample(&key)),
        (
            "Keys",
            sample(&api::Keys {
                governance_threshold: Some(2),
                keys: vec![key.clone()],
            }),
        ),
        (
            "Trace",
            sample(&{
                use minhbach_ledger::rules::FlowKind;
                use minhbach_ledger::statement::{Asset, Slug};
                use minhbach_ledger::trace::{AckStatus, Trace, TraceStep};
                let campaign = Slug::new("yagi-2024").unwrap();
                Trace {
                    donation: 14,
                    campaign: campaign.clone(),
                    asset: Asset::new("VND").unwrap(),
                    amount: 1_000_000,
                    reversed_by: None,
                    steps: vec![
                        TraceStep {
                            at: 24,
                            campaign: campaign.clone(),
                            amount: 500_000,
                            kind: FlowKind::Disbursed,
                            ack: Some(AckStatus::Partial {
                                acknowledged: 200_000,
                                of: 800_000,
                            }),
                        },
                        TraceStep {
                            at: 29,
                            campaign,
                            amount: 300_000,
                            kind: FlowKind::Transferred {
                                to: Slug::new("hanoi-fund").unwrap(),
                            },
                            ack: None,
                        },
                    ],
                    unspent: 200_000,
                }
            }),
        ),
        (
            "DryRun",
            sample(&api::DryRun {
                ok: true,
                statement_id: "c-1".into(),
                kind: "campaign_open".into(),
                signers: vec!["ab".repeat(16)],
            }),
        ),
    ];
    let doc = doc();
    for (name, value) in samples {
        let pointer = format!("/components/schemas/{name}");
        let v = validator(&pointer);
        let errors: Vec<String> = v
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let documented: BTreeSet<&String> = doc
            .pointer(&format!("{pointer}/properties"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{name}: no properties"))
            .keys()
            .collect();
        let fields: BTreeSet<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(
            fields, documented,
            "{name}: fields versus documented properties"
        );
        // The schema is not vacuous: the sample without a required
        // property no longer validates.
        let mut partial = value.clone();
        let required = doc.pointer(&format!("{pointer}/required")).unwrap()[0]
            .as_str()
            .unwrap();
        partial.as_object_mut().unwrap().remove(required);
        assert!(!v.is_valid(&partial), "{name} without {required}");
    }
}
