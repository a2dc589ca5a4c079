//! The public explorer (SPEC 8.5, `GET /`): server-rendered HTML pages over
//! the same books and store reads as the JSON API, in Vietnamese by default
//! with an English switch (`?lang=en`, remembered in a cookie).
//!
//! | route | page |
//! | --- | --- |
//! | `/` | campaigns by priority: cause, regions, received, disbursed, balance, progress |
//! | `/campaigns/{id}` | one campaign: totals, flows by province and commune (table and chart), households reached versus enrolled per commune, accounts, recent entries |
//! | `/entries/{index}` | one entry: the decoded statement, its signers, leaf hash, index, and the in-browser verification |
//! | `/find?ref=` | find a donation by bank reference (or statement id): the donation, its receipt (download and QR code), where it went |
//! | `/keys` | the log's public key (with how to check it independently) and the officials' key registry |
//! | `/accounts` | each campaign's registered receiving accounts, with a VietQR code |
//! | `/feedback` | feedback statistics: on-time rate by category |
//! | `/assets/{name}` | the stylesheet and the verifier script, named by a hash of their content (immutable) |
//!
//! Every page reads fully without JavaScript. With JavaScript, `verify.js`
//! checks the checkpoint's Ed25519 signature, and on entry and donation
//! pages recomputes the leaf hash from the leaf bytes in the page and the
//! RFC 9162 root from the inclusion proof, then says "verified against
//! checkpoint N" or why not. Its code is ours (WebCrypto, with a BigInt
//! Ed25519 fallback written for this project).
//!
//! What this module does not do: compute anything the books do not already
//! hold, show personal data (beneficiaries are commitments; SPEC 6.9,
//! 6.10), or set any cookie but the language.

mod entry;
pub(crate) mod html;
mod i18n;
mod pages;
mod qr;
pub(crate) mod vietqr;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

use crate::AppState;
use crate::error::ApiError;
use html::{Html, escape, url_encode};
use i18n::Lang;

/// The stylesheet, embedded in the binary.
const CSS: &str = include_str!("../../web/style.css");
/// The in-browser verifier, embedded in the binary.
const JS: &str = include_str!("../../web/verify.js");

/// The Content-Security-Policy of every page: scripts and styles from this
/// origin only (no inline script or style), fetches to this origin only,
/// no frames, no plugins.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Assets never change under a name: the name holds a hash of the content.
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// The longest search term accepted.
const MAX_QUERY: usize = 128;

/// The explorer's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/campaigns/{id}", get(pages::campaign))
        .route("/entries/{index}", get(entry::entry))
        .route("/find", get(entry::find))
        .route("/keys", get(pages::keys))
        .route("/accounts", get(pages::accounts))
        .route("/feedback", get(pages::feedback))
        .route("/assets/{name}", get(asset))
}

/// `name.<first 8 bytes of SHA-256, hex>.ext`.
fn hashed_name(stem: &str, ext: &str, content: &str) -> String {
    let h = Sha256::digest(content.as_bytes());
    let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{stem}.{hex}.{ext}")
}

fn css_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| hashed_name("style", "css", CSS))
}

fn js_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| hashed_name("verify", "js", JS))
}

/// The URL paths of the stylesheet and the script (for tests and docs).
#[must_use]
pub fn asset_paths() -> [String; 2] {
    [
        format!("/assets/{}", css_name()),
        format!("/assets/{}", js_name()),
    ]
}

/// `GET /assets/{name}`: an embedded asset under its current name; any other
/// name (an old hash included) is 404.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = if name == css_name() {
        (CSS, "text/css; charset=utf-8")
    } else if name == js_name() {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, ASSET_CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// What every page needs from its request: the language (and whether it was
/// chosen now, to remember it), the query, and the public base URL.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    lang: Lang,
    /// `?lang=` was given: set the cookie.
    remember: bool,
    path: String,
    query: Vec<(String, String)>,
    /// Whether the query string could be read at all.
    query_ok: bool,
    /// `http://host` (or `https://` behind a proxy that says so), for
    /// absolute links in QR codes.
    base: String,
}

impl Ctx {
    fn from_parts(parts: &Parts) -> Self {
        let (query, query_ok) = match parts.uri.query() {
            None => (Vec::new(), true),
            Some(q) => match serde_urlencoded_pairs(q) {
                Some(pairs) => (pairs, true),
                None => (Vec::new(), false),
            },
        };
        let asked = query
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let cookie = cookie_lang(&parts.headers);
        let lang = asked.or(cookie).unwrap_or(Lang::Vi);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        let scheme = match parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
        {
            Some("https") => "https",
            _ => "http",
        };
        Self {
            lang,
            remember: asked.is_some(),
            path: parts.uri.path().to_owned(),
            query,
            query_ok,
            base: format!("{scheme}://{host}"),
        }
    }

