//! The `minhbach` binary as a user runs it, offline: keys (including keys made
//! by the real `ssh-keygen`), statements, the multi-official signing flow, and
//! bank statement imports with `--dry-run`. The commands that talk to a server
//! are tested end to end in the workspace's `tests/` package.

use std::path::{Path, PathBuf};
use std::process::Command;

use minhbach_ledger::envelope::Envelope;
use minhbach_ledger::statement::Statement;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn minhbach(args: &[&str], passphrase: Option<&str>, dir: &Path) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_minhbach"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("MINHBACH_PASSPHRASE")
        .env_remove("MINHBACH_KEY")
        .env_remove("MINHBACH_SERVER");
    if let Some(p) = passphrase {
        cmd.env("MINHBACH_PASSPHRASE", p);
    }
    let out = cmd.output().expect("run minhbach");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(out: Out) -> Out {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out
}

fn data(name: &str) -> String {
    PathBuf::from(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn ssh_keygen(dir: &Path, name: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "test", "-N", passphrase, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen is installed");
    assert!(status.success());
    path
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[test]
fn keys_from_ssh_keygen_load_with_and_without_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ssh_keygen(dir.path(), "plain", "");
    let locked = ssh_keygen(dir.path(), "locked", "mật khẩu dài");
    let p = plain.to_str().unwrap();
    let l = locked.to_str().unwrap();

    let from_pub = ok(minhbach(
        &["key", "show", &format!("{p}.pub")],
        None,
        dir.path(),
    ));
    let from_priv = ok(minhbach(&["key", "show", p], None, dir.path()));
    assert_eq!(from_pub.stdout, from_priv.stdout);

    let right = ok(minhbach(
        &["key", "show", l],
        Some("mật khẩu dài"),
        dir.path(),
    ));
    let expected = ok(minhbach(
        &["key", "show", &format!("{l}.pub")],
        None,
        dir.path(),
    ));
    assert_eq!(right.stdout, expected.stdout);

    let wrong = minhbach(&["key", "show", l], Some("wrong"), dir.path());
    assert_eq!(wrong.code, 2);
    assert!(
        wrong.stderr.contains("wrong passphrase"),
        "{}",
        wrong.stderr
    );
    // Without a terminal or the variable there is no passphrase: a clear error.
    let none = minhbach(&["key", "show", l], None, dir.path());
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("MINHBACH_PASSPHRASE"),
        "{}",
        none.stderr
    );
}

#[test]
fn key_new_writes_a_key_that_ssh_keygen_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(minhbach(
        &["key", "new", "--out", "official", "--comment", "Kế toán xã"],
        Some("s3cret passphrase"),
        dir.path(),
    ));
    assert!(!out.stdout.contains("PRIVATE KEY") && !out.stderr.contains("PRIVATE KEY"));
    let public = field(&out.stdout, "public_key").to_owned();
    let keyid = field(&out.stdout, "keyid");
    assert_eq!(keyid.len(), 32);

    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("official"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // ssh-keygen opens it with the passphrase and derives the same public key.
    let derived = Command::new("ssh-keygen")
        .args(["-y", "-P", "s3cret passphrase", "-f"])
        .arg(dir.path().join("official"))
        .output()
        .unwrap();
    assert!(
        derived.status.success(),
        "{}",
        String::from_utf8_lossy(&derived.stderr)
    );
    let line = String::from_utf8(derived.stdout).unwrap();
    let pub_file = std::fs::read_to_string(dir.path().join("official.pub")).unwrap();
    assert_eq!(
        line.split_whitespace().nth(1),
        pub_file.split_whitespace().nth(1)
    );
    // And it is encrypted: a wrong passphrase fails.
    let bad = Command::new("ssh-keygen")
        .args(["-y", "-P", "nope", "-f"])
        .arg(dir.path().join("official"))
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let shown = ok(minhbach(&["key", "show", "official.pub"], None, dir.path()));
    assert_eq!(field(&shown.stdout, "public_key"), public);

    // Never over an existing key.
    let again = minhbach(
        &["key", "new", "--out", "official", "--no-passphrase"],
        None,
        dir.path(),
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

#[test]
fn new_prints_statements_the_ledger_accepts_and_refuses_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(minhbach(
        &[
            "new",
            "donation",
            "--campaign",
            "yagi-2024",
            "--account",
            "vcb-1",
            "--amount",
            "500.000",
            "--asset",
            "VND",
            "--channel",
            "bank",
            "--external-ref",
            "FT24254000000001",
            "--received-at",
            "2024-09-10T00:00:00Z",
        ],
        None,
        dir.path(),
    ));
    let s = Statement::from_json(out.stdout.as_bytes()).unwrap();
    assert_eq!(s.kind().as_str(), "donation");

    let missing = minhbach(
        &["new", "donation", "--campaign", "yagi-2024"],
        None,
        dir.path(),
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("--amount is required"),
        "{}",
        missing.stderr
    );
    let unknown = minhbach(&["new", "donation", "--colour", "red"], None, dir.path());
    assert_eq!(unknown.code, 2);
    let help = ok(minhbach(&["new", "key.grant", "--help"], None, dir.path()));
    assert!(help.stdout.contains("--public-key") && help.stdout.contains("--scope-campaigns"));
    let bad_type = minhbach(&["new", "gift"], None, dir.path());
    assert_eq!(bad_type.code, 2);
    assert!(bad_type.stderr.contains("unknown statement type"));
}

/// One official proposes and signs, the file travels, two more co-sign, and
/// inspect shows all three signers with valid signatures.
#[test]
fn multi_official_flow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["anh", "binh", "chi"] {
        ok(minhbach(
            &["key", "new", "--out", name, "--no-passphrase"],
            None,
            d,
        ));
    }
    let proposal = ok(minhbach(
        &[
            "new",
            "disbursement",
            "--campaign",
            "yagi-2024",
            "--amount",
            "150000000",
            "--asset",
            "VND",
            "--recipient-organization",
            "UBND xã Tân Lập",
            "--region",
            "15-02647",
            "--purpose",
            "Xây lại nhà văn hóa",
        ],
        None,
        d,
    ));
    std::fs::write(d.join("d.json"), &proposal.stdout).unwrap();
    ok(minhbach(
        &["sign", "d.json", "--key", "anh", "--out", "d.env.json"],
        None,
        d,
    ));

    // Co-signing without a way to check the earlier signature is refused.
    let blind = minhbach(&["cosign", "d.env.json", "--key", "binh"], None, d);
    assert_eq!(blind.code, 1, "{}", blind.stderr);
    assert!(blind.stderr.contains("--pubkey"), "{}", blind.stderr);

    ok(minhbach(
        &[
            "cosign",
            "d.env.json",
            "--key",
            "binh",
            "--pubkey",
            "anh.pub",
        ],
        None,
        d,
    ));
    // The same official twice is refused and leaves the file as it was.
    let before = std::fs::read(d.join("d.env.json")).unwrap();
    let twice = minhbach(
        &[
            "cosign",
            "d.env.json",
            "--key",
            "binh",
            "--pubkey",
            "anh.pub",
        ],
        None,
        d,
    );
    assert_eq!(twice.code, 1);
    assert!(twice.stderr.contains("already signed"), "{}", twice.stderr);
    assert_eq!(std::fs::read(d.join("d.env.json")).unwrap(), before);

    ok(minhbach(
        &[
            "cosign",
            "d.env.json",
            "--key",
            "chi",
            "--pubkey",
            "anh.pub",
            "--pubkey",
            "binh.pub",
        ],
        None,
        d,
    ));
    let envelope = Envelope::from_json(&std::fs::read(d.join("d.env.json")).unwrap()).unwrap();
    assert_eq!(envelope.signatures().len(), 3);
    assert_eq!(envelope.payload(), proposal.stdout.as_bytes());

    let shown = ok(minhbach(
        &[
            "inspect",
            "d.env.json",
            "--pubkey",
            "anh.pub",
            "--pubkey",
            "binh.pub",
            "--pubkey",
            "chi.pub",
        ],
        None,
        d,
    ));
    assert!(shown.stdout.contains("signers (3):"), "{}", shown.stdout);
    assert_eq!(
        shown.stdout.matches("(signature valid)").count(),
        3,
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("UBND xã Tân Lập"));
    for name in ["anh", "binh", "chi"] {
        let k = ok(minhbach(&["key", "show", &format!("{name}.pub")], None, d));
        assert!(shown.stdout.contains(field(&k.stdout, "keyid")));
    }

    // A statement edited after signing: co-signing and inspect refuse it.
    let mut v: serde_json::Value = serde_json::from_slice(&before).unwrap();
    let forged = base64_statement(&proposal.stdout.replace("150000000", "950000000"));
    v["payload"] = serde_json::Value::from(forged);
    std::fs::write(d.join("forged.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    let refused = minhbach(
        &[
            "cosign",
            "forged.json",
            "--key",
            "chi",
            "--pubkey",
            "anh.pub",
            "--pubkey",
            "binh.pub",
        ],
        None,
        d,
    );
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("refusing to co-sign"),
        "{}",
        refused.stderr
    );
    let inspected = minhbach(&["inspect", "forged.json", "--pubkey", "anh.pub"], None, d);
    assert_eq!(inspected.code, 1);
    assert!(inspected.stdout.contains("SIGNATURE INVALID"));
}

fn base64_statement(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn submit_to_an_unreachable_server_is_a_network_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(minhbach(
        &["key", "new", "--out", "k", "--no-passphrase"],
        None,
        d,
    ));
    let s = ok(minhbach(
        &[
            "new",
            "campaign.close",
            "--campaign",
            "yagi-2024",
            "--reason",
            "Kết thúc",
        ],
        None,
        d,
    ));
    std::fs::write(d.join("s.json"), s.stdout).unwrap();
    ok(minhbach(
        &["sign", "s.json", "--key", "k", "--out", "e.json"],
        None,
        d,
    ));
    let out = minhbach(
        &["submit", "e.json", "--server", "http://127.0.0.1:9"],
        None,
        d,
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot reach"), "{}", out.stderr);
    // Not an envelope: refused before any network use.
    let bad = minhbach(
        &["submit", "s.json", "--server", "http://127.0.0.1:9"],
        None,
        d,
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("not a DSSE envelope"), "{}", bad.stderr);
}

/// The donations printed by a dry run, parsed by the ledger.
fn dry_run(file: &str, extra: &[&str]) -> (Out, Vec<minhbach_ledger::statement::Donation>) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "import",
        "bank-statement",
        file,
        "--campaign",
        "yagi-2024",
        "--account",
        "vcb-1",
        "--dry-run",
    ];
    args.extend_from_slice(extra);
    let out = minhbach(&args, None, dir.path());
    let donations = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| match Statement::from_json(l.as_bytes()).unwrap() {
            Statement::Donation(d) => d,
            other => panic!("not a donation: {other:?}"),
        })
        .collect();
    (out, donations)
}

