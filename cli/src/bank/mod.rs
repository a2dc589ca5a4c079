//! Reading bank statement exports (DOMAIN "Bank statement formats").
//!
//! A file (CSV or `.xlsx`) becomes rows of text cells with their line
//! numbers ([`read_rows`]). A [`Layout`] names the columns by their header
//! text; the header row is found wherever it is, after any title rows, by
//! matching header names with case and accents ignored ([`detect`]). Each
//! data row then becomes a [`Credit`], a debit, an ignored line (blank,
//! totals) or a [`Malformed`] line with its line number and reason
//! ([`parse`]): a bad line never stops the good ones.
//!
//! Amounts accept dot or comma thousands separators (`10.847.331.843`,
//! `300,000`) and zero decimals (`500,000.00`); dates are day first as
//! Vietnamese banks print them, in Vietnam time (UTC+7), with or without a
//! time of day (midnight when absent).
//!
//! What it does **not** do: mask memos ([`mask`]) or build statements
//! ([`crate::import`]).

pub mod mask;

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use serde::Deserialize;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization as _;

/// A built-in bank layout, or automatic detection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Agribank: date, details, signed amount, running balance, reference.
    Agribank,
    /// Try every built-in layout and keep the one whose headers match best.
    #[default]
    Auto,
    /// BIDV: date and time, signed amount, comment, counterparty.
    Bidv,
    /// MB Bank: date, reference, debit, credit, content, counterparty.
    Mbbank,
    /// Techcombank: date, reference, description, debit, credit.
    Techcombank,
    /// VietinBank: date and time, details, credit, counterparty.
    Vietinbank,
    /// Vietcombank, with or without the Doc No column.
    Vietcombank,
}

