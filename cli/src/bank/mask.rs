//! Masking personal data in bank memos, and showing donor names as the
//! campaign's policy says (SPEC 6.10).
//!
//! Masked: every run of 9 or more digits (account, ID and phone numbers
//! written together) and phone numbers written in small groups
//! (`0912 345 678`, `+84 912.345.678`). At most the last 4 digits stay:
//! `0123456789` becomes `******6789`. Short numbers (amounts, dates, NAPAS
//! trace numbers in groups of 6) stay, as donors search for them.

use unicode_normalization::UnicodeNormalization as _;

/// How to show a counterparty's name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NameDisplay {
    /// Omit the name.
    Anonymous,
    /// The name as the bank printed it.
    Full,
    /// Initials only: `Nguyễn Văn An` is `N.V.A.`
    #[default]
    Initials,
}

/// Masks account, phone and ID numbers in `memo` (see the module docs).
#[must_use]
pub fn mask_memo(memo: &str) -> String {
    let chars: Vec<char> = memo.nfc().collect();
    let mut out = String::with_capacity(memo.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A phone-like group sequence: groups of 2-4 digits joined by one
        // space, dot or dash, starting with 0 or 84, 9+ digits in all.
        let (end, digits, groups_ok) = scan_groups(&chars, i);
        let starts_phone = digits.starts_with('0') || digits.starts_with("84");
        if groups_ok && starts_phone && digits.len() >= 9 {
            push_masked(&mut out, &digits);
            i = end;
            continue;
        }
        // Otherwise the plain run of digits.
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        if run.len() >= 9 {
            push_masked(&mut out, &run);
        } else {
            out.push_str(&run);
        }
        i = j;
    }
    out
}

/// Scans digit groups joined by single separators from `start`; returns the
/// end, the digits, and whether every group had 2 to 4 digits (more than one
/// group).
fn scan_groups(chars: &[char], start: usize) -> (usize, String, bool) {
    let mut i = start;
    let mut digits = String::new();
    let mut groups = 0;
    let mut ok = true;
    loop {
        let g = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            digits.push(chars[i]);
            i += 1;
        }
        let len = i - g;
        groups += 1;
        // The first group may be a 2-4 digit prefix; long groups are not a
        // spaced phone number.
        if !(2..=4).contains(&len) {
            ok = false;
        }
        let sep = i + 1 < chars.len()
            && matches!(chars[i], ' ' | '.' | '-')
            && chars[i + 1].is_ascii_digit();
        if !sep {
            break;
        }
        i += 1;
    }
    (i, digits, ok && groups > 1)
}

fn push_masked(out: &mut String, digits: &str) {
    let keep = digits.len().min(4);
    out.extend(std::iter::repeat_n('*', digits.len() - keep));
    out.push_str(&digits[digits.len() - keep..]);
}

/// The name to publish for `name` under `display`, or `None` to omit it.
#[must_use]
pub fn display_name(name: &str, display: NameDisplay) -> Option<String> {
    let name: String = name.nfc().collect();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return None;
    }
    match display {
        NameDisplay::Anonymous => None,
        NameDisplay::Full => Some(mask_memo(&name)),
        NameDisplay::Initials => {
            let initials: String = name
                .split_whitespace()
                .filter_map(|w| w.chars().find(|c| c.is_alphabetic()))
                .flat_map(char::to_uppercase)
                .map(|c| format!("{c}."))
                .collect();
            (!initials.is_empty()).then_some(initials)
        }
    }
}

/// The sender's name written into a memo by the bank, when the export has no
/// counterparty column: `... CT tu <account> NGUYEN VAN A toi ...`
/// (Vietcombank app) or `<trace>.<DDMMYY>.<HHMMSS>.NGUYEN VAN A message`
/// (NAPAS 247): the run of capitalised words at that place.
#[must_use]
pub fn memo_name(memo: &str) -> Option<String> {
    let words: Vec<&str> = memo.split_whitespace().collect();
    let capital =
        |w: &&str| w.chars().all(char::is_alphabetic) && w.chars().all(|c| !c.is_lowercase());
    // Vietcombank: "CT tu <account> NAME toi".
    for i in 0..words.len().saturating_sub(2) {
        if fold(words[i]) == "tu" && i > 0 && fold(words[i - 1]).rsplit('.').next() == Some("ct") {
            let name: Vec<&str> = words[i + 2..].iter().copied().take_while(capital).collect();
            if !name.is_empty() {
                return Some(name.join(" "));
            }
        }
    }
    // NAPAS: three dot-separated digit groups, then the name.
    let parts: Vec<&str> = memo.splitn(4, '.').collect();
    if parts.len() == 4
        && parts[..3]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        let name: Vec<&str> = parts[3].split_whitespace().take_while(capital).collect();
        if name.len() >= 2 {
            return Some(name.join(" "));
        }
    }
    None
}