fn longest_digit_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn vietcombank_csv_with_title_rows_dots_debits_and_bad_lines() {
    let (out, ds) = dry_run(&data("vietcombank.csv"), &[]);
    assert_eq!(
        out.code, 1,
        "rejected lines make the exit code 1: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("layout:            vietcombank"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("lines read:        7"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("credits:           4 (12.552.221 ₫)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("debits skipped:    1 (55.000 ₫)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("line 10: unreadable amount \"abc\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("line 11: no date"), "{}", out.stdout);
    assert_eq!(ds.len(), 4);
    let first = &ds[0];
    assert_eq!(first.external_ref.as_str(), "5213.45946");
    assert_eq!(first.amount.get(), 500_000);
    assert_eq!(first.received_at.to_rfc3339(), "2024-09-09T17:00:00Z");
    assert_eq!(
        first.memo.as_ref().unwrap().as_str(),
        "MBVCB.******7890.ung ho dong bao lu lut.CT tu ******6789 N.V.A. toi *********2418 MAT TRAN TO QUOC VN"
    );
    // Names found in the memo itself are shown as the policy says.
    assert_eq!(first.donor_name.as_ref().unwrap().as_str(), "N.V.A.");
    assert_eq!(
        ds[1].memo.as_ref().unwrap().as_str(),
        "123456.100924.153012.T.T.B. ung ho bao Yagi"
    );
    assert_eq!(ds[1].amount.get(), 1_999_999);
    assert_eq!(
        ds[2].memo.as_ref().unwrap().as_str(),
        "ung ho tu Viettel Money *******5678"
    );
    assert!(
        ds[3]
            .memo
            .as_ref()
            .unwrap()
            .as_str()
            .ends_with("CCCD ********6789")
    );
    for d in &ds {
        assert!(longest_digit_run(d.memo.as_ref().unwrap().as_str()) <= 8);
        assert_eq!(d.campaign.as_str(), "yagi-2024");
        assert_eq!(d.channel.as_str(), "bank");
    }
}

#[test]
fn vietinbank_csv_with_commas_times_and_names() {
    let (out, ds) = dry_run(&data("vietinbank.csv"), &["--format", "vietinbank"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("line 6: unreadable date"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("credits:           3 (3.800.000 ₫)"),
        "{}",
        out.stdout
    );
    assert_eq!(ds.len(), 3);
    assert_eq!(ds[0].amount.get(), 300_000);
    assert_eq!(ds[0].received_at.to_rfc3339(), "2024-09-10T01:15:02Z");
    assert_eq!(ds[0].donor_name.as_ref().unwrap().as_str(), "L.V.C.");
    assert_eq!(
        ds[0].memo.as_ref().unwrap().as_str(),
        "CT DEN:********3456 Ung ho dong bao bi lu lut, sdt ******5678"
    );
    assert_eq!(ds[2].donor_name.as_ref().unwrap().as_str(), "Đ.T.H.");
    // No reference column: a derived one, the same on every run.
    let (_, again) = dry_run(&data("vietinbank.csv"), &["--format", "vietinbank"]);
    assert_eq!(ds[1].external_ref, again[1].external_ref);
    assert_eq!(ds[1].id, again[1].id);

    let (_, full) = dry_run(&data("vietinbank.csv"), &["--names", "full"]);
    assert_eq!(
        full[0].donor_name.as_ref().unwrap().as_str(),
        "LE VAN CUONG"
    );
    let (_, anon) = dry_run(&data("vietinbank.csv"), &["--names", "anonymous"]);
    assert!(anon.iter().all(|d| d.donor_name.is_none()));
}

#[test]
fn bidv_tab_separated_with_signed_amounts_and_a_repeated_reference() {
    let (out, ds) = dry_run(&data("bidv.tsv"), &[]);
    assert!(
        out.stdout.contains("layout:            bidv"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("debits skipped:    1 (11.000 ₫)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("line 7: reference 0145fbc9-003 already on line 6"),
        "{}",
        out.stdout
    );
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].amount.get(), 5_000_000);
    assert_eq!(ds[0].donor_name.as_ref().unwrap().as_str(), "V.V.G.");
    assert_eq!(
        ds[0].memo.as_ref().unwrap().as_str(),
        "**********4567 ung ho dong bao lu lut"
    );
    assert_eq!(
        ds[1].memo.as_ref().unwrap().as_str(),
        "MSE ******3456 ung ho"
    );
}

#[test]
fn a_mapping_file_reads_any_layout() {
    let (out, ds) = dry_run(&data("commune.csv"), &["--mapping", &data("mapping.toml")]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].external_ref.as_str(), "TL-0001");
    assert_eq!(ds[0].received_at.to_rfc3339(), "2024-09-12T07:30:00Z");
    assert_eq!(ds[1].donor_name.as_ref().unwrap().as_str(), "L.T.L.");
    // The built-in layouts do not know it: a clear error, exit 2.
    let (out, _) = dry_run(&data("commune.csv"), &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--mapping"), "{}", out.stderr);
}

#[test]
fn mbbank_xlsx_with_real_dates_and_numbers() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
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
    type Line<'a> = (&'a str, &'a str, Option<f64>, Option<f64>, &'a str, &'a str);
    let rows: [Line<'_>; 4] = [
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
            "2024-09-10T10:00:00",
            "",
            None,
            Some(100_000.0),
            "khong co so but toan",
            "PHAN THI NGA",
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

    let (out, ds) = dry_run(path.to_str().unwrap(), &["--format", "mbbank"]);
    assert!(
        out.stdout.contains("layout:            mbbank"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    // Spreadsheet row numbers, as the bank officer sees them.
    assert!(
        out.stdout.contains("line 6: no transaction reference"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("debits skipped:    1 (55.000 ₫)"),
        "{}",
        out.stdout
    );
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].external_ref.as_str(), "FT24254607609791");
    assert_eq!(ds[0].amount.get(), 2_000_000);
    assert_eq!(ds[0].received_at.to_rfc3339(), "2024-09-10T02:00:00Z");
    assert_eq!(
        ds[0].memo.as_ref().unwrap().as_str(),
        "ung ho lu lut tu ******5678"
    );
    assert_eq!(ds[1].donor_name.as_ref().unwrap().as_str(), "T.V.M.");
}

#[test]
fn import_without_dry_run_needs_a_key_and_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = minhbach(
        &[
            "import",
            "bank-statement",
            &data("bidv.tsv"),
            "--campaign",
            "yagi-2024",
            "--account",
            "vcb-1",
        ],
        None,
        dir.path(),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--key is required"), "{}", out.stderr);
}

/// What bash offers after `words` (the last one being completed), with the
/// script `minhbach completions bash` printed loaded the way bash-completion
/// loads it.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; \
         _minhbach minhbach '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &program])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The bash script, run by a real bash, completes commands, nested commands,
/// flags, the statement types after `new` and each type's own flags.
#[test]
fn shell_completions_complete_commands_types_and_their_flags() {
    let dir = tempfile::tempdir().unwrap();
    let bash = ok(minhbach(&["completions", "bash"], None, dir.path()));
    let script = dir.path().join("minhbach.bash");
    std::fs::write(&script, &bash.stdout).unwrap();

    assert_eq!(bash_complete(&script, &["minhbach", "rec"]), ["receipt"]);
    assert_eq!(
        bash_complete(&script, &["minhbach", "receipt", "ve"]),
        ["verify"]
    );
    let types = bash_complete(&script, &["minhbach", "new", "feedback"]);
    assert_eq!(types, ["feedback.open", "feedback.resolve"]);
    let flags = bash_complete(&script, &["minhbach", "new", "disbursement", "--recipient"]);
    assert_eq!(
        flags,
        ["--recipient-beneficiary", "--recipient-organization"]
    );
    // A flag of another type is not offered.
    let donation = bash_complete(&script, &["minhbach", "new", "donation", "--"]);
    assert!(
        donation.iter().any(|f| f == "--external-ref"),
        "{donation:?}"
    );
    assert!(!donation.iter().any(|f| f == "--recipient-beneficiary"));
    let import = bash_complete(&script, &["minhbach", "import", "bank-statement", "--ca"]);
    assert_eq!(import, ["--campaign"]);

    // The other shells get scripts that know the same commands and flags.
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = ok(minhbach(&["completions", shell], None, dir.path()));
        for word in [
            "bank-statement",
            "feedback.resolve",
            "recipient-organization",
        ] {
            assert!(out.stdout.contains(word), "{shell} script lacks {word}");
        }
    }

    // An unknown shell is a usage error that prints no script.
    let tcsh = minhbach(&["completions", "tcsh"], None, dir.path());
    assert_eq!(tcsh.code, 2);
    assert!(tcsh.stdout.is_empty());
    assert!(tcsh.stderr.contains("possible values"), "{}", tcsh.stderr);
}
