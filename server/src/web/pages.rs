//! The explorer's reading pages: campaigns, one campaign, the key registry,
//! receiving accounts and feedback statistics. Figures come from the books
//! through the same functions the JSON API uses ([`crate::books_api`],
//! [`minhbach_ledger::summary`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::books::BooksState as RulesState;
use axum::extract::{Path, State};
use axum::response::Response;
use minhbach_ledger::region::RegionCode;
use minhbach_ledger::rules::Campaign;
use minhbach_ledger::statement::{Slug, Statement};
use minhbach_ledger::summary::{self, AssetSummary};

use super::html::{Html, amount, group, percent, url_encode};
use super::i18n::Lang;
use super::{Ctx, Page, WebError, qr, render, vietqr};
use crate::AppState;
use crate::books_api::{campaigns_by_priority, feedback_now};

/// A commune whose published cells show fewer than this share of enrolled
/// households reached is marked under-served.
const UNDER_SERVED_PERCENT: u64 = 50;

/// A region's official name, with its code.
pub(super) fn region_name(code: &RegionCode) -> String {
    code.info()
        .map_or_else(|| code.as_str().to_owned(), |i| i.name.to_owned())
}

fn region_name_str(code: &str) -> String {
    RegionCode::new(code).map_or_else(|_| code.to_owned(), |c| region_name(&c))
}

/// A campaign's title in `lang` (Vietnamese when it has no English one).
pub(super) fn title(c: &Campaign, lang: Lang) -> &str {
    match (lang, &c.title.en) {
        (Lang::En, Some(en)) => en.as_str(),
        _ => c.title.vi.as_str(),
    }
}

/// `GET /`.
pub(crate) async fn home(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(state, ctx, home_page).await
}

fn home_page(state: &AppState, ctx: &Ctx) -> Result<Page, WebError> {
    let lang = ctx.lang;
    let books = state.books().read();
    let s = &books.state;
    let mut h = Html::new();
    h.raw("<h1>")
        .text(lang.pick(
            "Các cuộc vận động, theo mức ưu tiên",
            "Campaigns, by priority",
        ))
        .raw("</h1>");
    h.raw("<p class=\"lead\">")
        .text(lang.pick(
            "Mọi khoản ủng hộ nhận được và mọi khoản chi hỗ trợ đều là một bút toán có chữ ký trong một sổ cái chỉ ghi thêm, không sửa được. Bấm vào một cuộc vận động để xem tiền đã đến đâu.",
            "Every donation received and every payment of aid is a signed entry in an append-only log that cannot be rewritten. Open a campaign to see where the money went.",
        ))
        .raw("</p>");
    checkpoint_box(&mut h, lang);
    let list = campaigns_by_priority(s);
    if list.is_empty() {
        h.raw("<p>")
            .text(lang.pick(
                "Chưa có cuộc vận động nào.",
                "No campaign has been opened yet.",
            ))
            .raw("</p>");
    }
    h.raw("<ol class=\"campaigns\">");
    for slug in list {
        let (Some(c), Some(sum)) = (s.campaign(slug), summary::campaign(s, slug)) else {
            continue;
        };
        h.raw("<li><article class=\"card\"><h2>")
            .link(
                &format!("/campaigns/{}", url_encode(slug.as_str())),
                title(c, lang),
            )
            .raw("</h2>");
        cause_line(&mut h, c, lang);
        totals_table(&mut h, &sum.assets, lang);
        h.raw("</article></li>");
    }
    h.raw("</ol>");
    Ok(Page::ok(lang.pick("Các cuộc vận động", "Campaigns"), h))
}

/// The box where the script reports on the checkpoint's signature.
fn checkpoint_box(h: &mut Html, lang: Lang) {
    h.raw("<section class=\"verify\" data-verify=\"checkpoint\" aria-labelledby=\"verify-h\"><h2 id=\"verify-h\">")
        .text(lang.pick("Kiểm tra chữ ký của sổ cái", "Checking the log's signature"))
        .raw("</h2><p class=\"status\" role=\"status\" data-status>")
        .text(lang.pick(
            "Cần JavaScript để trình duyệt tự kiểm tra chữ ký; trang vẫn đọc được khi không có.",
            "Your browser checks the signature itself when JavaScript is on; the page reads fine without it.",
        ))
        .raw("</p><ol class=\"steps\" data-steps></ol></section>");
}

