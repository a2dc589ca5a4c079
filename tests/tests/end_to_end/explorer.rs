//! End-to-end tests of the public explorer (`/`): the demo server started
//! in-process on 127.0.0.1, read over real HTTP, and driven in a real
//! headless Chromium through chromedriver (WebDriver: JSON over HTTP, spoken
//! here with `ureq`).
//!
//! - Without JavaScript: every page's server-rendered HTML holds its data,
//!   with its headers (CSP, caching); refusals are pages with their status.
//! - In the browser: the pages render, the search finds a donation by its
//!   bank reference, the page's own verifier says "verified against
//!   checkpoint N", and says NOT verified when a test-only middleware flips
//!   a byte of the inclusion proof or of the checkpoint on the wire. Its
//!   BigInt Ed25519 fallback is checked against WebCrypto's signatures.
//!   Screenshots of the main pages are saved under
//!   `$CARGO_TARGET_TMPDIR/explorer-screenshots/` (the path is printed).
//!
//! Chromium and chromedriver come from Debian's `chromium` and
//! `chromium-driver` packages (`scripts/setup.sh` installs them). Without
//! them the browser test fails with that advice, unless
//! `MINHBACH_SKIP_BROWSER=1` says to skip it.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use crate::s3;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::TimeZone as _;
use minhbach_ledger::tile::{entry_bundles_for_size, tiles_for_size};
use minhbach_server::demo::{self, DemoOptions};
use serde_json::{Value, json};

/// What the tampering middleware does to answers on the wire.
const HONEST: u8 = 0;
const FLIP_PROOF: u8 = 1;
const FLIP_CHECKPOINT: u8 = 2;

struct Server {
    url: String,
    tamper: Arc<AtomicU8>,
    /// The demo's state, to serve it again with other settings.
    state: minhbach_server::AppState,
    _dir: tempfile::TempDir,
}

/// Serves `app` on 127.0.0.1 from a thread of its own; its URL.
fn serve_app(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
    });
    format!("http://{addr}")
}

/// One demo server for every test of this binary (the demo is built through
/// the rules: a few seconds).
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 9, 15, 2)
            .unwrap();
        let prepared = demo::prepare(
            dir.path(),
            DemoOptions { donations: 240 },
            now,
            &mut rand_core::OsRng,
        )
        .unwrap();
        let tamper = Arc::new(AtomicU8::new(HONEST));
        let state = prepared.state;
        let app = minhbach_server::app(state.clone()).layer(axum::middleware::from_fn_with_state(
            Arc::clone(&tamper),
            tampering,
        ));
        Server {
            url: serve_app(app),
            tamper,
            state,
            _dir: dir,
        }
    })
}