/// Column names of one layout: each column lists the header texts it may
/// have (compared with case, accents and spacing ignored; a bilingual header
/// such as `Ngày GD / TNX Date` matches either half). This is also the
/// mapping file's format (TOML or JSON) for any other export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// A name for messages.
    #[serde(default)]
    pub name: String,
    /// The date (or date and time) column.
    pub date: Vec<String>,
    /// A separate time-of-day column.
    #[serde(default)]
    pub time: Vec<String>,
    /// The bank's transaction reference.
    #[serde(default)]
    pub reference: Vec<String>,
    /// The credit column (money in).
    #[serde(default)]
    pub credit: Vec<String>,
    /// The debit column (money out).
    #[serde(default)]
    pub debit: Vec<String>,
    /// A signed amount column (negative is a debit), for exports without
    /// separate credit and debit columns.
    #[serde(default)]
    pub amount: Vec<String>,
    /// The description or memo.
    pub memo: Vec<String>,
    /// The counterparty's name.
    #[serde(default)]
    pub counterparty: Vec<String>,
    /// Extra date formats (chrono syntax, e.g. `%d/%m/%Y %H:%M`) tried first.
    #[serde(default)]
    pub date_formats: Vec<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Layout {
    /// The built-in layouts of `format` (every one for [`Format::Auto`]).
    #[must_use]
    pub fn builtin(format: Format) -> Vec<Layout> {
        let vcb = Layout {
            name: "vietcombank".into(),
            date: names(&["Ngày GD", "TNX Date", "Ngày giao dịch"]),
            reference: names(&["Số CT", "Doc No", "Số chứng từ"]),
            debit: names(&["Ghi nợ", "Debit"]),
            credit: names(&["Ghi có", "Credit"]),
            memo: names(&["Nội dung chi tiết", "Transactions in detail", "Nội dung"]),
            ..Layout::default()
        };
        let vcb_later = Layout {
            name: "vietcombank (without Doc No)".into(),
            date: names(&["Ngày giao dịch", "Ngày GD", "Ngày"]),
            amount: names(&["Số tiền", "Số tiền ghi có", "Amount"]),
            memo: names(&["Nội dung chi tiết", "Chi tiết giao dịch", "Nội dung"]),
            ..Layout::default()
        };
        let vietin = Layout {
            name: "vietinbank".into(),
            date: names(&["Ngày giao dịch", "Thời gian giao dịch", "Ngày GD"]),
            reference: names(&["Số giao dịch", "Mã giao dịch", "Số tham chiếu"]),
            memo: names(&["Chi tiết giao dịch", "Nội dung giao dịch", "Diễn giải"]),
            credit: names(&["Số tiền ghi có", "Ghi có", "Credit"]),
            debit: names(&["Số tiền ghi nợ", "Ghi nợ", "Debit"]),
            counterparty: names(&["Tên người chuyển", "Tên đối ứng", "Tên tài khoản đối ứng"]),
            ..Layout::default()
        };
        let bidv = Layout {
            name: "bidv".into(),
            date: names(&["Ngày giao dịch", "Thời gian"]),
            reference: names(&["Số tham chiếu", "Mã giao dịch"]),
            amount: names(&["Số tiền", "Số tiền giao dịch"]),
            memo: names(&["Nội dung", "Mô tả"]),
            counterparty: names(&["Tên đối ứng", "Đối ứng", "Người chuyển"]),
            ..Layout::default()
        };
        let agri = Layout {
            name: "agribank".into(),
            date: names(&["Ngày giao dịch", "Ngày"]),
            reference: names(&["Số tham chiếu", "Số bút toán", "Số ref"]),
            amount: names(&["Số tiền", "Phát sinh"]),
            memo: names(&["Diễn giải", "Chi tiết"]),
            ..Layout::default()
        };
        let tcb = Layout {
            name: "techcombank".into(),
            date: names(&["Ngày giao dịch", "Transaction Date"]),
            reference: names(&["Số giao dịch", "Reference", "Mã giao dịch"]),
            memo: names(&["Diễn giải", "Description", "Mô tả"]),
            debit: names(&["Nợ TKTT", "Nợ", "Debit"]),
            credit: names(&["Có TKTT", "Có", "Credit"]),
            counterparty: names(&["Đối tác", "Tên đối tác", "Remitter"]),
            ..Layout::default()
        };
        let mb = Layout {
            name: "mbbank".into(),
            date: names(&["Ngày giao dịch", "Ngày GD"]),
            reference: names(&["Số bút toán", "Mã giao dịch", "Số tham chiếu"]),
            debit: names(&["Số tiền ghi nợ", "Phát sinh nợ"]),
            credit: names(&["Số tiền ghi có", "Phát sinh có"]),
            memo: names(&["Nội dung", "Mô tả", "Diễn giải"]),
            counterparty: names(&["Tên tài khoản đối ứng", "Tên đối ứng"]),
            ..Layout::default()
        };
        match format {
            Format::Vietcombank => vec![vcb, vcb_later],
            Format::Vietinbank => vec![vietin],
            Format::Bidv => vec![bidv],
            Format::Agribank => vec![agri],
            Format::Techcombank => vec![tcb],
            Format::Mbbank => vec![mb],
            Format::Auto => vec![vcb, vietin, mb, tcb, bidv, agri, vcb_later],
        }
    }

    /// Reads a mapping file: TOML, or JSON when the name ends in `.json`.
    ///
    /// # Errors
    /// [`BankError::Mapping`] when the file is unreadable or not a layout.
    pub fn from_file(path: &Path) -> Result<Layout, BankError> {
        let bad = |problem: String| BankError::Mapping {
            path: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut layout: Layout = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| bad(e.to_string()))?
        };
        if layout.credit.is_empty() && layout.amount.is_empty() {
            return Err(bad("give a `credit` or an `amount` column".into()));
        }
        if layout.name.is_empty() {
            layout.name = path.display().to_string();
        }
        Ok(layout)
    }
}