fn cause_line(h: &mut Html, c: &Campaign, lang: Lang) {
    h.raw("<p class=\"meta\"><span class=\"badge\">")
        .text(lang.pick("Ưu tiên ", "Priority "))
        .text(&c.priority.get().to_string())
        .raw("</span> ")
        .text(lang.cause(c.cause.kind))
        .raw(": ")
        .text(c.cause.name.as_str());
    if let Some(d) = c.cause.date {
        h.text(&format!(" ({})", d.format("%d/%m/%Y")));
    }
    if !c.cause.regions.is_empty() {
        let names: Vec<String> = c.cause.regions.iter().map(region_name).collect();
        h.raw(" · ")
            .text(lang.pick("Vùng: ", "Regions: "))
            .text(&names.join(", "));
    }
    if c.closed_at.is_some() {
        h.raw(" · <strong>")
            .text(lang.pick("đã kết thúc", "closed"))
            .raw("</strong>");
    }
    h.raw("</p>");
}

/// Received, disbursed, balance and progress per asset.
fn totals_table(h: &mut Html, assets: &[AssetSummary], lang: Lang) {
    h.table_head(
        "totals",
        &[
            (lang.pick("Loại", "Asset"), false),
            (lang.pick("Đã nhận", "Received"), true),
            (lang.pick("Đã chi", "Disbursed"), true),
            (lang.pick("Còn lại", "Balance"), true),
        ],
    );
    for a in assets {
        let asset = a.asset.as_str();
        h.raw("<tr><th scope=\"row\">")
            .text(asset_name(asset, lang))
            .raw("</th>")
            .td(&amount(a.total_in, asset), true)
            .td(&amount(a.disbursed, asset), true)
            .td(&amount(a.balance, asset), true)
            .raw("</tr>");
    }
    h.raw("</tbody></table></div>");
    for a in assets {
        let p = percent(a.disbursed, a.total_in);
        let label = format!(
            "{} {}: {p} %",
            asset_name(a.asset.as_str(), lang),
            lang.pick("đã chi", "disbursed")
        );
        h.raw("<p class=\"progress\">")
            .text(&label)
            .raw(" <progress max=\"100\"")
            .attr("value", &p.to_string())
            .attr("aria-label", &label)
            .raw("></progress></p>");
    }
}

fn asset_name(asset: &str, lang: Lang) -> &str {
    match asset {
        "VND" => lang.pick("Tiền (₫)", "Money (₫)"),
        "kg_rice" => lang.pick("Gạo (kg)", "Rice (kg)"),
        other => other,
    }
}