/// The test-only wrapper: honest, or flips one bit of the first inclusion
/// proof hash, or one character of the checkpoint's root line, in answers to
/// the browser only (the other tests of this binary run alongside).
async fn tampering(State(mode): State<Arc<AtomicU8>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let browser = req
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("Chrome"));
    let response = next.run(req).await;
    let mode = mode.load(Ordering::SeqCst);
    let wanted = browser
        && ((mode == FLIP_PROOF && path == "/api/v1/proofs/inclusion")
            || (mode == FLIP_CHECKPOINT && path == "/checkpoint"));
    if !wanted {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let out = if mode == FLIP_PROOF {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        let first = v["proof"][0].as_str().unwrap();
        let mut hash = BASE64.decode(first).unwrap();
        hash[7] ^= 0x01;
        v["proof"][0] = json!(BASE64.encode(hash));
        serde_json::to_vec(&v).unwrap()
    } else {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        // Line 3 is the root (base64): change its first character.
        let root = &mut lines[2];
        let first = if root.starts_with('A') { "B" } else { "A" };
        root.replace_range(0..1, first);
        lines.join("\n").into_bytes()
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn get_with(url: &str, headers: &[(&str, &str)]) -> Got {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut r = req.call().unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    Got {
        status: r.status().as_u16(),
        headers,
        body: r
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_string()
            .unwrap(),
    }
}

fn get(path: &str) -> Got {
    get_with(&format!("{}{path}", server().url), &[])
}

fn json_of(path: &str) -> Value {
    let g = get(path);
    assert_eq!(g.status, 200, "{path}: {}", g.body);
    serde_json::from_str(&g.body).unwrap()
}

/// A bank donation of the demo: (index, external reference, amount).
fn a_bank_donation() -> (u64, String, u64) {
    let size = json_of("/api/v1/log")["tree_size"].as_u64().unwrap();
    for index in (0..size).rev() {
        let e = json_of(&format!("/api/v1/entries/{index}"));
        let s = &e["statement"];
        if s["type"] == "donation" && s["channel"] == "bank" {
            // Skip the bounced one: its trace is a reversal, not payments.
            let t = json_of(&format!("/api/v1/donations/{index}/trace"));
            if t["reversed_by"].is_null() && !t["steps"].as_array().unwrap().is_empty() {
                return (
                    index,
                    s["external_ref"].as_str().unwrap().to_owned(),
                    s["amount"].as_u64().unwrap(),
                );
            }
        }
    }
    panic!("the demo has no spent bank donation");
}

fn assert_page(g: &Got, status: u16, what: &str) {
    assert_eq!(g.status, status, "{what}: {}", g.body);
    assert_eq!(
        g.header("content-type"),
        "text/html; charset=utf-8",
        "{what}"
    );
    assert_eq!(
        g.header("content-security-policy"),
        minhbach_server::web::CSP,
        "{what}"
    );
    assert!(g.body.starts_with("<!doctype html>"), "{what}");
    assert!(g.body.contains("<main id=\"main\""), "{what}");
    assert!(!g.body.contains("<script>"), "{what}: no inline script");
    assert!(!g.body.contains(" style=\""), "{what}: no inline style");
}

// ---------------------------------------------------------------------------
// Without JavaScript: plain HTTP GETs.

#[test]
fn pages_hold_their_data_without_javascript() {
    let campaigns = json_of("/api/v1/campaigns");
    let first = &campaigns["campaigns"][0];
    let storm = first["campaign"].as_str().unwrap();
    assert_eq!(storm, "bao-yagi", "priority 1 first");

    // The front page: campaigns by priority with their totals.
    let home = get("/");
    assert_page(&home, 200, "/");
    assert!(home.body.contains("<html lang=\"vi\">"));
    let yagi = home
        .body
        .find("Ủng hộ đồng bào bị thiệt hại do bão số 3")
        .unwrap();
    let flood = home
        .body
        .find("Hỗ trợ đồng bào miền Trung bị lũ lụt")
        .unwrap();
    assert!(yagi < flood, "ordered by priority");
    let vnd = first["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset"] == "VND")
        .unwrap();
    for key in ["total_in", "disbursed", "balance"] {
        let n = vnd[key].as_u64().unwrap();
        assert!(
            home.body.contains(&format!("{} ₫", group(n))),
            "{key} = {n} shown"
        );
    }
    assert!(home.body.contains("Tỉnh Lào Cai"), "regions by name");
    assert!(home.body.contains("<progress"));

    // English.
    let en = get("/?lang=en");
    assert_page(&en, 200, "/?lang=en");
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("Relief for the victims of typhoon Yagi"));
    assert!(en.header("set-cookie").starts_with("lang=en;"));
    let remembered = get_with(&format!("{}/keys", server().url), &[("cookie", "lang=en")]);
    assert!(remembered.body.contains("<html lang=\"en\">"));
    assert!(remembered.body.contains("The log&#39;s public key"));

    // A campaign: flows by province and commune, coverage, accounts, recent entries.
    let page = get(&format!("/campaigns/{storm}"));
    assert_page(&page, 200, "campaign");
    let api = json_of(&format!("/api/v1/campaigns/{storm}"));
    let by_province = api["assets"][0]["by_province"].as_object().unwrap();
    assert!(!by_province.is_empty());
    for (code, v) in by_province {
        let name = minhbach_ledger::region::lookup(code).unwrap().name;
        assert!(page.body.contains(name), "province {name}");
        let asset = api["assets"][0]["asset"].as_str().unwrap();
        let shown = if asset == "VND" {
            format!("{} ₫", group(v.as_u64().unwrap()))
        } else {
            format!("{} kg gạo", group(v.as_u64().unwrap()))
        };
        assert!(page.body.contains(&shown), "{name}: {shown}");
    }
    assert!(page.body.contains("<svg class=\"chart\""), "the chart");
    assert!(page.body.contains("Theo xã, phường"), "by commune");
    assert!(page.body.contains("class=\"coverage\""), "coverage table");
    // The flood's last communes are the demo's under-served places, and
    // stand out.
    let flood = get("/campaigns/lu-mien-trung");
    assert_page(&flood, 200, "flood campaign");
    let coverage = json_of("/api/v1/coverage");
    let (mut enrolled, mut reached) = (0, 0);
    for c in coverage["cells"].as_array().unwrap() {
        if c["commune"] == "48-20194" {
            enrolled += c["enrolled"].as_u64().unwrap_or(0);
            reached += c["reached"].as_u64().unwrap_or(0);
        }
    }
    assert!(enrolled > 0 && reached * 2 < enrolled, "{coverage}");
    let name = minhbach_ledger::region::lookup("48-20194").unwrap().name;
    let row = flood
        .body
        .split("<tr")
        .find(|r| r.contains(name) && r.contains("progress"))
        .unwrap();
    assert!(row.starts_with(" class=\"under\">"), "{row}");
    assert!(
        row.contains("ít được hỗ trợ"),
        "and says so in words: {row}"
    );
    assert!(row.contains(&format!(">{enrolled}<")) && row.contains(&format!(">{reached}<")));
    for r in api["recent_entries"].as_array().unwrap() {
        let i = r["index"].as_u64().unwrap();
        assert!(
            page.body.contains(&format!("href=\"/entries/{i}\"")),
            "recent entry {i}"
        );
    }
    assert!(!api["recent_entries"].as_array().unwrap().is_empty());
    assert!(page.body.contains("0011001932418"), "its account");

    // Keys: the log key with how to check it, officials with names and titles.
    let keys = get("/keys");
    assert_page(&keys, 200, "keys");
    let log = json_of("/api/v1/log");
    assert!(keys.body.contains(log["verifier_key"].as_str().unwrap()));
    assert!(keys.body.contains("Tự kiểm tra khóa này"));
    let registry = json_of("/api/v1/keys");
    for k in registry["keys"].as_array().unwrap() {
        assert!(keys.body.contains(k["name"].as_str().unwrap()));
        assert!(keys.body.contains(k["keyid"].as_str().unwrap()));
    }
    assert!(
        keys.body
            .contains("Phó Chủ tịch Ủy ban Trung ương MTTQ Việt Nam")
    );

    // Accounts: every registered account with its VietQR code.
    let accounts = get("/accounts");
    assert_page(&accounts, 200, "accounts");
    for a in json_of("/api/v1/accounts")["accounts"].as_array().unwrap() {
        let number = a["number"].as_str().unwrap();
        assert!(accounts.body.contains(number), "account {number}");
    }
    assert_eq!(accounts.body.matches("<svg class=\"qr\"").count(), 3);
    assert!(
        accounts
            .body
            .contains("00020101021138570010A00000072701270006970436011300110019324180208QRIBFTTA")
    );
    let mismatches = json_of("/api/v1/accounts")["mismatches"].clone();
    assert!(
        !mismatches.as_array().unwrap().is_empty(),
        "the demo has one"
    );
    for m in mismatches.as_array().unwrap() {
        let shown = format!(
            "{} ₫ / sổ cái {} ₫",
            group(m["bank_balance"].as_u64().unwrap()),
            group(m["ledger_balance"].as_u64().unwrap())
        );
        assert!(accounts.body.contains(&shown), "mismatch {m} shown");
    }

    // Feedback: on-time rate by category.
    let feedback = get("/feedback");
    assert_page(&feedback, 200, "feedback");
    let api = json_of("/api/v1/feedback");
    assert!(!api["categories"].as_array().unwrap().is_empty());
    assert!(feedback.body.contains("Khiếu nại"));
    assert!(feedback.body.contains("Tỷ lệ đúng hạn"));
    assert!(feedback.body.contains("<tfoot>"));

    // An entry: decoded statement, signers with names and titles, leaf hash.
    let (index, reference, amount) = a_bank_donation();
    let entry = get(&format!("/entries/{index}"));
    assert_page(&entry, 200, "entry");
    let e = json_of(&format!("/api/v1/entries/{index}"));
    assert!(entry.body.contains(e["leaf_hash_hex"].as_str().unwrap()));
    assert!(
        entry
            .body
            .contains(&format!("data-leaf=\"{}\"", e["leaf"].as_str().unwrap()))
    );
    assert!(entry.body.contains(&reference));
    assert!(entry.body.contains(&format!("{} ₫", group(amount))));
    for keyid in e["signers"].as_array().unwrap() {
        let keyid = keyid.as_str().unwrap();
        assert!(entry.body.contains(keyid));
        let k = registry["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["keyid"] == keyid)
            .unwrap();
        assert!(
            entry.body.contains(k["name"].as_str().unwrap()),
            "signer's name"
        );
        assert!(
            entry.body.contains(k["title"].as_str().unwrap()),
            "signer's title"
        );
        assert!(
            entry.body.contains(k["public_key"].as_str().unwrap()),
            "for the script"
        );
    }
    assert!(entry.body.contains("Tiền của bạn đã đi đâu"), "the trace");
    assert!(entry.body.contains("/api/v1/receipts/"), "the receipt");
    assert!(
        entry.body.contains("<svg class=\"qr\""),
        "the receipt's QR code"
    );

    // Search by reference finds it; by statement id too.
    let found = get(&format!("/find?ref={reference}"));
    assert_page(&found, 200, "find");
    assert!(found.body.contains(&format!("#{index}")));
    assert!(found.body.contains("Đã tìm thấy"));
    let id = e["statement"]["id"].as_str().unwrap();
    let by_id = get(&format!("/find?id={id}"));
    assert_page(&by_id, 200, "find by id");
    assert!(by_id.body.contains(&format!("#{index}")));
}

#[test]
fn refusals_are_pages_with_their_status() {
    let g = get("/campaigns/khong-co");
    assert_page(&g, 404, "unknown campaign");
    assert!(g.body.contains("Không có cuộc vận động khong-co"));
    assert_page(&get("/campaigns/NOT%20A%20SLUG"), 404, "not a slug");
    let g = get("/entries/99999999");
    assert_page(&g, 404, "entry past the end");
    assert!(g.body.contains("Không có bút toán #99999999"));
    assert_page(&get("/entries/abc"), 404, "not an index");

    let g = get("/find?ref=");
    assert_page(&g, 400, "empty search");
    assert!(g.body.contains("Hãy nhập mã giao dịch"));
    let g = get("/find?ref=FT00000000000000");
    assert_page(&g, 404, "unknown reference");
    assert!(g.body.contains("Không tìm thấy khoản ủng hộ nào có mã"));
    let g = get("/find?ref=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_page(&g, 404, "hostile search");
    assert!(g.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!g.body.contains("<script>alert"));
    let g = get(&format!("/find?ref={}", "9".repeat(129)));
    assert_page(&g, 400, "too long");
    assert!(g.body.contains("tối đa 128 ký tự"));
    assert_page(&get("/find?ref=%ff"), 400, "not UTF-8");
    assert_page(&get("/find?ref=a&id=b"), 400, "both");
    let g = get("/find");
    assert_page(&g, 200, "the search's help");
    assert!(g.body.contains("FT24254607609791"));

    // Unknown routes: HTML for browsers, problem JSON for API clients.
    let url = format!("{}/no/such/page", server().url);
    let html = get_with(&url, &[("accept", "text/html,*/*")]);
    assert_page(&html, 404, "unknown page");
    let api = get_with(&url, &[("accept", "application/json")]);
    assert_eq!(api.status, 404);
    assert_eq!(api.header("content-type"), "application/problem+json");

    // Assets: immutable under their hashed name, 404 under any other.
    for path in minhbach_server::web::asset_paths() {
        let g = get(&path);
        assert_eq!(g.status, 200, "{path}");
        assert_eq!(
            g.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(g.header("x-content-type-options"), "nosniff");
    }
    assert_eq!(get("/assets/style.0000000000000000.css").status, 404);
}

/// Bytes of HTML + CSS + JS of the main pages, printed for docs/EXPLORER.md and
/// held under a budget (a phone on a slow link).
#[test]
fn pages_are_small() {
    let assets: usize = minhbach_server::web::asset_paths()
        .iter()
        .map(|p| get(p).body.len())
        .sum();
    let (index, reference, _) = a_bank_donation();
    let mut total_max = 0;
    for path in [
        "/".to_owned(),
        "/campaigns/bao-yagi".to_owned(),
        format!("/entries/{index}"),
        format!("/find?ref={reference}"),
        "/keys".to_owned(),
        "/accounts".to_owned(),
        "/feedback".to_owned(),
    ] {
        let html = get(&path).body.len();
        let total = html + assets;
        println!("page weight {path}: HTML {html} B + CSS/JS {assets} B = {total} B");
        total_max = total_max.max(total);
    }
    println!("page weight: CSS + JS {assets} B");
    assert!(assets < 24 * 1024, "CSS + JS are {assets} B");
    assert!(total_max < 100 * 1024, "the heaviest page is {total_max} B");
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// In a real browser.

/// chromedriver, and one browser session on it.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    /// A profile of its own: two browsers sharing the default profile
    /// directory (tests run in parallel) make the second one exit.
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = agent()
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

impl Browser {
    fn start() -> Option<Self> {
        let driver = find_program(&["chromedriver"]);
        let chromium = find_program(&["chromium", "chromium-browser"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            if std::env::var("MINHBACH_SKIP_BROWSER").as_deref() == Ok("1") {
                println!("skipping the browser test: MINHBACH_SKIP_BROWSER=1");
                return None;
            }
            panic!(
                "chromium and chromedriver are needed: apt-get install chromium chromium-driver \
                 (scripts/setup.sh does it), or set MINHBACH_SKIP_BROWSER=1 to skip"
            );
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(mut r) = agent().get(&format!("{base}/status")).call() {
                let v: Value =
                    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=412,1400",
                         "--lang=vi",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let mut browser = Self {
            driver: child,
            base,
            session: String::new(),
            _profile: profile,
        };
        let v = browser.call("POST", "/session", &caps);
        browser.session = v["sessionId"].as_str().unwrap().to_owned();
        Some(browser)
    }

    /// A WebDriver command: its `value`, or a panic with the error.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut r = match method {
            "GET" => agent().get(&url).call(),
            _ => agent()
                .post(&url)
                .header("content-type", "application/json")
                .send(serde_json::to_vec(body).unwrap().as_slice()),
        }
        .unwrap();
        let status = r.status().as_u16();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", &json!({ "url": url }));
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            &json!({"script": script, "args": []}),
        )
    }

    /// Runs an async `script`: it calls `arguments[0]` with its result.
    fn js_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            &json!({"script": script, "args": []}),
        )
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        );
        v["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.call("GET", &format!("/element/{id}/text"), &Value::Null)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Elements wider than a phone's viewport (nothing may scroll the page
    /// sideways; wide tables scroll inside their own box).
    fn overflowing(&self) -> Value {
        self.js(
            "const w = document.documentElement.clientWidth;
             if (document.documentElement.scrollWidth <= w) return [];
             return [...document.querySelectorAll('body *')]
               .filter(e => e.getBoundingClientRect().right > w + 1
                       && !e.closest('.scroll'))
               .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40));",
        )
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let wide = self.overflowing();
        assert_eq!(wide, json!([]), "{name}: the page scrolls sideways");
        let png = BASE64
            .decode(
                self.call("GET", "/screenshot", &Value::Null)
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Waits until the page's first verification box has a result; returns
    /// (result, status text, data-size).
    fn verification(&self) -> (String, String, String) {
        let started = Instant::now();
        loop {
            let v = self.js("const b = document.querySelector('[data-verify]');
                 return b && b.getAttribute('data-result')
                   ? [b.getAttribute('data-result'), b.querySelector('[data-status]').textContent,
                      b.getAttribute('data-size') || '']
                   : null;");
            if let Some(a) = v.as_array() {
                let s = |i: usize| a[i].as_str().unwrap().to_owned();
                return (s(0), s(1), s(2));
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the page never finished verifying"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn the_browser_reads_searches_and_verifies() {
    let Some(b) = Browser::start() else { return };
    let s = server();
    let mut shots = Vec::new();
    let size = json_of("/api/v1/log")["tree_size"].as_u64().unwrap();

    // The front page: campaigns rendered, the checkpoint's signature checked.
    b.open(&format!("{}/", s.url));
    assert!(b.text("h1").contains("Các cuộc vận động"));
    assert_eq!(
        b.js("return document.querySelectorAll('ol.campaigns > li').length"),
        json!(2)
    );
    let (result, status, cp) = b.verification();
    assert_eq!(result, "verified", "{status}");
    assert!(status.contains(&format!("Checkpoint {size}")), "{status}");
    assert_eq!(cp, size.to_string());
    // The stylesheet applied (CSP allows our own asset): the header is blue.
    assert_eq!(
        b.js("return getComputedStyle(document.querySelector('header')).backgroundColor"),
        json!("rgb(11, 83, 148)")
    );
    // Keyboard: the first Tab lands on the skip link.
    b.call(
        "POST",
        "/actions",
        &json!({"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": "\u{E004}"}, {"type": "keyUp", "value": "\u{E004}"}]}]}),
    );
    assert_eq!(
        b.js("return document.activeElement.className"),
        json!("skip")
    );
    shots.push(b.screenshot("01-campaigns"));

    // Campaign, keys, accounts, feedback render.
    b.open(&format!("{}/campaigns/bao-yagi", s.url));
    assert!(b.text("h1").contains("bão số 3"));
    shots.push(b.screenshot("02-campaign"));
    b.open(&format!("{}/campaigns/lu-mien-trung", s.url));
    assert!(
        b.js("return document.querySelectorAll('table.coverage tr.under').length")
            .as_u64()
            .unwrap()
            > 0
    );
    shots.push(b.screenshot("02b-campaign-under-served"));
    b.open(&format!("{}/keys?lang=en", s.url));
    assert_eq!(b.text("h1"), "Signing keys");
    assert!(b.text("#verifier-key").starts_with("demo.minhbach.vn/log+"));
    shots.push(b.screenshot("03-keys-en"));
    b.open(&format!("{}/accounts?lang=vi", s.url));
    assert_eq!(
        b.js("return document.querySelectorAll('svg.qr').length"),
        json!(3)
    );
    shots.push(b.screenshot("04-accounts"));
    b.open(&format!("{}/feedback", s.url));
    assert!(b.text("h1").contains("Phản ánh"));
    shots.push(b.screenshot("05-feedback"));

    // Find my donation: type the reference into the search box, submit.
    let (index, reference, _) = a_bank_donation();
    b.open(&format!("{}/", s.url));
    let input = b.element("#q");
    b.call(
        "POST",
        &format!("/element/{input}/value"),
        &json!({ "text": reference }),
    );
    let button = b.element("form.search button");
    b.call("POST", &format!("/element/{button}/click"), &json!({}));
    let started = Instant::now();
    while !b
        .js("return location.pathname")
        .as_str()
        .unwrap()
        .starts_with("/find")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the search did not submit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(b.text("p.found").contains(&format!("#{index}")));
    assert!(b.text("#trace").contains("Tiền của bạn đã đi đâu"));
    let (result, status, cp) = b.verification();
    assert_eq!(result, "verified", "{status}");
    assert!(
        status.contains(&format!("Đã xác minh theo checkpoint {size}")),
        "{status}"
    );
    assert_eq!(cp, size.to_string());
    // Every signer's DSSE signature was checked in the browser.
    let cells =
        b.js("return [...document.querySelectorAll('[data-sig-status]')].map(c => c.textContent)");
    assert!(!cells.as_array().unwrap().is_empty());
    for c in cells.as_array().unwrap() {
        assert!(c.as_str().unwrap().starts_with('✓'), "{c}");
    }
    shots.push(b.screenshot("06-find-verified"));

    // The receipt bundle downloads and is the one the API serves.
    let href = b.js("return document.querySelector('a[download]').getAttribute('href')");
    let receipt = json_of(href.as_str().unwrap());
    assert!(
        receipt["proof"]
            .as_str()
            .unwrap()
            .starts_with("c2sp.org/tlog-proof@v1\nindex ")
    );
    let link = b.text("[data-receipt-link]");
    assert!(link.ends_with(&format!(
        "/entries/{index}?leaf={}",
        json_of(&format!("/api/v1/entries/{index}"))["leaf_hash_hex"]
            .as_str()
            .unwrap()
    )));

    // The same entry, in English; then the engine forced to our BigInt Ed25519.
    b.open(&format!("{}/entries/{index}?lang=en", s.url));
    let (result, status, _) = b.verification();
    assert_eq!(result, "verified", "{status}");
    assert!(
        status.contains(&format!("Verified against checkpoint {size}")),
        "{status}"
    );
    b.js_async("minhbach.run({engine: 'js'}).then(() => arguments[0](true))");
    let (result, status, _) = b.verification();
    assert_eq!(result, "verified", "{status}");
    let steps = b.text("[data-steps]");
    assert!(steps.contains("checked with JavaScript"), "{steps}");

    // A proof flipped on the wire: NOT verified, and why.
    s.tamper.store(FLIP_PROOF, Ordering::SeqCst);
    b.open(&format!("{}/entries/{index}?lang=en", s.url));
    let (result, status, _) = b.verification();
    s.tamper.store(HONEST, Ordering::SeqCst);
    assert_eq!(result, "failed", "{status}");
    assert!(status.starts_with("✗ NOT verified"), "{status}");
    assert!(status.contains("does NOT match checkpoint"), "{status}");
    shots.push(b.screenshot("07-entry-tampered-proof"));

    // A checkpoint altered on the wire: its signature fails.
    s.tamper.store(FLIP_CHECKPOINT, Ordering::SeqCst);
    b.open(&format!("{}/entries/{index}?lang=vi", s.url));
    let (result, status, _) = b.verification();
    s.tamper.store(HONEST, Ordering::SeqCst);
    assert_eq!(result, "failed", "{status}");
    assert!(status.starts_with("✗ KHÔNG xác minh được"), "{status}");
    assert!(
        status.contains("chữ ký Ed25519 của checkpoint SAI"),
        "{status}"
    );
    b.open(&format!("{}/", s.url));
    s.tamper.store(FLIP_CHECKPOINT, Ordering::SeqCst);
    b.open(&format!("{}/", s.url));
    let (result, status, _) = b.verification();
    s.tamper.store(HONEST, Ordering::SeqCst);
    assert_eq!(result, "failed", "front page: {status}");

    // And honest again.
    b.open(&format!("{}/entries/{index}", s.url));
    assert_eq!(b.verification().0, "verified");

    // Inclusion proofs for the first, a middle and the last entry recompute
    // the checkpoint's root in the browser's own code.
    for i in [0, size / 2, size - 1] {
        let proof = json_of(&format!("/api/v1/proofs/inclusion?index={i}&size={size}"));
        let log = json_of("/api/v1/log");
        let script = format!(
            "const done = arguments[0];
             (async () => {{
               const proof = {proof}.map(minhbach.b64dec);
               const r = await minhbach.rootFromInclusion({i}n, {size}n, minhbach.b64dec('{leaf}'), proof);
               done(minhbach.hex(r) === minhbach.hex(minhbach.b64dec('{root}')));
             }})().catch(e => done(String(e)));",
            proof = proof["proof"],
            leaf = proof["leaf_hash"].as_str().unwrap(),
            root = log["root"].as_str().unwrap(),
        );
        assert_eq!(b.js_async(&script), json!(true), "index {i}");
    }

    // The BigInt Ed25519 agrees with WebCrypto: RFC 8032 vectors, fresh
    // signatures, and a flipped bit refused.
    let v = b.js_async(
        "const done = arguments[0];
         (async () => {
           const h = s => Uint8Array.from(s.match(/../g) || [], x => parseInt(x, 16));
           const out = [];
           const vectors = [
             ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
              'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
             ['3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
              '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00']];
           for (const [pk, m, s] of vectors) {
             out.push(await minhbach.ed25519VerifyJs(h(pk), h(m), h(s)));
             const bad = h(s); bad[40] ^= 1;
             out.push(!(await minhbach.ed25519VerifyJs(h(pk), h(m), bad)));
           }
           const kp = await crypto.subtle.generateKey({name: 'Ed25519'}, true, ['sign', 'verify']);
           const pub = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
           for (let i = 0; i < 8; i++) {
             const msg = crypto.getRandomValues(new Uint8Array(1 + 50 * i));
             const sig = new Uint8Array(await crypto.subtle.sign({name: 'Ed25519'}, kp.privateKey, msg));
             out.push(await minhbach.ed25519VerifyJs(pub, msg, sig));
             msg[0] ^= 0x80;
             out.push(!(await minhbach.ed25519VerifyJs(pub, msg, sig)));
           }
           done(out);
         })().catch(e => done(String(e)));",
    );
    let all = v.as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(|x| *x == json!(true)), "{v}");

    for shot in &shots {
        assert!(std::fs::metadata(shot).unwrap().len() > 1000);
    }
    println!(
        "explorer screenshots: {}",
        shots[0].parent().unwrap().display()
    );
}

/// Pointed at a published copy of the read path (an S3 bucket, as behind a
/// CDN), the explorer's pages name it, allow fetches to it, and the browser
/// verifies against the bucket's checkpoint: a checkpoint altered in the
/// bucket fails the check although the server's own is intact.
#[test]
fn the_browser_verifies_against_the_published_copy() {
    let s = server();
    let bucket = s3::S3::start();
    bucket.create_public_bucket("explorer");
    let size = json_of("/api/v1/log")["tree_size"].as_u64().unwrap();
    // The read path copied byte for byte, as the replica writes it.
    let copy = |path: &str| {
        agent()
            .get(&format!("{}/{path}", s.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap()
    };
    let checkpoint = String::from_utf8(copy("checkpoint")).unwrap();
    // The bucket's checkpoint altered (its root's first character).
    let mut lines: Vec<String> = checkpoint.split('\n').map(str::to_owned).collect();
    let first = if lines[2].starts_with('A') { "B" } else { "A" };
    lines[2].replace_range(0..1, first);
    let altered = lines.join("\n");
    // Two copies (objects are written once): an honest one, and one whose
    // checkpoint was altered.
    for (prefix, cp) in [("log", &checkpoint), ("altered", &altered)] {
        for path in tiles_for_size(size).chain(entry_bundles_for_size(size)) {
            let path = path.to_string();
            bucket.put("explorer", &format!("{prefix}/{path}"), &copy(&path));
        }
        bucket.put(
            "explorer",
            &format!("{prefix}/api/v1/log"),
            &copy("api/v1/log"),
        );
        bucket.put("explorer", &format!("{prefix}/checkpoint"), cp.as_bytes());
    }
    let public = bucket.url("explorer", "log");
    let url = serve_app(minhbach_server::app(
        s.state.clone().with_read_url(Some(&format!("{public}/"))),
    ));

    // Without a browser: the page names the copy and the CSP allows it.
    let (index, _, _) = a_bank_donation();
    let page = get_with(&format!("{url}/entries/{index}"), &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!(
            "<meta name=\"minhbach-read-url\" content=\"{public}\">"
        )),
        "{}",
        page.body
    );
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains(&format!("connect-src 'self' {}", bucket.endpoint)),
        "{csp}"
    );
    // The server's own pages are unchanged.
    let own = get(&format!("/entries/{index}"));
    assert!(!own.body.contains("minhbach-read-url"));
    assert!(
        own.header("content-security-policy")
            .contains("connect-src 'self';")
    );

    let Some(b) = Browser::start() else { return };
    b.open(&format!("{url}/entries/{index}?lang=en"));
    let (result, status, _) = b.verification();
    assert_eq!(result, "verified", "{status}");
    assert!(
        status.contains(&format!("Verified against checkpoint {size}")),
        "{status}"
    );
    let steps = b.text("[data-steps]");
    assert!(
        steps.contains(&format!("from the published copy: {public}")),
        "{steps}"
    );

    // The altered copy: the browser refuses its checkpoint, while the
    // server still serves an intact one.
    let altered_url = serve_app(minhbach_server::app(
        s.state
            .clone()
            .with_read_url(Some(&bucket.url("explorer", "altered"))),
    ));
    b.open(&format!("{altered_url}/entries/{index}?lang=en"));
    let (result, status, _) = b.verification();
    assert_eq!(result, "failed", "{status}");
    assert!(status.contains("does NOT verify"), "{status}");
    assert_eq!(get("/checkpoint").body, checkpoint);

    // And the honest copy once more.
    b.open(&format!("{url}/entries/{index}?lang=en"));
    assert_eq!(b.verification().0, "verified");
}
