//! Bank statement imports into the real log: the reconciliation summary,
//! re-imports and overlapping files, malformed lines, spreadsheets, and the
//! masked memos that end up on the log.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cli::harness::{ACCOUNT, ACCOUNT_NUMBER, Ledger, YAGI};

/// A fixture of the CLI's own tests (real layouts, fake people).
pub(crate) fn fixture(name: &str) -> String {
    PathBuf::from(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../cli/tests/data")
        .join(name)
        .display()
        .to_string()
}

/// The Vietcombank fixture's four good credit lines: (reference, amount).
pub(crate) const VCB_CREDITS: [(&str, u64); 4] = [
    ("5213.45946", 500_000),
    ("5213.45947", 1_999_999),
    ("5213.45949", 52_222),
    ("5213.45952", 10_000_000),
];

/// The numbers and names in the fixture's memos that must never reach the log.
const PERSONAL: [&str; 7] = [
    "1234567890",
    "0123456789",
    "84912345678",
    "079123456789",
    "NGUYEN VAN AN",
    "TRAN THI BINH",
    "0988123456",
];

/// `minhbach [--json] import bank-statement FILE ...` as the intake officer.
pub(crate) fn import(
    l: &Ledger,
    file: &str,
    json: bool,
    extra: &[&str],
) -> crate::cli::harness::Out {
    let url = l.server.url.clone();
    let mut args = Vec::new();
    if json {
        args.push("--json");
    }
    args.extend_from_slice(&[
        "import",
        "bank-statement",
        file,
        "--campaign",
        YAGI,
        "--account",
        ACCOUNT,
        "--key",
        "intake",
        "--server",
        &url,
    ]);
    args.extend_from_slice(extra);
    l.cli_as("intake", &args)
}

fn longest_digit_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// The donation logged for bank reference `r`, checked for personal data.
fn logged_donation(l: &Ledger, r: &str) -> Value {
    let entry = l.entry(l.lookup_ref(r));
    let text = entry["statement"].to_string();
    for secret in PERSONAL {
        assert!(!text.contains(secret), "{secret} is on the log: {text}");
    }
    let s = entry["statement"].clone();
    assert_eq!(s["type"], json!("donation"));
    assert_eq!(s["account"], json!(ACCOUNT));
    assert_eq!(s["channel"], json!("bank"));
    assert_eq!(s["external_ref"], json!(r));
    if let Some(memo) = s["memo"].as_str() {
        assert!(longest_digit_run(memo) < 9, "an unmasked number: {memo}");
    }
    assert_eq!(entry["signers"], json!([l.official("intake").keyid]));
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const VCB_HEADER: &str = "Ngày GD / TNX Date,Số CT / Doc No,Ghi nợ / Debit,Ghi có / Credit,Số dư / Balance,Nội dung chi tiết / Transactions in detail\n";

#[test]
fn a_statement_is_imported_once_and_reimports_and_overlaps_add_nothing_twice() {
    let l = Ledger::start();
    let size = l.size();
    import(&l, &fixture("vietcombank.csv"), false, &[])
        .code(1)
        .says("layout:            vietcombank")
        .says("lines read:        7")
        .says("credits:           4 (12.552.221 ₫)")
        .says("imported:          4 (12.552.221 ₫)")
        .says("already present:   0 (0 ₫)")
        .says("rejected:          2")
        .says("line 10: unreadable amount \"abc\"")
        .says("line 11: no date")
        .says("debits skipped:    1 (55.000 ₫)")
        .complains("2 lines rejected");
    assert_eq!(l.size(), size + 4);

    // On the log: one donation per credit line, masked, with initials.
    let first = logged_donation(&l, "5213.45946");
    assert_eq!(first["amount"], json!(500_000));
    assert_eq!(first["donor_name"], json!("N.V.A."));
    assert_eq!(first["received_at"], json!("2024-09-09T17:00:00Z"));
    assert_eq!(
        first["memo"],
        json!(
            "MBVCB.******7890.ung ho dong bao lu lut.CT tu ******6789 N.V.A. toi *********2418 MAT TRAN TO QUOC VN"
        )
    );
    assert_eq!(
        logged_donation(&l, "5213.45949")["memo"],
        json!("ung ho tu Viettel Money *******5678")
    );
    for (r, amount) in VCB_CREDITS {
        assert_eq!(logged_donation(&l, r)["amount"], json!(amount));
    }
    let campaign = l.get(&format!("/api/v1/campaigns/{YAGI}"));
    assert_eq!(campaign["assets"][0]["total_in"], json!(12_552_221));
    assert_eq!(campaign["assets"][0]["donation_count"], json!(4));
    let accounts = l.get("/api/v1/accounts");
    assert_eq!(accounts["accounts"][0]["number"], json!(ACCOUNT_NUMBER));
    assert_eq!(
        accounts["accounts"][0]["derived_balance"],
        json!(12_552_221)
    );

    // The same file again: everything is already present, nothing is added.
    let again = import(&l, &fixture("vietcombank.csv"), true, &[])
        .code(1)
        .json();
    assert_eq!(again["dry_run"], json!(false));
    assert_eq!(again["layout"], json!("vietcombank"));
    assert_eq!(again["lines_read"], json!(7));
    assert_eq!(again["credits"], json!({"count": 4, "total": 12_552_221}));
    assert_eq!(again["imported"], json!({"count": 0, "total": 0}));
    assert_eq!(
        again["already_present"],
        json!({"count": 4, "total": 12_552_221})
    );
    assert_eq!(again["debits"], json!({"count": 1, "total": 55_000}));
    let lines: Vec<u64> = again["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [10, 11]);
    assert_eq!(l.size(), size + 4);

    // The next export overlaps: two lines already imported, two new ones.
    let dir = tempfile::tempdir().unwrap();
    let overlap = write(
        dir.path(),
        "sao-ke-11-09.csv",
        &format!(
            "{VCB_HEADER}\
             10/09/2024,5213.45949,,52.222,,ung ho tu Viettel Money 84912345678\n\
             11/09/2024,5213.45952,,10.000.000,,CONG TY TNHH ABC ung ho lu lut CCCD 079123456789\n\
             11/09/2024,5213.45960,,300.000,,ung ho dong bao sdt 0988123456\n\
             12/09/2024,5213.45961,,1.000.000,,ung ho 1 trieu\n"
        ),
    );
    import(&l, &overlap, false, &["--names", "anonymous"])
        .ok()
        .says("credits:           4 (11.352.222 ₫)")
        .says("imported:          2 (1.300.000 ₫)")
        .says("already present:   2 (10.052.222 ₫)")
        .says("rejected:          0");
    assert_eq!(l.size(), size + 6);
    let new = logged_donation(&l, "5213.45960");
    assert_eq!(new["memo"], json!("ung ho dong bao sdt ******3456"));
    assert_eq!(new["received_at"], json!("2024-09-10T17:00:00Z"));
    assert!(new.get("donor_name").is_none(), "{new}");

    // A corrected export that changes the amount of a logged reference is
    // a conflict: reported with both amounts, not counted as present, and
    // the log keeps its entry.
    let clash = write(
        dir.path(),
        "sao-ke-sua.csv",
        &format!(
            "{VCB_HEADER}\
             10/09/2024,5213.45946,,600.000,,ung ho dong bao lu lut\n\
             12/09/2024,5213.45961,,1.000.000,,ung ho 1 trieu\n"
        ),
    );
    import(&l, &clash, false, &[])
        .code(1)
        .says("imported:          0 (0 ₫)")
        .says("already present:   1 (1.000.000 ₫)")
        .says("rejected:          1")
        .says("conflict: entry")
        .says("amount 500000 on the log, 600000 here")
        .complains("1 lines rejected");
    assert_eq!(l.size(), size + 6);
    assert_eq!(logged_donation(&l, "5213.45946")["amount"], json!(500_000));
}

#[test]
fn malformed_lines_are_reported_by_number_and_the_good_ones_still_go_in() {
    let l = Ledger::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "hong.csv",
        &format!(
            "SAO KÊ TÀI KHOẢN,,,,,\n\
             {VCB_HEADER}\
             12/09/2024,7001.00001,,250.000,,ung ho mien Bac\n\
             32/09/2024,7001.00002,,100.000,,ngay sai\n\
             12/09/2024,7001.00003,,12a.000,,so tien sai\n\
             12/09/2024,7001.00004,,-,,khong co so tien\n\
             12/09/2024,7001.00005,,\"1.500.000\",,ung ho lan 2\n\
             12/09/2024,7001.00001,,250.000,,trung so tham chieu\n"
        ),
    );
    let size = l.size();
    let out = import(&l, &file, false, &[])
        .code(1)
        .says("imported:          2 (1.750.000 ₫)")
        .says("line 4: unreadable date")
        .says("line 5: unreadable amount")
        .says("line 8: reference 7001.00001 already on line 3 of this file")
        .complains("lines rejected");
    assert!(out.stdout.contains("line 6:"), "{out}");
    assert_eq!(l.size(), size + 2);
    assert_eq!(
        logged_donation(&l, "7001.00005")["amount"],
        json!(1_500_000)
    );

    // Lines the server refuses are rejected with its code, and the others
    // still go in: here the account is not a registered one.
    let other = write(
        dir.path(),
        "khac.csv",
        &format!("{VCB_HEADER}13/09/2024,7002.00001,,90.000,,ung ho\n"),
    );
    let url = l.server.url.clone();
    l.cli_as(
        "intake",
        &[
            "import",
            "bank-statement",
            &other,
            "--campaign",
            YAGI,
            "--account",
            "vcb-gia-mao",
            "--key",
            "intake",
            "--server",
            &url,
        ],
    )
    .code(1)
    .says("imported:          0 (0 ₫)")
    .says("line 2: unknown_account (HTTP 422): the receiving account is not registered");
    assert_eq!(l.size(), size + 2);
}

#[test]
fn spreadsheets_and_tab_separated_exports_import_too() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let l = Ledger::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mb.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("dd/mm/yyyy hh:mm:ss");
    sheet.write_string(0, 0, "SAO KÊ TÀI KHOẢN - MB").unwrap();
    let headers = [
        "Ngày giao dịch",
        "Số bút toán",
        "Số tiền ghi nợ",
        "Số tiền ghi có",
        "Nội dung",
        "Tên tài khoản đối ứng",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(2, c as u16, *h).unwrap();
    }
    let rows = [
        (
            "2024-09-10T09:00:00",
            "FT24254607609791",
            None,
            Some(2_000_000.0),
            "ung ho lu lut tu 0912345678",
            "TRINH VAN MINH",
        ),
        (
            "2024-09-10T09:30:00",
            "FT24254607609792",
            Some(55_000.0),
            None,
            "Phi SMS",
            "",
        ),
        (
            "2024-09-10T11:00:00",
            "FT24254607609794",
            None,
            Some(300_000.0),
            "ung ho",
            "Trịnh Văn Minh",
        ),
    ];
    for (i, (t, r, debit, credit, memo, who)) in rows.iter().enumerate() {
        let row = 3 + i as u32;
        let dt = ExcelDateTime::parse_from_str(t).unwrap();
        sheet
            .write_datetime_with_format(row, 0, &dt, &date)
            .unwrap();
        sheet.write_string(row, 1, *r).unwrap();
        if let Some(d) = debit {
            sheet.write_number(row, 2, *d).unwrap();
        }
        if let Some(c) = credit {
            sheet.write_number(row, 3, *c).unwrap();
        }
        sheet.write_string(row, 4, *memo).unwrap();
        sheet.write_string(row, 5, *who).unwrap();
    }
    book.save(&path).unwrap();

    let size = l.size();
    let out = import(&l, path.to_str().unwrap(), true, &["--format", "mbbank"])
        .ok()
        .json();
    assert_eq!(out["layout"], json!("mbbank"));
    assert_eq!(out["imported"], json!({"count": 2, "total": 2_300_000}));
    assert_eq!(out["debits"], json!({"count": 1, "total": 55_000}));
    assert_eq!(l.size(), size + 2);
    let d = logged_donation(&l, "FT24254607609791");
    assert_eq!(d["memo"], json!("ung ho lu lut tu ******5678"));
    assert_eq!(d["donor_name"], json!("T.V.M."));
    assert_eq!(d["received_at"], json!("2024-09-10T02:00:00Z"));
    assert!(!d.to_string().contains("TRINH"), "{d}");

    // BIDV's tab-separated export, with a reference repeated on line 7.
    let out = import(&l, &fixture("bidv.tsv"), true, &[]).code(1).json();
    assert_eq!(out["layout"], json!("bidv"));
    assert_eq!(out["imported"], json!({"count": 2, "total": 5_750_000}));
    assert_eq!(out["rejected"][0]["line"], json!(7));
    assert_eq!(l.size(), size + 4);
    assert_eq!(
        logged_donation(&l, "0145fbc9-003")["memo"],
        json!("MSE ******3456 ung ho")
    );
}