    /// The value of query parameter `name`.
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// This page in the other language.
    fn switch_href(&self) -> String {
        let mut href = format!("{}?lang={}", self.path, self.lang.other().code());
        for (k, v) in self.query.iter().filter(|(k, _)| k != "lang") {
            href.push('&');
            href.push_str(&url_encode(k));
            href.push('=');
            href.push_str(&url_encode(v));
        }
        href
    }
}

/// Parses `a=b&c=d` (`+` is a space, `%XX` a byte, UTF-8); `None` if a
/// percent escape is broken or the bytes are not UTF-8.
fn serde_urlencoded_pairs(q: &str) -> Option<Vec<(String, String)>> {
    fn decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// A page's failure, shown as an HTML page with its status.
#[derive(Debug)]
pub(crate) enum WebError {
    /// The request is not understood (HTTP 400); the message says why.
    BadRequest(String),
    /// A server-side failure (HTTP 500); logged, never shown.
    Internal(String),
    /// Nothing here (HTTP 404); the message says what was looked for.
    NotFound(String),
    /// The books cannot be read (HTTP 503); logged, never shown.
    Unavailable(String),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(m) => Self::NotFound(m),
            ApiError::Malformed(m) | ApiError::OutOfRange(m) => Self::BadRequest(m),
            ApiError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Internal(format!("{other:?}")),
        }
    }
}

/// A lookup of the books failed.
impl From<minhbach_ledger::store::StoreError> for WebError {
    fn from(e: minhbach_ledger::store::StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// A rendered page: its title, its `<main>` content and its status.
pub(crate) struct Page {
    title: String,
    main: String,
    status: StatusCode,
}

impl Page {
    fn ok(title: impl Into<String>, main: Html) -> Self {
        Self {
            title: title.into(),
            main: main.finish(),
            status: StatusCode::OK,
        }
    }
}

/// What the footer says about the log: origin and latest checkpoint.
struct LogStatus {
    origin: String,
    size: Option<u64>,
    /// The published copy of the read path browsers verify against.
    read_url: Option<String>,
}

/// Renders `f` off the async workers, with the state (books and store).
async fn render(
    state: AppState,
    ctx: Ctx,
    f: impl FnOnce(&AppState, &Ctx) -> Result<Page, WebError> + Send + 'static,
) -> Response {
    let ctx2 = ctx.clone();
    let result = tokio::task::spawn_blocking(move || {
        let status = LogStatus {
            read_url: state.read_url().map(str::to_owned),
            origin: state.origin().to_owned(),
            size: state
                .view()
                .latest()
                .ok()
                .flatten()
                .map(|l| l.checkpoint.size()),
        };
        let page = if ctx2.query_ok {
            f(&state, &ctx2)
        } else {
            Err(WebError::BadRequest(
                "the query string cannot be read".into(),
            ))
        };
        (status, page)
    })
    .await;
    match result {
        Ok((status, Ok(page))) => respond(&ctx, &status, page),
        Ok((status, Err(e))) => respond(&ctx, &status, error_page(ctx.lang, e)),
        Err(e) => {
            let status = LogStatus {
                origin: String::new(),
                size: None,
                read_url: None,
            };
            respond(
                &ctx,
                &status,
                error_page(ctx.lang, WebError::Internal(e.to_string())),
            )
        }
    }
}

fn error_page(lang: Lang, e: WebError) -> Page {
    let mut h = Html::new();
    let (status, title, detail) = match e {
        WebError::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            lang.pick("Yêu cầu không hợp lệ", "Bad request"),
            m,
        ),
        WebError::NotFound(m) => (
            StatusCode::NOT_FOUND,
            lang.pick("Không tìm thấy", "Not found"),
            m,
        ),
        WebError::Internal(m) => {
            tracing::error!(target: "minhbach_server::web", error = %m, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.pick("Lỗi máy chủ", "Server error"),
                lang.pick(
                    "Máy chủ không trả lời được yêu cầu này.",
                    "The server could not answer this request.",
                )
                .to_owned(),
            )
        }
        WebError::Unavailable(m) => {
            tracing::error!(target: "minhbach_server::web", error = %m, "the books cannot be read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                lang.pick("Tạm thời không xem được", "Temporarily unavailable"),
                lang.pick(
                    "Máy chủ tạm thời không đọc được sổ sách. Xin thử lại sau ít phút.",
                    "The server cannot read its books right now. Please try again in a few minutes.",
                )
                .to_owned(),
            )
        }
    };
    h.raw("<h1>").text(title).raw("</h1>");
    h.raw("<p class=\"problem\">").text(&detail).raw("</p>");
    h.raw("<p>")
        .link("/", lang.pick("Về trang chủ", "Back to the front page"))
        .raw("</p>");
    Page {
        title: title.to_owned(),
        main: h.finish(),
        status,
    }
}

/// The HTML 404 page of the fallback route, for browsers.
pub(crate) fn not_found_page(parts: &Parts) -> Response {
    let ctx = Ctx::from_parts(parts);
    let status = LogStatus {
        origin: String::new(),
        size: None,
        read_url: None,
    };
    let lang = ctx.lang;
    respond(
        &ctx,
        &status,
        error_page(
            lang,
            WebError::NotFound(
                lang.pick("Không có trang này.", "There is no such page.")
                    .to_owned(),
            ),
        ),
    )
}

/// `scheme://host[:port]` of an `http(s)` URL, for a CSP source; `None` for
/// anything else (nothing odd reaches the header).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split('/').next()?;
    let clean = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    clean.then(|| format!("{scheme}://{host}"))
}