/// Errors reading a bank file as a whole (single lines are [`Malformed`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BankError {
    /// The file cannot be read.
    #[error("cannot read {path}: {problem}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        problem: String,
    },
    /// No header row matches the layout(s).
    #[error(
        "no header row of {path} matches the {layouts} layout(s); name the columns with --mapping"
    )]
    NoHeader {
        /// The file.
        path: String,
        /// The layouts tried.
        layouts: String,
    },
    /// The mapping file is invalid.
    #[error("mapping file {path}: {problem}")]
    Mapping {
        /// The file.
        path: String,
        /// Why.
        problem: String,
    },
}

/// A row of a file: its 1-based line (CSV) or row (xlsx) number and cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Line or row number, as a spreadsheet shows it.
    pub line: u64,
    /// The cells, trimmed.
    pub cells: Vec<String>,
}

/// Reads a CSV (`,` `;` or tab separated, UTF-8 with or without BOM) or an
/// `.xlsx`/`.xls`/`.ods` file (first sheet) into rows, one per delimiter
/// candidate for CSV.
///
/// # Errors
/// [`BankError::Read`].
pub fn read_rows(path: &Path) -> Result<Vec<Vec<Row>>, BankError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let err = |problem: String| BankError::Read {
        path: path.display().to_string(),
        problem,
    };
    if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods") {
        return read_sheet(path).map(|r| vec![r]).map_err(err);
    }
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(err(
            "the file is not UTF-8 text; save it as CSV UTF-8 or open it as .xlsx".into(),
        ));
    }
    Ok([b',', b';', b'\t']
        .into_iter()
        .map(|d| read_csv(bytes, d))
        .collect())
}

fn read_csv(bytes: &[u8], delimiter: u8) -> Vec<Row> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => rows.push(Row {
                line: record.position().map_or(0, csv::Position::line),
                cells: record.iter().map(|c| c.trim().to_owned()).collect(),
            }),
            Ok(false) => break,
            // A broken quote: keep what was read; the line shows as malformed
            // only if it looks like data, which it cannot once unreadable.
            Err(_) => continue,
        }
    }
    rows
}

fn read_sheet(path: &Path) -> Result<Vec<Row>, String> {
    use calamine::{Data, DataType as _, Reader as _, open_workbook_auto};
    let mut book = open_workbook_auto(path).map_err(|e| e.to_string())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")?
        .map_err(|e| e.to_string())?;
    let first_row = range.start().map_or(0, |(r, _)| u64::from(r));
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row {
            line: first_row + i as u64 + 1,
            cells: cells
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
                    Data::DateTime(_) | Data::DateTimeIso(_) => c
                        .as_datetime()
                        .map(|d| d.format("%d/%m/%Y %H:%M:%S").to_string())
                        .unwrap_or_else(|| c.to_string()),
                    other => other.to_string().trim().to_owned(),
                })
                .collect(),
        })
        .collect())
}

/// Column positions found in a header row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    date: usize,
    time: Option<usize>,
    reference: Option<usize>,
    credit: Option<usize>,
    debit: Option<usize>,
    amount: Option<usize>,
    memo: usize,
    counterparty: Option<usize>,
}

/// A layout matched to a header row.
#[derive(Clone, Debug)]
pub struct Table {
    /// The layout.
    pub layout: Layout,
    /// Index in the rows of the header row.
    pub header: usize,
    /// The columns.
    pub columns: Columns,
    /// The data rows.
    pub rows: Vec<Row>,
}

