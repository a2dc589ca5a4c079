//! The entry page (`/entries/{index}`) and the donor's search
//! (`/find?ref=`): the decoded statement, its signers, the leaf hash and
//! index, for a donation where it went and its receipt, and the block the
//! script fills in when it has verified the entry against the checkpoint.

use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle;
use minhbach_ledger::region::RegionCode;
use minhbach_ledger::rules::FlowKind;
use minhbach_ledger::statement::{Statement, StatementKind};
use minhbach_ledger::trace::AckStatus;
use serde_json::Value;

use super::html::{Html, amount, group, url_encode};
use super::i18n::Lang;
use super::pages::{region_name, statement_amount, title};
use super::{Ctx, MAX_QUERY, Page, WebError, qr, render};
use crate::AppState;
use crate::books_api::find_entry;
use crate::error::ApiError;

/// `GET /entries/{index}`.
pub(crate) async fn entry(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ctx: Ctx,
) -> Response {
    render(state, ctx, move |s, c| {
        let lang = c.lang;
        let index: u64 = index.parse().map_err(|_| {
            WebError::NotFound(format!(
                "{} {index}",
                lang.pick("Không có bút toán", "There is no entry")
            ))
        })?;
        let mut h = Html::new();
        let kind = entry_body(&mut h, s, c, index)?;
        Ok(Page::ok(
            format!(
                "{} #{index} · {}",
                lang.pick("Bút toán", "Entry"),
                lang.kind(kind)
            ),
            h,
        ))
    })
    .await
}

/// `GET /find?ref=REF` (or `?id=STATEMENT_ID`).
pub(crate) async fn find(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(state, ctx, find_page).await
}