/// Replaces every occurrence of `name` in `memo` (ignoring case, and
/// accents: memos often arrive without them) by `shown`, or by `***` when the
/// name is not published.
#[must_use]
pub fn hide_name(memo: &str, name: &str, shown: Option<&str>) -> String {
    let key = fold(name.trim());
    if key.chars().filter(|c| c.is_alphabetic()).count() < 2 {
        return memo.to_owned();
    }
    let memo_chars: Vec<char> = memo.nfc().collect();
    // Fold char by char so positions line up with the original.
    let folded: Vec<char> = memo_chars
        .iter()
        .map(|c| fold(&c.to_string()).chars().next().unwrap_or(*c))
        .collect();
    let key: Vec<char> = key.chars().collect();
    let mut out = String::with_capacity(memo.len());
    let mut i = 0;
    while i < memo_chars.len() {
        if folded[i..].starts_with(&key) {
            out.push_str(shown.unwrap_or("***"));
            i += key.len();
        } else {
            out.push(memo_chars[i]);
            i += 1;
        }
    }
    out
}

/// Lowercase, without diacritics (`Đ` is `d`).
fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| match c {
            'Đ' | 'đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn longest_digit_run(s: &str) -> usize {
        s.split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn masks_the_patterns_of_real_memos() {
        assert_eq!(
            mask_memo("MBVCB.1234567890.ung ho.CT tu 0123456789 NGUYEN VAN A toi 0011001932418"),
            "MBVCB.******7890.ung ho.CT tu ******6789 NGUYEN VAN A toi *********2418"
        );
        assert_eq!(
            mask_memo("ung ho tu Viettel Money 84912345678"),
            "ung ho tu Viettel Money *******5678"
        );
        assert_eq!(
            mask_memo("CCCD 079123456789 ung ho"),
            "CCCD ********6789 ung ho"
        );
        assert_eq!(mask_memo("lh 0912 345 678 nhe"), "lh ******5678 nhe");
        assert_eq!(mask_memo("sdt 0912.345.678"), "sdt ******5678");
        // NAPAS trace, date and time stay: they are what donors search.
        assert_eq!(
            mask_memo("123456.100924.153012.TRAN THI B ung ho"),
            "123456.100924.153012.TRAN THI B ung ho"
        );
        // Amounts stay.
        assert_eq!(mask_memo("ung ho 1.000.000 dong"), "ung ho 1.000.000 dong");
        assert_eq!(mask_memo("12345678"), "12345678");
        assert_eq!(mask_memo("123456789"), "*****6789");
    }

    #[test]
    fn names_by_policy() {
        let n = "Nguyễn Văn An";
        assert_eq!(
            display_name(n, NameDisplay::Initials).as_deref(),
            Some("N.V.A.")
        );
        assert_eq!(
            display_name("ĐỖ thị  hoa", NameDisplay::Initials).as_deref(),
            Some("Đ.T.H.")
        );
        assert_eq!(display_name(n, NameDisplay::Full).as_deref(), Some(n));
        assert_eq!(display_name(n, NameDisplay::Anonymous), None);
        assert_eq!(display_name("   ", NameDisplay::Full), None);
    }

    #[test]
    fn finds_names_banks_write_into_memos() {
        assert_eq!(
            memo_name("MBVCB.******7890.ung ho.CT tu ******6789 NGUYEN VAN AN toi *****2418")
                .as_deref(),
            Some("NGUYEN VAN AN")
        );
        assert_eq!(
            memo_name("123456.100924.153012.TRAN THI BINH ung ho").as_deref(),
            Some("TRAN THI BINH")
        );
        assert_eq!(memo_name("ung ho dong bao lu lut"), None);
        assert_eq!(memo_name("123456.100924.153012.ung ho"), None);
    }

    #[test]
    fn hides_the_name_in_the_memo() {
        let memo = "MBVCB.******7890.CT tu ******6789 NGUYEN VAN AN toi";
        assert_eq!(
            hide_name(memo, "Nguyễn Văn An", Some("N.V.A.")),
            "MBVCB.******7890.CT tu ******6789 N.V.A. toi"
        );
        assert_eq!(
            hide_name("Trần Thị Bình ung ho", "TRAN THI BINH", None),
            "*** ung ho"
        );
        assert_eq!(hide_name("ung ho", "A", None), "ung ho");
    }

    proptest! {
        #[test]
        fn no_long_digit_run_survives(memo in "[0-9 .a-zA-Z-]{0,80}") {
            let masked = mask_memo(&memo);
            prop_assert!(longest_digit_run(&masked) <= 8, "{memo:?} -> {masked:?}");
            // Masking only replaces digits by stars.
            prop_assert_eq!(masked.chars().count(), memo.chars().count());
        }

        #[test]
        fn no_long_digit_run_survives_in_digit_heavy_text(memo in "[0-9]{0,30}([ .][0-9]{1,12}){0,4}") {
            prop_assert!(longest_digit_run(&mask_memo(&memo)) <= 8);
        }
    }
}
