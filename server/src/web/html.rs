//! HTML output: the one escaping function every piece of text goes through,
//! a small page builder, and number formatting the Vietnamese way
//! (`1.000.000 ₫`).
//!
//! Nothing here trusts its input: statement text comes from officials'
//! signatures, search terms from anyone. Every string that is not a literal
//! of this crate is written with [`Html::text`] or [`Html::attr`], which call
//! [`escape`].

use std::fmt::Write as _;

/// Escapes `s` for HTML text and for double- or single-quoted attribute
/// values: `&`, `<`, `>`, `"` and `'` become character references. Control
/// characters other than tab, newline and carriage return are dropped (HTML
/// forbids them), so the output is always well-formed.
#[must_use]
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `s` for a URL query value or path segment (RFC 3986:
/// everything but unreserved characters).
#[must_use]
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An HTML document being written. Markup is pushed with [`Html::raw`]
/// (literals of this crate only); anything else with [`Html::text`].
#[derive(Default)]
pub(crate) struct Html(String);

impl Html {
    /// An empty document.
    pub(crate) fn new() -> Self {
        Self(String::with_capacity(16 * 1024))
    }

    /// Appends markup written in this crate.
    pub(crate) fn raw(&mut self, markup: &str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Appends text, escaped.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.0.push_str(&escape(text));
        self
    }

    /// Appends ` name="value"` with the value escaped.
    pub(crate) fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        let _ = write!(self.0, " {name}=\"{}\"", escape(value));
        self
    }

    /// Appends `<a href="href">text</a>`, both escaped.
    pub(crate) fn link(&mut self, href: &str, text: &str) -> &mut Self {
        let _ = write!(self.0, "<a href=\"{}\">{}</a>", escape(href), escape(text));
        self
    }

    /// Appends a table cell with escaped text; `num` right-aligns it.
    pub(crate) fn td(&mut self, text: &str, num: bool) -> &mut Self {
        let class = if num { " class=\"num\"" } else { "" };
        let _ = write!(self.0, "<td{class}>{}</td>", escape(text));
        self
    }

    /// Opens a scrolling table (`class` may be empty) with a header row of
    /// escaped column labels; `true` right-aligns a numeric column. The
    /// caller writes the rows and `</tbody></table></div>`.
    pub(crate) fn table_head(&mut self, class: &str, columns: &[(&str, bool)]) -> &mut Self {
        self.0.push_str("<div class=\"scroll\"><table");
        if !class.is_empty() {
            let _ = write!(self.0, " class=\"{}\"", escape(class));
        }
        self.0.push_str("><thead><tr>");
        for (label, num) in columns {
            let class = if *num { " class=\"num\"" } else { "" };
            let _ = write!(self.0, "<th scope=\"col\"{class}>{}</th>", escape(label));
        }
        self.0.push_str("</tr></thead><tbody>");
        self
    }

    /// The document.
    pub(crate) fn finish(self) -> String {
        self.0
    }
}

pub(crate) use minhbach_ledger::statement::{format_amount as amount, group_thousands as group};

/// `part / whole` as a whole percentage, rounded down; 0 when `whole` is 0.
#[must_use]
pub(crate) fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    let p = u128::from(part) * 100 / u128::from(whole);
    u64::try_from(p.min(100)).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_head_escapes_labels_and_marks_numeric_columns() {
        let mut h = Html::new();
        h.table_head("totals", &[("<b>Loại</b>", false), ("Số \"tiền\"", true)]);
        assert_eq!(
            h.finish(),
            "<div class=\"scroll\"><table class=\"totals\"><thead><tr>\
             <th scope=\"col\">&lt;b&gt;Loại&lt;/b&gt;</th>\
             <th scope=\"col\" class=\"num\">Số &quot;tiền&quot;</th>\
             </tr></thead><tbody>"
        );
        let mut h = Html::new();
        h.table_head("", &[("#", false)]);
        assert!(
            h.finish()
                .starts_with("<div class=\"scroll\"><table><thead>")
        );
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape(r#"<script>alert("x&y's")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("Bão số 3 (Yagi)"), "Bão số 3 (Yagi)");
        assert_eq!(escape("a\u{0}b\u{7}c\nd"), "abc\nd");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn attributes_cannot_be_broken_out_of() {
        let mut h = Html::new();
        h.raw("<a").attr("href", "/x\" onclick=\"evil()\"").raw(">");
        assert_eq!(
            h.finish(),
            "<a href=\"/x&quot; onclick=&quot;evil()&quot;\">"
        );
        let mut h = Html::new();
        h.link("/find?ref=<b>", "<b>");
        assert_eq!(h.finish(), "<a href=\"/find?ref=&lt;b&gt;\">&lt;b&gt;</a>");
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        assert_eq!(url_encode("FT24254607609791"), "FT24254607609791");
        assert_eq!(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn percentages_round_down_and_stop_at_100() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(5, 0), 0);
        assert_eq!(percent(7, 5), 100);
        assert_eq!(percent(u64::MAX, u64::MAX), 100);
    }
}