fn find_page(state: &AppState, ctx: &Ctx) -> Result<Page, WebError> {
    let lang = ctx.lang;
    let (term, by_id) =
        match (ctx.param("ref"), ctx.param("id")) {
            (Some(r), None) => (r.trim(), false),
            (None, Some(i)) => (i.trim(), true),
            (None, None) => return Ok(search_help(lang)),
            (Some(_), Some(_)) => return Err(WebError::BadRequest(
                lang.pick(
                    "Chỉ nhập một trong hai: mã giao dịch (ref) hoặc mã bút toán (id).",
                    "Give one of the two: a transaction reference (ref) or a statement id (id).",
                )
                .to_owned(),
            )),
        };
    if term.is_empty() {
        return Err(WebError::BadRequest(
            lang.pick(
                "Hãy nhập mã giao dịch: dãy ký tự sau chữ \u{201c}Ref\u{201d} hoặc \u{201c}Mã GD\u{201d} trong tin nhắn của ngân hàng.",
                "Type a transaction reference: the characters after \u{201c}Ref\u{201d} in your bank's SMS.",
            )
            .to_owned(),
        ));
    }
    if term.chars().count() > MAX_QUERY || term.chars().any(char::is_control) {
        return Err(WebError::BadRequest(
            lang.pick(
                "Mã tìm kiếm không hợp lệ: tối đa 128 ký tự, không có ký tự điều khiển.",
                "This search term is not valid: at most 128 characters, no control characters.",
            )
            .to_owned(),
        ));
    }
    let found = {
        let books = state.books().read();
        let s = &books.state;
        let by_ref = if by_id {
            Err(ApiError::NotFound(String::new()))
        } else {
            find_entry(s, Some(term), None, None)
        };
        match by_ref {
            Err(ApiError::NotFound(_)) => find_entry(s, None, None, Some(term)),
            other => other,
        }
    };
    let index = match found {
        Ok(i) => i,
        Err(ApiError::NotFound(_)) => {
            return Err(WebError::NotFound(format!(
                "{} \u{201c}{term}\u{201d}. {}",
                lang.pick(
                    "Không tìm thấy khoản ủng hộ nào có mã",
                    "No donation has the reference",
                ),
                lang.pick(
                    "Kiểm tra lại từng ký tự; khoản vừa chuyển có thể cần vài giờ để được ghi sổ. Nếu ngân hàng đã trừ tiền mà vài ngày sau vẫn không thấy, hãy gửi phản ánh.",
                    "Check every character; a transfer made just now may take a few hours to be logged. If your bank took the money and it is still missing after a few days, send feedback.",
                )
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let mut h = Html::new();
    h.raw("<p class=\"found\" role=\"status\">")
        .text(&format!(
            "{} \u{201c}{term}\u{201d}: {} #{index}.",
            lang.pick("Đã tìm thấy", "Found"),
            lang.pick("bút toán", "entry"),
        ))
        .raw("</p>");
    let kind = entry_body(&mut h, state, ctx, index)?;
    Ok(Page::ok(
        format!(
            "{} · {}",
            lang.pick("Tìm khoản ủng hộ", "Find a donation"),
            lang.kind(kind)
        ),
        h,
    ))
}

fn search_help(lang: Lang) -> Page {
    let mut h = Html::new();
    h.raw("<h1>")
        .text(lang.pick("Tìm khoản ủng hộ của bạn", "Find your donation"))
        .raw("</h1><p>")
        .text(lang.pick(
            "Nhập mã giao dịch vào ô tìm kiếm ở đầu trang. Mã này nằm trong tin nhắn hoặc ứng dụng ngân hàng, thường sau chữ \u{201c}Ref\u{201d}, \u{201c}Mã GD\u{201d} hoặc \u{201c}Số bút toán\u{201d}, ví dụ FT24254607609791. Với tiền mặt hay hiện vật, nhập số biên nhận bạn được giao.",
            "Type the transaction reference in the search box at the top. It is in your bank's SMS or app, usually after \u{201c}Ref\u{201d}, for example FT24254607609791. For cash or goods, type the receipt number you were given.",
        ))
        .raw("</p><p>")
        .text(lang.pick(
            "Bạn sẽ thấy khoản ủng hộ, biên nhận có thể tự kiểm tra, và tiền của bạn đã được chi cho ai, ở đâu.",
            "You will see the donation, a receipt anyone can check, and who your money went to, and where.",
        ))
        .raw("</p>");
    Page::ok(lang.pick("Tìm khoản ủng hộ", "Find a donation"), h)
}

/// Writes the entry at `index`: statement, signers, hashes, and for a
/// donation its trace and receipt; then the verification block. Returns the
/// statement's type.
fn entry_body(
    h: &mut Html,
    state: &AppState,
    ctx: &Ctx,
    index: u64,
) -> Result<StatementKind, WebError> {
    let lang = ctx.lang;
    let bytes = crate::api::leaf_at(&state.view(), index).map_err(|e| match e {
        ApiError::NotFound(_) => WebError::NotFound(format!(
            "{} #{index}",
            lang.pick("Không có bút toán", "There is no entry")
        )),
        other => other.into(),
    })?;
    // The log only appends leaves the rules accepted: they parse.
    let leaf = Leaf::parse(&bytes).map_err(|e| WebError::Internal(e.to_string()))?;
    let statement = Statement::from_json(leaf.envelope.payload())
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let kind = statement.kind();
    let hash = merkle::leaf_hash(&bytes);
    let payload_text = String::from_utf8_lossy(leaf.envelope.payload()).into_owned();
    let fields: Value = serde_json::from_slice(leaf.envelope.payload()).unwrap_or(Value::Null);

    h.raw("<h1>")
        .text(&format!(
            "{} #{index}: {}",
            lang.pick("Bút toán", "Entry"),
            lang.kind(kind)
        ))
        .raw("</h1>");
    leaf_hash_check(h, ctx, &hash, lang);
    let books = state.books().read();
    let s = &books.state;

    summary_section(h, index, &leaf, &statement, &hash, lang);
    verify_section(h, index, &bytes, &hash, lang);
    statement_section(h, s, &fields, &payload_text, lang);
    signers_section(h, s, &leaf, lang);

    // A donation: where it went, and its receipt.
    if kind == StatementKind::Donation {
        trace_section(h, &books, index, lang)?;
        drop(books);
        receipt_section(h, state, ctx, index, &hash.to_hex())?;
    } else {
        drop(books);
    }

    Ok(kind)
}

/// Whether the leaf hash in the link (`?leaf=`, from a scanned QR code) is this entry's.
fn leaf_hash_check(h: &mut Html, ctx: &Ctx, hash: &merkle::Hash, lang: Lang) {
    if let Some(claimed) = ctx.param("leaf") {
        if claimed.eq_ignore_ascii_case(&hash.to_hex()) {
            h.raw("<p class=\"ok\">✓ ").text(lang.pick(
                "Mã băm trong mã QR bạn quét khớp với bút toán này.",
                "The leaf hash in the QR code you scanned matches this entry.",
            ));
        } else {
            h.raw("<p class=\"flag\">⚠ ").text(lang.pick(
                "Mã băm trong đường dẫn KHÔNG khớp với bút toán này: biên nhận bạn có không phải của bút toán này.",
                "The leaf hash in the link does NOT match this entry: the receipt you hold is not this entry's.",
            ));
        }
        h.raw("</p>");
    }
}

/// The summary: index, time, statement id, leaf hash and amount.
fn summary_section(
    h: &mut Html,
    index: u64,
    leaf: &Leaf,
    statement: &Statement,
    hash: &merkle::Hash,
    lang: Lang,
) {
    h.raw("<dl class=\"facts\"><dt>")
        .text(lang.pick("Số thứ tự trong sổ", "Index in the log"))
        .raw("</dt><dd>")
        .text(&index.to_string())
        .raw("</dd><dt>")
        .text(lang.pick("Ghi sổ lúc", "Logged at"))
        .raw("</dt><dd>")
        .text(
            &leaf
                .logged_at
                .format("%Y-%m-%d %H:%M:%S%.3f UTC")
                .to_string(),
        )
        .raw("</dd><dt>")
        .text(lang.pick("Mã bút toán", "Statement id"))
        .raw("</dt><dd><code>")
        .text(statement.id().as_str())
        .raw("</code></dd><dt>")
        .text(lang.pick("Mã băm lá (SHA-256)", "Leaf hash (SHA-256)"))
        .raw("</dt><dd><code class=\"wrap\" data-leaf-hash>")
        .text(&hash.to_hex())
        .raw("</code></dd>");
    if let Some(a) = statement_amount(statement) {
        h.raw("<dt>")
            .text(lang.pick("Số lượng", "Amount"))
            .raw("</dt><dd class=\"big\">")
            .text(&a)
            .raw("</dd>");
    }
    h.raw("</dl>");
}

/// The block the script fills in once it has verified the entry.
fn verify_section(h: &mut Html, index: u64, bytes: &[u8], hash: &merkle::Hash, lang: Lang) {
    h.raw("<section class=\"verify\" id=\"verify\" data-verify=\"inclusion\"")
        .attr("data-index", &index.to_string())
        .attr("data-leaf", &BASE64.encode(bytes))
        .attr("data-leaf-hash", &hash.to_hex())
        .raw(" aria-labelledby=\"verify-h\"><h2 id=\"verify-h\">")
        .text(lang.pick(
            "Trình duyệt của bạn tự kiểm tra bút toán này",
            "Your browser checks this entry itself",
        ))
        .raw("</h2><p class=\"status\" role=\"status\" data-status>")
        .text(lang.pick(
            "Chưa kiểm tra: cần bật JavaScript. Bạn cũng có thể tải biên nhận và kiểm tra bằng minhbach-audit receipt.",
            "Not checked: this needs JavaScript. You can also download the receipt and check it with minhbach-audit receipt.",
        ))
        .raw("</p><ol class=\"steps\" data-steps></ol><p class=\"small\">")
        .text(lang.pick(
            "Trình duyệt tính lại mã băm của lá từ chính các byte trên trang, kiểm tra chữ ký Ed25519 của checkpoint bằng khóa công khai của sổ cái (xem trang Khóa ký), rồi tính lại gốc cây Merkle từ bằng chứng bao hàm (RFC 9162).",
            "Your browser recomputes the leaf hash from the bytes on this page, checks the checkpoint's Ed25519 signature with the log's public key (see the Keys page), then recomputes the Merkle root from the inclusion proof (RFC 9162).",
        ))
        .raw("</p></section>");
}

/// The signed statement, field by field, then verbatim.
fn statement_section(
    h: &mut Html,
    s: &crate::books::BooksState,
    fields: &Value,
    payload_text: &str,
    lang: Lang,
) {
    h.raw("<h2>")
        .text(lang.pick("Nội dung đã ký", "The signed statement"))
        .raw("</h2><dl class=\"fields\">");
    if let Value::Object(map) = fields {
        let asset = map.get("asset").and_then(Value::as_str).unwrap_or("");
        for (k, v) in map {
            if matches!(k.as_str(), "type" | "id") {
                continue;
            }
            h.raw("<dt><code>").text(k).raw("</code></dt><dd>");
            field_value(h, s, k, v, asset, lang);
            h.raw("</dd>");
        }
    }
    h.raw("</dl><details><summary>")
        .text(lang.pick("Các byte đã ký, nguyên văn", "The signed bytes, verbatim"))
        .raw("</summary><pre class=\"wrap\" id=\"payload\">")
        .text(payload_text)
        .raw("</pre></details>");
}

/// The signers, as the key registry names them.
fn signers_section(h: &mut Html, s: &crate::books::BooksState, leaf: &Leaf, lang: Lang) {
    h.raw("<h2>")
        .text(lang.pick("Người ký", "Signers"))
        .raw("</h2><div class=\"scroll\"><table class=\"signers\"")
        .attr("data-payload-type", leaf.envelope.payload_type())
        .raw("><thead><tr><th scope=\"col\">")
        .text(lang.pick("Họ tên", "Name"))
        .raw("</th><th scope=\"col\">")
        .text(lang.pick("Chức vụ", "Title"))
        .raw("</th><th scope=\"col\">")
        .text(lang.pick("Vai trò", "Roles"))
        .raw("</th><th scope=\"col\">")
        .text(lang.pick("Mã khóa", "Key id"))
        .raw("</th><th scope=\"col\">")
        .text(lang.pick("Chữ ký", "Signature"))
        .raw("</th></tr></thead><tbody>");
    for sig in leaf.envelope.signatures() {
        let record = s.key(&sig.keyid);
        h.raw("<tr data-signer");
        if let Some(k) = record {
            h.attr("data-pubkey", &k.public_key.to_base64());
        }
        h.attr("data-sig", &BASE64.encode(sig.sig.to_bytes()))
            .raw("><th scope=\"row\">");
        match record {
            Some(k) => {
                h.text(k.name.as_str())
                    .raw("</th>")
                    .td(k.title.as_ref().map_or("", |t| t.as_str()), false)
                    .td(
                        &k.roles
                            .iter()
                            .map(|r| lang.role(*r))
                            .collect::<Vec<_>>()
                            .join(", "),
                        false,
                    );
            }
            None => {
                h.text(lang.pick("(khóa không có trong sổ)", "(key not in the registry)"))
                    .raw("</th><td></td><td></td>");
            }
        }
        h.raw("<td><code class=\"wrap\">")
            .text(&sig.keyid.to_string())
            .raw("</code></td><td data-sig-status>")
            .text(lang.pick("đã được kiểm tra khi ghi sổ", "checked when logged"))
            .raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
}

/// A statement field's value, readable: amounts formatted, regions named,
/// campaigns and entries linked; anything else as compact JSON.
fn field_value(
    h: &mut Html,
    s: &crate::books::BooksState,
    key: &str,
    v: &Value,
    asset: &str,
    lang: Lang,
) {
    match (key, v) {
        ("amount" | "balance", Value::Number(n)) if n.as_u64().is_some() => {
            h.text(&amount(n.as_u64().unwrap_or(0), asset));
        }
        ("region", Value::String(code)) => {
            let name = RegionCode::new(code).map_or_else(|_| code.clone(), |c| region_name(&c));
            h.text(&format!("{name} ({code})"));
        }
        ("campaign" | "from_campaign" | "to_campaign", Value::String(c)) => {
            let name = minhbach_ledger::statement::Slug::new(c)
                .ok()
                .and_then(|slug| s.campaign(&slug).map(|camp| title(camp, lang).to_owned()))
                .unwrap_or_else(|| c.clone());
            h.link(&format!("/campaigns/{}", url_encode(c)), &name);
        }
        ("category", Value::String(c)) => {
            let beneficiary: Option<minhbach_ledger::statement::BeneficiaryCategory> =
                serde_json::from_value(v.clone()).ok();
            let feedback: Option<minhbach_ledger::statement::FeedbackCategory> =
                serde_json::from_value(v.clone()).ok();
            let name = beneficiary
                .map(|b| lang.beneficiary(b))
                .or_else(|| feedback.map(|f| lang.feedback(f)))
                .unwrap_or(c.as_str());
            h.text(name);
        }
        ("channel", Value::String(c)) => {
            let channel: Option<minhbach_ledger::statement::Channel> =
                serde_json::from_value(v.clone()).ok();
            h.text(channel.map_or(c.as_str(), |ch| lang.channel(ch)));
        }
        (_, Value::Object(o)) if o.contains_key("index") && o.contains_key("leaf_hash") => {
            let i = o.get("index").and_then(Value::as_u64).unwrap_or(0);
            h.link(&format!("/entries/{i}"), &format!("#{i}"));
            h.raw(" <code class=\"wrap\">")
                .text(o.get("leaf_hash").and_then(Value::as_str).unwrap_or(""))
                .raw("</code>");
        }
        (_, Value::String(t)) => {
            h.text(t);
        }
        (_, other) => {
            h.raw("<code class=\"wrap\">")
                .text(&other.to_string())
                .raw("</code>");
        }
    }
}

fn trace_section(
    h: &mut Html,
    books: &crate::books::Books,
    index: u64,
    lang: Lang,
) -> Result<(), WebError> {
    // The same computation as `GET /api/v1/donations/{index}/trace`.
    let s = &books.state;
    let Some(t) = books.trace.trace(s, index)? else {
        return Ok(());
    };
    let asset = t.asset.as_str();
    h.raw("<h2 id=\"trace\">")
        .text(lang.pick("Tiền của bạn đã đi đâu", "Where your gift went"))
        .raw("</h2><p>")
        .text(lang.pick(
            "Trong mỗi cuộc vận động, tiền vào xếp hàng theo thứ tự ghi sổ và mỗi khoản chi lấy từ đầu hàng (vào trước, chi trước). Các bước dưới đây là phần của khoản ủng hộ này trong từng khoản chi.",
            "In each campaign, money in queues in log order and each payment takes from the front of the queue (first in, first out). The steps below are this gift's share of each payment.",
        ))
        .raw("</p>");
    if let Some(by) = t.reversed_by {
        h.raw("<p class=\"flag\">⚠ ")
            .text(lang.pick(
                "Khoản ủng hộ này đã bị hủy (ngân hàng hoàn trả) tại bút toán ",
                "This donation was reversed (the bank returned it) at entry ",
            ))
            .link(&format!("/entries/{by}"), &format!("#{by}"))
            .raw("</p>");
    }
    if t.steps.is_empty() {
        h.raw("<p>")
            .text(lang.pick(
                "Chưa được chi: toàn bộ khoản này vẫn nằm trong quỹ.",
                "Not spent yet: all of it is still in the fund.",
            ))
            .raw("</p>");
    } else {
        h.table_head(
            "trace",
            &[
                (lang.pick("Bút toán", "Entry"), false),
                (lang.pick("Việc gì", "What"), false),
                (lang.pick("Nơi nhận", "Where"), false),
                (lang.pick("Phần của bạn", "Your share"), true),
                (lang.pick("Người nhận xác nhận", "Acknowledged"), false),
            ],
        );
        for step in &t.steps {
            let what = match &step.kind {
                FlowKind::Disbursed => lang.pick("Chi hỗ trợ", "Paid out").to_owned(),
                FlowKind::CoveredReversal { donation } => format!(
                    "{} #{donation}",
                    lang.pick("Bù cho khoản bị hủy", "Covered the reversal of")
                ),
                FlowKind::DonationReversed => lang
                    .pick("Hoàn trả (khoản bị hủy)", "Returned (reversed)")
                    .to_owned(),
                FlowKind::Restored { disbursement } => format!(
                    "{} #{disbursement}",
                    lang.pick(
                        "Trả lại quỹ do hủy khoản chi",
                        "Back in the fund: reversal of"
                    )
                ),
                FlowKind::Transferred { to } => format!(
                    "{} {}",
                    lang.pick("Điều chuyển sang", "Transferred to"),
                    to.as_str()
                ),
                _ => lang.pick("Khác", "Other").to_owned(),
            };
            let place = s
                .disbursement_record(step.at)?
                .map(|d| region_name(&d.region))
                .unwrap_or_default();
            let ack = match &step.ack {
                Some(AckStatus::Acknowledged) => {
                    format!("✓ {}", lang.pick("đã nhận đủ", "received in full"))
                }
                Some(AckStatus::Unacknowledged) => lang.pick("chưa xác nhận", "not yet").to_owned(),
                Some(AckStatus::Partial { acknowledged, of }) => format!(
                    "{} {} / {}",
                    lang.pick("một phần:", "partly:"),
                    group(*acknowledged),
                    group(*of)
                ),
                Some(AckStatus::Reversed { by }) => format!(
                    "{} #{by}",
                    lang.pick("khoản chi đã bị hủy tại", "payment reversed at")
                ),
                _ => String::new(),
            };
            h.raw("<tr><td>")
                .link(&format!("/entries/{}", step.at), &format!("#{}", step.at))
                .raw("</td>")
                .td(&what, false)
                .td(&place, false)
                .td(&amount(step.amount, asset), true)
                .td(&ack, false)
                .raw("</tr>");
        }
        h.raw("</tbody></table></div>");
    }
    h.raw("<p>")
        .text(&format!(
            "{}: {} / {}",
            lang.pick("Còn chưa chi", "Still unspent"),
            amount(t.unspent, asset),
            amount(t.amount, asset)
        ))
        .raw("</p>");
    Ok(())
}

fn receipt_section(
    h: &mut Html,
    state: &AppState,
    ctx: &Ctx,
    index: u64,
    leaf_hex: &str,
) -> Result<(), WebError> {
    let lang = ctx.lang;
    let receipt = crate::write::receipt(&state.view(), index)?;
    let receipt_bytes = receipt.to_string().len();
    let link = format!("{}/entries/{index}?leaf={leaf_hex}", ctx.base);
    h.raw("<h2 id=\"receipt\">")
        .text(lang.pick("Biên nhận", "Receipt"))
        .raw("</h2><p>")
        .text(lang.pick(
            "Biên nhận gồm bút toán và bằng chứng rằng nó nằm trong sổ cái (bằng chứng bao hàm và checkpoint có chữ ký). Ai cũng kiểm tra được, không cần mạng, chỉ với khóa công khai của sổ cái.",
            "The receipt holds the entry and the proof that it is in the log (an inclusion proof and the signed checkpoint). Anyone can check it offline with only the log's public key.",
        ))
        .raw("</p><p><a class=\"button\"")
        .attr("href", &format!("/api/v1/receipts/{index}"))
        .attr("download", &format!("minhbach-receipt-{index}.json"))
        .raw(">")
        .text(lang.pick("Tải biên nhận (JSON)", "Download the receipt (JSON)"))
        .raw("</a> <code>minhbach-audit receipt minhbach-receipt-")
        .text(&index.to_string())
        .raw(".json --policy policy</code></p>");
    if let Some(svg) = qr::svg(&link, &link, 200) {
        h.raw("<figure class=\"qr\">")
            .raw(&svg)
            .raw("<figcaption>")
            .text(&format!(
                "{} {} {}",
                lang.pick(
                    "Mã QR này chứa đường dẫn đến bút toán kèm mã băm của lá, không chứa cả biên nhận: biên nhận dài",
                    "This QR code holds a link to the entry with its leaf hash, not the whole receipt: the receipt is",
                ),
                group(receipt_bytes as u64),
                lang.pick(
                    "byte, quá dài để quét chắc chắn. Trang mở ra sẽ so mã băm và tự kiểm tra lại.",
                    "bytes, too long to scan reliably. The page it opens compares the hash and checks everything again.",
                ),
            ))
            .raw("<br><code class=\"wrap\" data-receipt-link>")
            .text(&link)
            .raw("</code></figcaption></figure>");
    }
    Ok(())
}