/// Finds the best (layout, header row) among the rows' candidates: the one
/// with the most columns matched, among the first 40 rows.
///
/// # Errors
/// [`BankError::NoHeader`] when no row has the date, memo and an amount
/// column of any layout.
pub fn detect(
    path: &Path,
    candidates: Vec<Vec<Row>>,
    layouts: &[Layout],
) -> Result<Table, BankError> {
    let mut best: Option<(usize, Table)> = None;
    for rows in candidates {
        for (li, layout) in layouts.iter().enumerate() {
            for (h, row) in rows.iter().enumerate().take(40) {
                let Some((columns, score)) = match_header(&row.cells, layout) else {
                    continue;
                };
                // Prefer more matched columns, then the earlier layout.
                let score = score * 100 + (99 - li.min(99));
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((
                        score,
                        Table {
                            layout: layout.clone(),
                            header: h,
                            columns,
                            rows: rows.clone(),
                        },
                    ));
                }
            }
        }
    }
    best.map(|(_, t)| t).ok_or_else(|| BankError::NoHeader {
        path: path.display().to_string(),
        layouts: layouts
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn match_header(cells: &[String], layout: &Layout) -> Option<(Columns, usize)> {
    let normalized: Vec<Vec<String>> = cells.iter().map(|c| header_parts(c)).collect();
    let mut used = vec![false; cells.len()];
    let mut find = |aliases: &[String]| -> Option<usize> {
        for alias in aliases {
            let alias = fold(alias);
            if let Some(i) = (0..cells.len()).find(|&i| !used[i] && normalized[i].contains(&alias))
            {
                used[i] = true;
                return Some(i);
            }
        }
        None
    };
    // Specific columns first, so `Số tiền ghi có` is not taken for `Số tiền`.
    let credit = find(&layout.credit);
    let debit = find(&layout.debit);
    let reference = find(&layout.reference);
    let counterparty = find(&layout.counterparty);
    let memo = find(&layout.memo)?;
    let date = find(&layout.date)?;
    let time = find(&layout.time);
    let amount = if credit.is_none() {
        find(&layout.amount)
    } else {
        None
    };
    if credit.is_none() && amount.is_none() {
        return None;
    }
    let score = 2 + [credit, debit, reference, counterparty, time, amount]
        .iter()
        .filter(|c| c.is_some())
        .count();
    Some((
        Columns {
            date,
            time,
            reference,
            credit,
            debit,
            amount,
            memo,
            counterparty,
        },
        score,
    ))
}

/// A header cell's forms: the whole and each `/` or line-separated half.
fn header_parts(cell: &str) -> Vec<String> {
    let mut parts = vec![fold(cell)];
    for p in cell.split(['/', '\n', '(', ')']) {
        let p = fold(p);
        if !p.is_empty() {
            parts.push(p);
        }
    }
    parts
}

/// Lowercase, no diacritics, single spaces.
#[must_use]
pub fn fold(s: &str) -> String {
    let stripped: String = s
        .nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| match c {
            'Đ' | 'đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A credit line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    /// Line number in the file.
    pub line: u64,
    /// When it arrived (the bank's local time, converted to UTC).
    pub received_at: DateTime<Utc>,
    /// The bank's reference, if the layout has one.
    pub reference: Option<String>,
    /// The amount in ₫.
    pub amount: u64,
    /// The memo as printed (not masked yet).
    pub memo: String,
    /// The counterparty's name, if the layout has one.
    pub counterparty: Option<String>,
}

/// A line that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Line number in the file.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// A file's lines, sorted out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The layout used.
    pub layout: String,
    /// Data lines read (not counting the header, title, blank and total lines).
    pub lines_read: usize,
    /// Credit lines.
    pub credits: Vec<Credit>,
    /// Debit lines: (line, amount): fees and payments out, never donations.
    pub debits: Vec<(u64, u64)>,
    /// Lines that could not be read.
    pub malformed: Vec<Malformed>,
}

/// Reads `path` with `layouts` (built-in or a mapping).
///
/// # Errors
/// [`BankError`] when the file cannot be read or has no matching header.
pub fn parse_file(path: &Path, layouts: &[Layout]) -> Result<Parsed, BankError> {
    let candidates = read_rows(path)?;
    let table = detect(path, candidates, layouts)?;
    Ok(parse(&table))
}

/// Sorts a table's data rows into credits, debits and malformed lines.
#[must_use]
pub fn parse(table: &Table) -> Parsed {
    let mut parsed = Parsed {
        layout: table.layout.name.clone(),
        ..Parsed::default()
    };
    let c = &table.columns;
    for row in table.rows.iter().skip(table.header + 1) {
        let cell = |i: Option<usize>| i.and_then(|i| row.cells.get(i)).map_or("", String::as_str);
        if row.cells.iter().all(String::is_empty) {
            continue;
        }
        let date = cell(Some(c.date));
        let amounts = [cell(c.credit), cell(c.debit), cell(c.amount)];
        let first_text = row
            .cells
            .iter()
            .find(|s| !s.is_empty())
            .map_or("", String::as_str);
        if is_total(first_text)
            || is_total(date)
            || (date.is_empty() && amounts.iter().all(|a| a.is_empty()))
        {
            continue; // a title, total or continuation line
        }
        parsed.lines_read += 1;
        match read_line(row, c, &table.layout) {
            Ok(Line::Credit(credit)) => parsed.credits.push(credit),
            Ok(Line::Debit(amount)) => parsed.debits.push((row.line, amount)),
            Err(reason) => parsed.malformed.push(Malformed {
                line: row.line,
                reason,
            }),
        }
    }
    parsed
}

fn is_total(text: &str) -> bool {
    let t = fold(text);
    [
        "tong",
        "cong ",
        "so du",
        "total",
        "opening",
        "closing",
        "ending balance",
    ]
    .iter()
    .any(|w| t.starts_with(w))
}

enum Line {
    Credit(Credit),
    Debit(u64),
}

fn read_line(row: &Row, c: &Columns, layout: &Layout) -> Result<Line, String> {
    let cell = |i: Option<usize>| i.and_then(|i| row.cells.get(i)).map_or("", String::as_str);
    let date_text = cell(Some(c.date));
    if date_text.is_empty() {
        return Err("no date".into());
    }
    let time_text = cell(c.time);
    let received_at = parse_datetime(date_text, time_text, &layout.date_formats)
        .ok_or_else(|| format!("unreadable date {date_text:?}"))?;
    let (credit, debit) = if c.amount.is_some() {
        let a = parse_amount(cell(c.amount))?;
        match a {
            Some(v) if v > 0 => (Some(to_u64(v)?), None),
            Some(v) if v < 0 => (None, Some(to_u64(v)?)),
            _ => (None, None),
        }
    } else {
        let pos = |s: &str| -> Result<Option<u64>, String> {
            match parse_amount(s)? {
                Some(v) if v < 0 => {
                    Err(format!("negative amount {s:?} in a credit or debit column"))
                }
                Some(0) | None => Ok(None),
                Some(v) => Ok(Some(to_u64(v)?)),
            }
        };
        (pos(cell(c.credit))?, pos(cell(c.debit))?)
    };
    match (credit, debit) {
        (Some(_), Some(_)) => Err("both a credit and a debit on one line".into()),
        (None, None) => Err("no amount".into()),
        (None, Some(d)) => Ok(Line::Debit(d)),
        (Some(amount), None) => {
            let reference = Some(cell(c.reference))
                .filter(|r| !r.is_empty())
                .map(|r| r.split_whitespace().collect::<String>());
            if let Some(r) = &reference {
                if !r.bytes().all(|b| b.is_ascii_graphic()) || r.len() > 128 {
                    return Err(format!("unusable transaction reference {r:?}"));
                }
            } else if c.reference.is_some() {
                return Err("no transaction reference".into());
            }
            let counterparty = Some(cell(c.counterparty).to_owned()).filter(|s| !s.is_empty());
            Ok(Line::Credit(Credit {
                line: row.line,
                received_at,
                reference,
                amount,
                memo: cell(Some(c.memo)).to_owned(),
                counterparty,
            }))
        }
    }
}

fn to_u64(v: i128) -> Result<u64, String> {
    u64::try_from(v.unsigned_abs()).map_err(|_| format!("amount {v} is too large"))
}

/// Parses an amount: dot or comma thousands separators, an optional sign or
/// parentheses, optional currency (`VND`, `đ`, `₫`), zero decimals allowed.
/// `Ok(None)` for an empty cell.
///
/// # Errors
/// A reason, for text that is not a whole amount.
pub fn parse_amount(text: &str) -> Result<Option<i128>, String> {
    let t: String = text
        .replace("VND", "")
        .replace("vnd", "")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, 'đ' | '₫' | 'Đ'))
        .collect();
    if t.is_empty() || t == "-" {
        return Ok(None);
    }
    let (negative, body) = if let Some(b) = t.strip_prefix('-') {
        (true, b)
    } else if let Some(b) = t.strip_prefix('+') {
        (false, b)
    } else if let Some(b) = t.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        (true, b)
    } else {
        (false, t.as_str())
    };
    let bad = || format!("unreadable amount {text:?}");
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return Err(bad());
    }
    // A final separator followed by 1 or 2 digits is a decimal part (VND has
    // no minor unit: it must be zero); other separators group thousands.
    let mut whole = body;
    if let Some(pos) = body.rfind(['.', ',']) {
        let tail = &body[pos + 1..];
        if (1..=2).contains(&tail.len()) {
            if tail.bytes().any(|b| b != b'0') {
                return Err(format!("{text:?} has a fraction of a đồng"));
            }
            whole = &body[..pos];
        }
    }
    let groups: Vec<&str> = whole.split(['.', ',']).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err(bad());
    }
    let digits: String = groups.concat();
    let v: i128 = digits.parse().map_err(|_| bad())?;
    Ok(Some(if negative { -v } else { v }))
}