/// A horizontal bar chart as inline SVG (decorative: a table beside it
/// holds the same figures for screen readers).
fn bar_chart(rows: &[(String, u64)], asset: &str) -> String {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let row_h = 30;
    let height = rows.len() * row_h + 4;
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 480 {height}\" \
         aria-hidden=\"true\" focusable=\"false\">"
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i * row_h + 2;
        // Bars span 0–170 units; `max` ≥ every value, so this stays in range.
        let w = u64::try_from(u128::from(*value) * 170 / u128::from(max)).unwrap_or(170);
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" class=\"l\">{}</text><rect x=\"150\" y=\"{}\" width=\"{}\" \
             height=\"{}\" rx=\"2\"/><text x=\"{}\" y=\"{}\" class=\"v\">{}</text>",
            y + 20,
            super::esc(&truncate(short_name(label), 16)),
            y + 4,
            w.max(1),
            row_h - 8,
            156 + w,
            y + 20,
            super::esc(&amount(*value, asset)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A province's name without its kind, for chart labels: `Lào Cai`, `Huế`.
fn short_name(name: &str) -> &str {
    ["Tỉnh ", "Thành phố "]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

/// `GET /campaigns/{id}`.
pub(crate) async fn campaign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Response {
    render(state, ctx, move |s, c| campaign_page(s, c, &id)).await
}

fn campaign_page(state: &AppState, ctx: &Ctx, id: &str) -> Result<Page, WebError> {
    let lang = ctx.lang;
    let slug = Slug::new(id).map_err(|_| {
        WebError::NotFound(format!(
            "{} {id}",
            lang.pick("Không có cuộc vận động", "There is no campaign")
        ))
    })?;
    let (mut h, recent, name) = {
        let books = state.books().read();
        let s = &books.state;
        let (Some(c), Some(sum)) = (s.campaign(&slug), summary::campaign(s, &slug)) else {
            return Err(WebError::NotFound(format!(
                "{} {id}",
                lang.pick("Không có cuộc vận động", "There is no campaign")
            )));
        };
        let name = title(c, lang).to_owned();
        let mut h = Html::new();
        h.raw("<p class=\"crumbs\">")
            .link("/", lang.pick("Các cuộc vận động", "Campaigns"))
            .raw("</p><h1>")
            .text(&name)
            .raw("</h1>");
        cause_line(&mut h, c, lang);
        h.raw("<h2>")
            .text(lang.pick("Tổng thu, chi", "Money in and out"))
            .raw("</h2>");
        totals_table(&mut h, &sum.assets, lang);
        for a in &sum.assets {
            let asset = a.asset.as_str();
            h.raw("<p class=\"meta\">")
                .text(&format!(
                    "{}: {} {} ({}) · {}: {} · {}: {}",
                    asset_name(asset, lang),
                    group(a.donation_count),
                    lang.pick("khoản ủng hộ", "donations"),
                    amount(a.donated, asset),
                    lang.pick("bị hoàn trả", "reversed"),
                    amount(a.donations_reversed, asset),
                    lang.pick("người nhận đã xác nhận", "acknowledged by recipients"),
                    amount(a.acknowledged, asset),
                ))
                .raw("</p>");
        }
        flows(&mut h, &sum.assets, lang);
        coverage(&mut h, s, c, lang);
        accounts_list(&mut h, s, &slug, lang);
        policy(&mut h, c, lang);
        let recent: Vec<_> = books.recent.of(&slug).collect();
        (h, recent, name)
    };
    h.raw("<h2 id=\"recent\">")
        .text(lang.pick("Bút toán gần đây", "Recent entries"))
        .raw("</h2>");
    if recent.is_empty() {
        h.raw("<p>")
            .text(lang.pick("Chưa có bút toán.", "No entries yet."))
            .raw("</p>");
    } else {
        h.table_head(
            "",
            &[
                ("#", false),
                (lang.pick("Loại", "Type"), false),
                (lang.pick("Ghi sổ lúc (UTC)", "Logged at (UTC)"), false),
                (lang.pick("Số lượng", "Amount"), true),
            ],
        );
        let view = state.view();
        for (index, kind) in recent {
            let bytes = match crate::api::leaf_at(&view, index) {
                // Committed, not yet covered by a published checkpoint.
                Err(crate::error::ApiError::NotFound(_)) => continue,
                other => other?,
            };
            let leaf = minhbach_ledger::leaf::Leaf::parse(&bytes)
                .map_err(|e| WebError::Internal(e.to_string()))?;
            let amount_text = Statement::from_json(leaf.envelope.payload())
                .ok()
                .and_then(|st| statement_amount(&st))
                .unwrap_or_default();
            h.raw("<tr><td>")
                .link(&format!("/entries/{index}"), &index.to_string())
                .raw("</td>")
                .td(lang.kind(kind), false)
                .td(
                    &leaf.logged_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    false,
                )
                .td(&amount_text, true)
                .raw("</tr>");
        }
        h.raw("</tbody></table></div>");
    }
    Ok(Page::ok(name, h))
}

/// The amount a statement moves, formatted, if it moves one.
pub(super) fn statement_amount(s: &Statement) -> Option<String> {
    match s {
        Statement::Donation(d) => Some(amount(d.amount.get(), d.asset.as_str())),
        Statement::Disbursement(d) => Some(amount(d.amount.get(), d.asset.as_str())),
        Statement::Transfer(t) => Some(amount(t.amount.get(), t.asset.as_str())),
        Statement::Acknowledgment(a) => Some(group(a.amount.get())),
        Statement::AccountBalance(b) => Some(amount(b.balance.get(), "VND")),
        _ => None,
    }
}

/// Net disbursed by province (table and chart) and by commune (table).
fn flows(h: &mut Html, assets: &[AssetSummary], lang: Lang) {
    h.raw("<h2 id=\"flows\">")
        .text(lang.pick(
            "Đã chi theo tỉnh và xã",
            "Disbursed by province and commune",
        ))
        .raw("</h2>");
    let mut any = false;
    for a in assets.iter().filter(|a| !a.by_province.is_empty()) {
        any = true;
        let asset = a.asset.as_str();
        let rows: Vec<(String, u64)> = a
            .by_province
            .iter()
            .map(|(code, v)| (region_name_str(code), *v))
            .collect();
        h.raw("<figure><figcaption>")
            .text(lang.pick("Theo tỉnh, thành phố", "By province"))
            .text(&format!(" — {}", asset_name(asset, lang)))
            .raw("</figcaption>")
            .raw(&bar_chart(&rows, asset))
            .raw("</figure>")
            .table_head(
                "",
                &[
                    (lang.pick("Tỉnh, thành phố", "Province"), false),
                    (lang.pick("Đã chi", "Disbursed"), true),
                ],
            );
        for (name, v) in &rows {
            h.raw("<tr><th scope=\"row\">")
                .text(name)
                .raw("</th>")
                .td(&amount(*v, asset), true)
                .raw("</tr>");
        }
        h.raw("</tbody></table></div>");
        if !a.by_commune.is_empty() {
            h.raw("<div class=\"scroll\"><table><caption>")
                .text(lang.pick("Theo xã, phường", "By commune"))
                .text(&format!(" — {}", asset_name(asset, lang)))
                .raw("</caption><thead><tr><th scope=\"col\">")
                .text(lang.pick("Xã, phường", "Commune"))
                .raw("</th><th scope=\"col\">")
                .text(lang.pick("Tỉnh", "Province"))
                .raw("</th><th scope=\"col\" class=\"num\">")
                .text(lang.pick("Đã chi", "Disbursed"))
                .raw("</th></tr></thead><tbody>");
            for (code, v) in &a.by_commune {
                let province = RegionCode::new(code)
                    .map(|c| region_name(&c.province()))
                    .unwrap_or_default();
                h.raw("<tr><th scope=\"row\">")
                    .text(&region_name_str(code))
                    .raw("</th>")
                    .td(&province, false)
                    .td(&amount(*v, asset), true)
                    .raw("</tr>");
            }
            h.raw("</tbody></table></div>");
        }
    }
    if !any {
        h.raw("<p>")
            .text(lang.pick("Chưa có khoản chi nào.", "Nothing disbursed yet."))
            .raw("</p>");
    }
}

/// Households reached versus enrolled per commune of the campaign's regions,
/// from the published (suppressed) coverage cells only.
fn coverage(h: &mut Html, s: &RulesState, c: &Campaign, lang: Lang) {
    h.raw("<h2 id=\"coverage\">")
        .text(lang.pick(
            "Số hộ đã được hỗ trợ so với số hộ được ghi danh",
            "Households reached versus enrolled",
        ))
        .raw("</h2><p>")
        .text(lang.pick(
            "Tính từ các ô số liệu công bố theo xã và diện hỗ trợ; ô có dưới 3 hộ không được công bố để không thể nhận ra từng hộ, nên không được cộng vào. Người thụ hưởng chỉ xuất hiện dưới dạng mã cam kết, không có thông tin cá nhân.",
            "Summed from the published cells per commune and category; cells of fewer than 3 households are suppressed so that no household can be singled out, and are not added in. Beneficiaries appear only as commitments, never with personal data.",
        ))
        .raw("</p>");
    let cells = summary::coverage(s, summary::DEFAULT_MIN_CELL);
    // commune → (enrolled, reached, suppressed cells)
    let mut by_commune: BTreeMap<String, (u64, u64, u32)> = BTreeMap::new();
    for cell in cells {
        let Ok(code) = RegionCode::new(&cell.commune) else {
            continue;
        };
        if !c
            .cause
            .regions
            .iter()
            .any(|r| r.contains(&code) || *r == code)
        {
            continue;
        }
        let e = by_commune.entry(cell.commune).or_default();
        match (cell.enrolled, cell.reached) {
            (Some(en), Some(re)) => {
                e.0 += en;
                e.1 += re;
            }
            _ => e.2 += 1,
        }
    }
    if by_commune.is_empty() {
        h.raw("<p>")
            .text(lang.pick(
                "Chưa có hộ nào được ghi danh trong vùng của cuộc vận động.",
                "No household is enrolled in the campaign's regions yet.",
            ))
            .raw("</p>");
        return;
    }
    h.table_head(
        "coverage",
        &[
            (lang.pick("Xã, phường", "Commune"), false),
            (lang.pick("Ghi danh", "Enrolled"), true),
            (lang.pick("Đã hỗ trợ", "Reached"), true),
            (lang.pick("Tỷ lệ", "Share"), false),
        ],
    );
    for (commune, (enrolled, reached, suppressed)) in by_commune {
        let p = percent(reached, enrolled);
        let under = enrolled > 0 && p < UNDER_SERVED_PERCENT;
        h.raw(if under {
            "<tr class=\"under\">"
        } else {
            "<tr>"
        })
        .raw("<th scope=\"row\">")
        .text(&region_name_str(&commune));
        if suppressed > 0 {
            h.raw(" <small>")
                .text(&format!(
                    "({suppressed} {})",
                    lang.pick("ô ẩn", "cells suppressed")
                ))
                .raw("</small>");
        }
        h.raw("</th>");
        if enrolled == 0 {
            h.td("—", true).td("—", true).td("", false);
        } else {
            h.td(&group(enrolled), true)
                .td(&group(reached), true)
                .raw("<td><progress max=\"100\"")
                .attr("value", &p.to_string())
                .attr("aria-label", &format!("{p} %"))
                .raw("></progress> ")
                .text(&format!("{p} %"));
            if under {
                h.raw(" <strong class=\"flag\">⚠ ")
                    .text(lang.pick("ít được hỗ trợ", "under-served"))
                    .raw("</strong>");
            }
            h.raw("</td>");
        }
        h.raw("</tr>");
    }
    h.raw("</tbody></table></div>");
}

fn accounts_list(h: &mut Html, s: &RulesState, slug: &Slug, lang: Lang) {
    h.raw("<h2 id=\"accounts\">")
        .text(lang.pick(
            "Tài khoản nhận ủng hộ chính thức",
            "Official receiving accounts",
        ))
        .raw("</h2><ul>");
    let mut any = false;
    for (id, a) in s.accounts().filter(|(_, a)| &a.campaign == slug) {
        any = true;
        h.raw("<li>").link(
            &format!("/accounts#account-{}", url_encode(id.as_str())),
            &format!(
                "{} {} — {}",
                a.institution.as_str(),
                a.number,
                a.holder.as_str()
            ),
        );
        if a.closed_at.is_some() {
            h.text(lang.pick(" (đã đóng)", " (closed)"));
        }
        h.raw("</li>");
    }
    if !any {
        h.raw("<li>")
            .text(lang.pick("Chưa đăng ký tài khoản nào.", "No account registered."))
            .raw("</li>");
    }
    h.raw("</ul>");
}

fn policy(h: &mut Html, c: &Campaign, lang: Lang) {
    h.raw("<h2>")
        .text(lang.pick(
            "Quy định phê duyệt và định mức",
            "Approval policy and unit rates",
        ))
        .raw("</h2><ul>");
    for (asset, tiers) in &c.policy.0 {
        for t in tiers {
            h.raw("<li>").text(&format!(
                "{} {} {}: {} {}",
                lang.pick("Khoản chi từ", "Payments from"),
                amount(t.from, asset.as_str()),
                lang.pick("trở lên", "up"),
                t.approvals,
                lang.pick("người phê duyệt ký", "approvers sign"),
            ));
            h.raw("</li>");
        }
    }
    for r in &c.unit_rates {
        h.raw("<li>")
            .text(&format!(
                "{} {}: {}",
                lang.pick("Định mức", "Unit rate"),
                r.category.as_str(),
                amount(r.amount.get(), r.asset.as_str())
            ))
            .raw("</li>");
    }
    h.raw("</ul>");
}

/// `GET /keys`.
pub(crate) async fn keys(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(state, ctx, keys_page).await
}

fn keys_page(state: &AppState, ctx: &Ctx) -> Result<Page, WebError> {
    let lang = ctx.lang;
    let vkey = state.verifier().to_string();
    let origin = state.origin().to_owned();
    let mut h = Html::new();
    h.raw("<h1>")
        .text(lang.pick("Khóa ký", "Signing keys"))
        .raw("</h1><h2 id=\"log-key\">")
        .text(lang.pick("Khóa công khai của sổ cái", "The log's public key"))
        .raw("</h2><p>")
        .text(lang.pick(
            "Máy chủ ký mỗi checkpoint (bản tóm tắt toàn bộ sổ cái) bằng khóa này. Trình duyệt của bạn dùng nó để kiểm tra chữ ký; minhbach-audit và các công cụ C2SP khác cũng vậy.",
            "The server signs every checkpoint (a summary of the whole log) with this key. Your browser uses it to check signatures; so do minhbach-audit and other C2SP tools.",
        ))
        .raw("</p><pre class=\"key\" id=\"verifier-key\">")
        .text(&vkey)
        .raw("</pre><h3>")
        .text(lang.pick("Tự kiểm tra khóa này", "Check this key yourself"))
        .raw("</h3><ol><li>")
        .text(lang.pick(
            "So sánh từng ký tự với khóa được công bố ở một nơi khác mà máy chủ này không kiểm soát: văn bản chính thức của Ủy ban MTTQ, báo in, trang của các bên làm chứng (witness). Một trang web giả có thể hiện một khóa khác, nên đừng chỉ tin trang này.",
            "Compare it, character by character, with the key published somewhere this server does not control: the Front committee's official notice, a newspaper, the witnesses' own sites. A fake site could show another key, so do not trust this page alone.",
        ))
        .raw("</li><li>")
        .text(lang.pick(
            "Dạng khóa là tên‖mã‖dữ liệu (C2SP signed-note): tên là gốc của sổ cái (",
            "Its form is name+hash+data (C2SP signed-note): the name is the log's origin (",
        ))
        .raw("<code>")
        .text(&origin)
        .raw("</code>")
        .text(lang.pick(
            "), mã là 4 byte đầu của SHA-256(tên ‖ 0x0A ‖ 0x01 ‖ khóa), dữ liệu là base64 của 0x01 ‖ khóa Ed25519 32 byte. Trình duyệt tính lại mã này trước khi dùng khóa.",
            "), the hash is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key), the data is base64 of 0x01 ‖ the 32-byte Ed25519 key. Your browser recomputes the hash before it uses the key.",
        ))
        .raw("</li><li>")
        .text(lang.pick(
            "Kiểm tra độc lập toàn bộ sổ cái với một tệp chính sách chỉ chứa khóa này:",
            "Audit the whole log independently with a policy file holding only this key:",
        ))
        .raw("<pre>");
    h.raw(&format!(
        "printf 'log %s\\nquorum none\\n' '{}' &gt; policy\nminhbach-audit check --url {} --policy policy --state state.json",
        super::esc(&vkey),
        super::esc(&ctx.base)
    ));
    h.raw("</pre></li></ol>");
    let books = state.books().read();
    let s = &books.state;
    h.raw("<h2 id=\"officials\">")
        .text(lang.pick("Khóa của cán bộ", "Officials' keys"))
        .raw("</h2><p>")
        .text(lang.pick(
            "Khóa của cán bộ được cấp và thu hồi ngay trong sổ cái, bởi nhóm quản trị",
            "Officials' keys are granted and revoked inside the log, by the governance quorum",
        ));
    if let Some(cfg) = s.config() {
        h.text(&format!(
            " ({} {})",
            cfg.threshold,
            lang.pick("chữ ký trở lên", "signatures or more")
        ));
    }
    h.raw(". ")
        .text(lang.pick(
            "Máy chủ không giữ khóa nào trong số này nên không thể giả mạo một khoản ủng hộ hay một khoản chi.",
            "The server holds none of these keys, so it cannot forge a donation or a payment.",
        ))
        .raw("</p>")
.table_head("", &[(lang.pick("Họ tên", "Name"), false), (lang.pick("Chức vụ", "Title"), false), (lang.pick("Vai trò", "Roles"), false), (lang.pick("Phạm vi", "Scope"), false), (lang.pick("Mã khóa", "Key id"), false), (lang.pick("Cấp / thu hồi", "Granted / revoked"), false)]);
    let mut keys = s.keys();
    keys.sort_by_key(|(_, k)| k.granted_at);
    for (keyid, k) in keys {
        let roles: Vec<&str> = k.roles.iter().map(|r| lang.role(*r)).collect();
        let mut scope = Vec::new();
        if let Some(c) = &k.scope.campaigns {
            scope.extend(c.iter().map(|c| c.as_str().to_owned()));
        }
        if let Some(r) = &k.scope.regions {
            scope.extend(r.iter().map(region_name));
        }
        let scope = if scope.is_empty() {
            lang.pick("toàn bộ", "everywhere").to_owned()
        } else {
            scope.join(", ")
        };
        h.raw(if k.revoked_at.is_some() {
            "<tr class=\"revoked\">"
        } else {
            "<tr>"
        })
        .raw("<th scope=\"row\">")
        .text(k.name.as_str())
        .raw("</th>")
        .td(k.title.as_ref().map_or("", |t| t.as_str()), false)
        .td(&roles.join(", "), false)
        .td(&scope, false)
        .raw("<td><code>")
        .text(&keyid.to_string())
        .raw("</code></td><td>")
        .link(
            &format!("/entries/{}", k.granted_at),
            &format!("#{}", k.granted_at),
        );
        if let Some(r) = k.revoked_at {
            h.raw(" / ")
                .text(lang.pick("thu hồi ", "revoked "))
                .link(&format!("/entries/{r}"), &format!("#{r}"));
        }
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
    Ok(Page::ok(lang.pick("Khóa ký", "Signing keys"), h))
}

/// `GET /accounts`.
pub(crate) async fn accounts(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(state, ctx, accounts_page).await
}

fn accounts_page(state: &AppState, ctx: &Ctx) -> Result<Page, WebError> {
    let lang = ctx.lang;
    let books = state.books().read();
    let s = &books.state;
    let mut h = Html::new();
    h.raw("<h1>")
        .text(lang.pick("Tài khoản nhận ủng hộ chính thức", "Official receiving accounts"))
        .raw("</h1><p class=\"lead\">")
        .text(lang.pick(
            "Chỉ những tài khoản dưới đây được đăng ký trong sổ cái, bằng chữ ký của nhóm quản trị. Kẻ lừa đảo thường dùng tài khoản có tên gần giống: hãy so từng chữ số của số tài khoản và tên ngân hàng trước khi chuyển tiền. Mã VietQR dưới mỗi tài khoản điền sẵn đúng ngân hàng, số tài khoản và mã cuộc vận động.",
            "Only the accounts below are registered in the log, signed by the governance quorum. Scammers use look-alike accounts: compare every digit of the account number and the bank before you transfer. The VietQR code under each account prefills exactly that bank, account number and the campaign's code.",
        ))
        .raw("</p>");
    for slug in campaigns_by_priority(s) {
        let Some(c) = s.campaign(slug) else { continue };
        let list: Vec<_> = s.accounts().filter(|(_, a)| &a.campaign == slug).collect();
        if list.is_empty() {
            continue;
        }
        h.raw("<h2>")
            .link(
                &format!("/campaigns/{}", url_encode(slug.as_str())),
                title(c, lang),
            )
            .raw("</h2><ul class=\"accounts\">");
        for (id, a) in list {
            account_card(&mut h, id, a, slug, lang);
        }
        h.raw("</ul>");
    }
    mismatches_section(&mut h, s, lang);
    Ok(Page::ok(
        lang.pick("Tài khoản nhận", "Receiving accounts"),
        h,
    ))
}

/// One registered account: its bank, number, holder, balance and last
/// reconciliation, then its VietQR code (or a warning, once closed).
fn account_card(
    h: &mut Html,
    id: &Slug,
    a: &minhbach_ledger::rules::Account,
    slug: &Slug,
    lang: Lang,
) {
    h.raw("<li class=\"card account\"")
        .attr("id", &format!("account-{}", id.as_str()))
        .raw("><h3>")
        .text(a.institution.as_str())
        .raw("</h3><dl><dt>")
        .text(lang.pick("Số tài khoản", "Account number"))
        .raw("</dt><dd class=\"acct\">")
        .text(&a.number)
        .raw("</dd><dt>")
        .text(lang.pick("Chủ tài khoản", "Holder"))
        .raw("</dt><dd>")
        .text(a.holder.as_str())
        .raw("</dd><dt>")
        .text(lang.pick("Số dư theo sổ cái", "Balance by the ledger"))
        .raw("</dt><dd>")
        .text(&amount(a.derived, a.asset.as_str()))
        .raw("</dd><dt>")
        .text(lang.pick("Đối chiếu ngân hàng gần nhất", "Last bank reconciliation"))
        .raw("</dt><dd>");
    match &a.last {
        None => {
            h.text(lang.pick("chưa có", "none yet"));
        }
        Some(r) => {
            h.text(&r.date.format("%d/%m/%Y").to_string()).raw(": ");
            if r.matches() {
                h.text(lang.pick("✓ khớp với ngân hàng", "✓ matches the bank"));
            } else {
                h.raw("<strong class=\"flag\">").text(&format!(
                    "⚠ {} {} {} {}",
                    lang.pick("ngân hàng báo", "the bank reports"),
                    amount(r.bank_balance, "VND"),
                    lang.pick(", sổ cái tính", ", the ledger derives"),
                    amount(r.ledger_balance, "VND"),
                ));
                h.raw("</strong>");
            }
            h.raw(" (")
                .link(&format!("/entries/{}", r.index), &format!("#{}", r.index))
                .raw(")");
        }
    }
    h.raw("</dd><dt>")
        .text(lang.pick("Đăng ký tại bút toán", "Registered at entry"))
        .raw("</dt><dd>")
        .link(
            &format!("/entries/{}", a.registered_at),
            &format!("#{}", a.registered_at),
        )
        .raw("</dd></dl>");
    if a.closed_at.is_some() {
        h.raw("<p class=\"flag\">")
            .text(lang.pick(
                "Tài khoản này đã đóng: đừng chuyển tiền vào đây.",
                "This account is closed: do not send money to it.",
            ))
            .raw("</p>");
    } else {
        vietqr_block(h, a.institution.as_str(), &a.number, slug, lang);
    }
    h.raw("</li>");
}

/// Every reconciliation whose bank balance differed from the ledger's.
fn mismatches_section(h: &mut Html, s: &RulesState, lang: Lang) {
    let mismatches = summary::mismatches(s);
    h.raw("<h2 id=\"mismatches\">")
        .text(lang.pick("Các lần số dư không khớp", "Balances that did not match"))
        .raw("</h2>");
    if mismatches.is_empty() {
        h.raw("<p>")
            .text(lang.pick("Không có.", "None."))
            .raw("</p>");
    } else {
        h.raw("<ul>");
        for r in mismatches {
            h.raw("<li class=\"flag\">⚠ ")
                .link(&format!("/entries/{}", r.index), &format!("#{}", r.index))
                .text(&format!(
                    " {} {}: {} {} / {} {}",
                    r.account.as_str(),
                    r.date.format("%d/%m/%Y"),
                    lang.pick("ngân hàng", "bank"),
                    amount(r.bank_balance, "VND"),
                    lang.pick("sổ cái", "ledger"),
                    amount(r.ledger_balance, "VND"),
                ))
                .raw("</li>");
        }
        h.raw("</ul>");
    }
}

fn vietqr_block(h: &mut Html, institution: &str, number: &str, campaign: &Slug, lang: Lang) {
    let purpose = campaign.as_str().chars().take(25).collect::<String>();
    let payload = vietqr::bank_bin(institution)
        .and_then(|bin| vietqr::payload(bin, number, None, Some(&purpose)).ok());
    let Some(payload) = payload else {
        h.raw("<p>")
            .text(lang.pick(
                "Không tạo được mã VietQR cho tài khoản này (ngân hàng chưa có trong danh sách mã BIN).",
                "No VietQR code for this account (its bank is not in our list of BINs).",
            ))
            .raw("</p>");
        return;
    };
    let label = format!(
        "VietQR {} {} {}",
        institution,
        number,
        lang.pick("nội dung", "purpose")
    );
    if let Some(svg) = qr::svg(&payload, &label, 176) {
        h.raw("<figure class=\"qr\">")
            .raw(&svg)
            .raw("<figcaption>")
            .text(lang.pick(
                "Quét bằng ứng dụng ngân hàng. Nội dung chuyển khoản: ",
                "Scan with your banking app. Transfer purpose: ",
            ))
            .raw("<code>")
            .text(&purpose)
            .raw("</code>. ")
            .text(lang.pick(
                "Ứng dụng phải hiện đúng số tài khoản ở trên.",
                "Your app must show exactly the account number above.",
            ))
            .raw("<details><summary>")
            .text(lang.pick("Dữ liệu mã QR", "QR payload"))
            .raw("</summary><code class=\"wrap\" data-vietqr>")
            .text(&payload)
            .raw("</code></details></figcaption></figure>");
    }
}

/// `GET /feedback`.
pub(crate) async fn feedback(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(state, ctx, feedback_page).await
}

fn feedback_page(state: &AppState, ctx: &Ctx) -> Result<Page, WebError> {
    let lang = ctx.lang;
    let books = state.books().read();
    let s = &books.state;
    let (as_of, categories) = feedback_now(s);
    let due = s.config().map_or(0, |c| c.feedback_due_days);
    let mut h = Html::new();
    h.raw("<h1>")
        .text(lang.pick("Phản ánh của người dân", "Citizens' feedback"))
        .raw("</h1><p class=\"lead\">")
        .text(&format!(
            "{} {due} {} {}.",
            lang.pick(
                "Mỗi phản ánh và mỗi lần trả lời là một bút toán; tỷ lệ đúng hạn được tính từ sổ cái, không phải do ai tự công bố. Hạn trả lời:",
                "Every piece of feedback and every answer is an entry; the on-time rate is computed from the log, not claimed. Due within",
            ),
            lang.pick("ngày. Số liệu tính đến", "days. Figures as of"),
            as_of.format("%d/%m/%Y %H:%M UTC"),
        ))
        .raw("</p>");
    if categories.is_empty() {
        h.raw("<p>")
            .text(lang.pick("Chưa có phản ánh nào.", "No feedback yet."))
            .raw("</p>");
        return Ok(Page::ok(lang.pick("Phản ánh", "Feedback"), h));
    }
    h.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">")
        .text(lang.pick("Loại", "Category"))
        .raw("</th>");
    for (vi, en) in [
        ("Đã nhận", "Received"),
        ("Đã trả lời", "Resolved"),
        ("Đúng hạn", "On time"),
        ("Tỷ lệ đúng hạn", "On-time rate"),
        ("Đang xử lý", "Open"),
        ("Quá hạn", "Overdue"),
    ] {
        h.raw("<th scope=\"col\" class=\"num\">")
            .text(lang.pick(vi, en))
            .raw("</th>");
    }
    h.raw("</tr></thead><tbody>");
    let mut total = [0u64; 5];
    for c in &categories {
        for (t, v) in
            total
                .iter_mut()
                .zip([c.opened, c.resolved, c.resolved_on_time, c.open, c.overdue])
        {
            *t += v;
        }
        feedback_row(
            &mut h,
            lang.feedback(c.category),
            [c.opened, c.resolved, c.resolved_on_time, c.open, c.overdue],
            false,
        );
    }
    h.raw("</tbody><tfoot>");
    feedback_row(&mut h, lang.pick("Tổng", "Total"), total, true);
    h.raw("</tfoot></table></div><p>")
        .text(lang.pick(
            "Tỷ lệ đúng hạn = số phản ánh được trả lời trong hạn / số phản ánh đã trả lời.",
            "On-time rate = feedback resolved within the due days / feedback resolved.",
        ))
        .raw("</p>");
    Ok(Page::ok(lang.pick("Phản ánh", "Feedback"), h))
}

fn feedback_row(h: &mut Html, name: &str, v: [u64; 5], strong: bool) {
    let [opened, resolved, on_time, open, overdue] = v;
    h.raw("<tr><th scope=\"row\">");
    if strong {
        h.raw("<strong>").text(name).raw("</strong>");
    } else {
        h.text(name);
    }
    h.raw("</th>")
        .td(&group(opened), true)
        .td(&group(resolved), true)
        .td(&group(on_time), true)
        .td(
            &if resolved == 0 {
                "—".to_owned()
            } else {
                format!("{} %", percent(on_time, resolved))
            },
            true,
        )
        .td(&group(open), true);
    if overdue > 0 {
        h.raw("<td class=\"num flag\">⚠ ")
            .text(&group(overdue))
            .raw("</td>");
    } else {
        h.td("0", true);
    }
    h.raw("</tr>");
}