/// Whether a request for an unknown route comes from a browser that wants
/// HTML (not an API client).
pub(crate) fn wants_html(req: &Request) -> bool {
    !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// The page in the site's frame (head, header with the menu and the search,
/// footer), with the explorer's response headers.
fn respond(ctx: &Ctx, status: &LogStatus, page: Page) -> Response {
    let lang = ctx.lang;
    let mut h = Html::new();
    page_head(&mut h, lang, status, &page.title);
    page_header(&mut h, ctx);
    h.raw("<main id=\"main\" tabindex=\"-1\">")
        .raw(&page.main)
        .raw("</main>");
    page_footer(&mut h, lang, status);
    let mut response = (page.status, h.finish()).into_response();
    set_headers(&mut response, ctx, status);
    response
}

/// The document's head: language, read URL, title, stylesheet and script.
fn page_head(h: &mut Html, lang: Lang, status: &LogStatus, title: &str) {
    h.raw("<!doctype html>\n<html")
        .attr("lang", lang.code())
        .raw("><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    if let Some(url) = &status.read_url {
        h.raw("<meta name=\"minhbach-read-url\"")
            .attr("content", url)
            .raw(">");
    }
    h.raw("<title>")
        .text(title)
        .raw(" · Minh bạch</title>")
        .raw("<link rel=\"stylesheet\"")
        .attr("href", &format!("/assets/{}", css_name()))
        .raw("><script defer")
        .attr("src", &format!("/assets/{}", js_name()))
        .raw("></script></head><body>");
}

/// The header: the skip link, the menu, the language switch and the search.
fn page_header(h: &mut Html, ctx: &Ctx) {
    let lang = ctx.lang;
    h.raw("<a class=\"skip\" href=\"#main\">")
        .text(lang.pick("Bỏ qua, đến nội dung chính", "Skip to the content"))
        .raw("</a><header><nav")
        .attr("aria-label", lang.pick("Chính", "Main"))
        .raw("><a class=\"brand\" href=\"/\">Minh bạch</a><ul>");
    for (href, vi, en) in [
        ("/", "Cuộc vận động", "Campaigns"),
        ("/accounts", "Tài khoản nhận", "Accounts"),
        ("/keys", "Khóa ký", "Keys"),
        ("/feedback", "Phản ánh", "Feedback"),
    ] {
        h.raw("<li><a");
        h.attr("href", href);
        if ctx.path == href {
            h.raw(" aria-current=\"page\"");
        }
        h.raw(">").text(lang.pick(vi, en)).raw("</a></li>");
    }
    h.raw("</ul><a class=\"lang\"")
        .attr("href", &ctx.switch_href())
        .attr("hreflang", lang.other().code())
        .attr("lang", lang.other().code())
        .raw(">")
        .text(lang.other().name())
        .raw("</a></nav>");
    h.raw("<form class=\"search\" action=\"/find\" method=\"get\" role=\"search\">")
        .raw("<label for=\"q\">")
        .text(lang.pick(
            "Tìm khoản ủng hộ của bạn (mã giao dịch, số sau \u{201c}Ref\u{201d} trong tin nhắn ngân hàng)",
            "Find your donation (bank transaction reference, the digits after \u{201c}Ref\u{201d} in your bank SMS)",
        ))
        .raw("</label><div><input id=\"q\" name=\"ref\" type=\"search\" autocomplete=\"off\" spellcheck=\"false\"")
        .attr("maxlength", &MAX_QUERY.to_string())
        .attr("value", ctx.param("ref").unwrap_or_default())
        .raw("><button type=\"submit\">")
        .text(lang.pick("Tìm", "Search"))
        .raw("</button></div></form></header>");
}

/// The footer: the log, its checkpoint, and how to check it all.
fn page_footer(h: &mut Html, lang: Lang, status: &LogStatus) {
    h.raw("<footer><p>")
        .text(lang.pick("Sổ cái", "Log"))
        .raw(" <code>")
        .text(&status.origin)
        .raw("</code>");
    if let Some(size) = status.size {
        h.raw(" · ")
            .text(lang.pick("checkpoint hiện tại: ", "current checkpoint: "))
            .text(&html::group(size))
            .text(lang.pick(" bút toán", " entries"));
    }
    h.raw(" · ")
        .link("/checkpoint", "checkpoint")
        .raw(" · ")
        .link("/api/v1/log", "API")
        .raw("</p><p>")
        .text(lang.pick(
            "Mọi số liệu trên trang này có thể được kiểm tra độc lập bằng minhbach-audit, chỉ với khóa công khai của sổ cái.",
            "Every figure on this site can be checked independently with minhbach-audit, using only the log's public key.",
        ))
        .raw("</p></footer></body></html>\n");
}

/// The explorer's response headers: type, content security policy,
/// caching, and the language cookie when asked to remember it.
fn set_headers(response: &mut Response, ctx: &Ctx, status: &LogStatus) {
    let lang = ctx.lang;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let csp = match status.read_url.as_deref().and_then(origin_of) {
        // Fetches may also go to the published copy's origin.
        Some(origin) => HeaderValue::from_str(&CSP.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {origin}"),
        ))
        .unwrap_or(HeaderValue::from_static(CSP)),
        None => HeaderValue::from_static(CSP),
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
    if ctx.remember {
        let cookie = format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, v);
        }
    }
}
/// Escapes `s` (re-exported for the page modules' format strings).
fn esc(s: &str) -> String {
    escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = axum::http::Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn language_from_query_then_cookie_then_vietnamese() {
        let c = Ctx::from_parts(&parts("/", &[]));
        assert_eq!((c.lang, c.remember), (Lang::Vi, false));
        let c = Ctx::from_parts(&parts("/keys?lang=en", &[]));
        assert_eq!((c.lang, c.remember), (Lang::En, true));
        let c = Ctx::from_parts(&parts("/", &[("cookie", "a=b; lang=en")]));
        assert_eq!((c.lang, c.remember), (Lang::En, false));
        let c = Ctx::from_parts(&parts("/?lang=vi", &[("cookie", "lang=en")]));
        assert_eq!(c.lang, Lang::Vi);
        let c = Ctx::from_parts(&parts("/?lang=fr", &[]));
        assert_eq!((c.lang, c.remember), (Lang::Vi, false));
    }

    #[test]
    fn the_switch_keeps_the_query() {
        let c = Ctx::from_parts(&parts("/find?ref=FT%2024&lang=vi", &[]));
        assert_eq!(c.param("ref"), Some("FT 24"));
        assert_eq!(c.switch_href(), "/find?lang=en&ref=FT%2024");
    }

    #[test]
    fn queries_decode_or_fail_plainly() {
        assert_eq!(
            serde_urlencoded_pairs("ref=a+b%C3%A9&x").unwrap(),
            vec![("ref".into(), "a bé".into()), ("x".into(), String::new())]
        );
        assert!(serde_urlencoded_pairs("ref=%zz").is_none());
        assert!(serde_urlencoded_pairs("ref=%ff").is_none());
        assert!(serde_urlencoded_pairs("ref=%4").is_none());
        let c = Ctx::from_parts(&parts("/find?ref=%ff", &[]));
        assert!(!c.query_ok);
    }

    #[test]
    fn a_hostile_host_header_is_not_used() {
        let c = Ctx::from_parts(&parts("/", &[("host", "evil\"><script>")]));
        assert_eq!(c.base, "http://localhost");
        let c = Ctx::from_parts(&parts(
            "/",
            &[("host", "log.example.vn"), ("x-forwarded-proto", "https")],
        ));
        assert_eq!(c.base, "https://log.example.vn");
    }

    #[test]
    fn asset_names_carry_a_content_hash() {
        let [css, js] = asset_paths();
        assert!(css.starts_with("/assets/style.") && css.ends_with(".css"));
        assert!(js.starts_with("/assets/verify.") && js.ends_with(".js"));
        assert_eq!(css.len(), "/assets/style..css".len() + 16);
    }
}