const DATE_FORMATS: &[&str] = &[
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
];
const DAY_FORMATS: &[&str] = &["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y"];

/// Parses a bank's date (and separate time, if any) in Vietnam time.
#[must_use]
pub fn parse_datetime(date: &str, time: &str, extra: &[String]) -> Option<DateTime<Utc>> {
    let text = format!("{} {}", date.trim(), time.trim());
    let text = text.trim();
    let local = extra
        .iter()
        .map(String::as_str)
        .chain(DATE_FORMATS.iter().copied())
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            extra
                .iter()
                .map(String::as_str)
                .chain(DAY_FORMATS.iter().copied())
                .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    let vietnam = FixedOffset::east_opt(7 * 3600)?;
    vietnam
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_banks_print_them() {
        assert_eq!(parse_amount("10.847.331.843"), Ok(Some(10_847_331_843)));
        assert_eq!(parse_amount("300,000"), Ok(Some(300_000)));
        assert_eq!(parse_amount("500,000.00"), Ok(Some(500_000)));
        assert_eq!(parse_amount("500.000,00"), Ok(Some(500_000)));
        assert_eq!(parse_amount("+1,999,999"), Ok(Some(1_999_999)));
        assert_eq!(parse_amount("-55,000"), Ok(Some(-55_000)));
        assert_eq!(parse_amount("(55.000)"), Ok(Some(-55_000)));
        assert_eq!(parse_amount("52222 VND"), Ok(Some(52_222)));
        assert_eq!(parse_amount(""), Ok(None));
        assert!(parse_amount("1.5").is_err());
        assert!(parse_amount("12,34,567").is_err());
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("1.0000").is_err());
    }

    #[test]
    fn dates_in_vietnam_time() {
        let t = parse_datetime("10/09/2024 15:30:12", "", &[]).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-09-10T08:30:12+00:00");
        let d = parse_datetime("10/09/2024", "", &[]).unwrap();
        assert_eq!(d.to_rfc3339(), "2024-09-09T17:00:00+00:00");
        let s = parse_datetime("10/09/2024", "07:00:00", &[]).unwrap();
        assert_eq!(s.to_rfc3339(), "2024-09-10T00:00:00+00:00");
        assert!(parse_datetime("31/02/2024", "", &[]).is_none());
        assert!(parse_datetime("hôm qua", "", &[]).is_none());
    }

    #[test]
    fn headers_match_ignoring_accents_and_halves() {
        assert!(header_parts("Ngày GD / TNX Date").contains(&"tnx date".to_owned()));
        assert!(header_parts("Ngày GD / TNX Date").contains(&"ngay gd".to_owned()));
        assert_eq!(fold("  Số   tiền ĐỎ "), "so tien do");
    }
}
