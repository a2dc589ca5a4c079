//! VietQR payloads (NAPAS, on EMVCo merchant-presented QR): what a banking
//! app reads to prefill a transfer to a registered receiving account.
//!
//! The payload is a run of EMVCo data objects, each `ID (2 digits) ‖ length
//! (2 digits) ‖ value`:
//!
//! | ID | value |
//! | --- | --- |
//! | `00` | payload format indicator `01` |
//! | `01` | point of initiation: `11` static, `12` with an amount |
//! | `38` | `00` GUID `A000000727`, `01` (`00` bank BIN, `01` account number), `02` service `QRIBFTTA` (transfer to an account) |
//! | `53` | currency `704` (VND) |
//! | `54` | amount (optional) |
//! | `58` | country `VN` |
//! | `62` | additional data: `08` purpose of the transfer (a campaign code, so credits match donations) |
//! | `63` | CRC-16/CCITT-FALSE of everything before it, `6304` included, 4 upper-case hex digits |
//!
//! What this module does not do: draw the QR code ([`super::qr`]).

use std::fmt::Write as _;

/// NAPAS bank identification numbers of the banks receiving accounts are
/// most often held at, by the names officials write in `institution`
/// (matched without case, spaces or punctuation).
const BINS: &[(&str, &str)] = &[
    ("acb", "970416"),
    ("agribank", "970405"),
    ("bidv", "970418"),
    ("mb", "970422"),
    ("mbbank", "970422"),
    ("sacombank", "970403"),
    ("techcombank", "970407"),
    ("tpbank", "970423"),
    ("vietcombank", "970436"),
    ("vietinbank", "970415"),
    ("vpbank", "970432"),
];

/// The 6-digit BIN of a bank named `institution`, if it is one we know.
#[must_use]
pub(crate) fn bank_bin(institution: &str) -> Option<&'static str> {
    let key: String = institution
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    BINS.iter().find(|(name, _)| *name == key).map(|(_, b)| *b)
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
/// reflection, no final XOR (check value of `123456789`: 0x29B1).
#[must_use]
pub(crate) fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Why a payload cannot be built.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VietQrError {
    /// The BIN is not 6 digits.
    Bin,
    /// The account number is not 1–19 letters or digits.
    Account,
    /// The purpose is longer than 25 characters or not printable ASCII.
    Purpose,
}

fn tlv(out: &mut String, id: &str, value: &str) {
    // Every value here is checked to be shorter than 100 ASCII characters.
    let _ = write!(out, "{id}{:02}{value}", value.len());
}

/// The VietQR payload for a transfer to `account` at the bank `bin`, with an
/// optional amount (₫) and purpose.
///
/// # Errors
/// [`VietQrError`] if a field cannot be encoded.
pub(crate) fn payload(
    bin: &str,
    account: &str,
    amount: Option<u64>,
    purpose: Option<&str>,
) -> Result<String, VietQrError> {
    if bin.len() != 6 || !bin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VietQrError::Bin);
    }
    if account.is_empty()
        || account.len() > 19
        || !account.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(VietQrError::Account);
    }
    if let Some(p) = purpose
        && (p.is_empty() || p.len() > 25 || !p.bytes().all(|b| (0x20..0x7f).contains(&b)))
    {
        return Err(VietQrError::Purpose);
    }
    let mut beneficiary = String::new();
    tlv(&mut beneficiary, "00", bin);
    tlv(&mut beneficiary, "01", account);
    let mut merchant = String::new();
    tlv(&mut merchant, "00", "A000000727");
    tlv(&mut merchant, "01", &beneficiary);
    tlv(&mut merchant, "02", "QRIBFTTA");
    let mut out = String::with_capacity(160);
    tlv(&mut out, "00", "01");
    tlv(&mut out, "01", if amount.is_some() { "12" } else { "11" });
    tlv(&mut out, "38", &merchant);
    tlv(&mut out, "53", "704");
    if let Some(a) = amount {
        tlv(&mut out, "54", &a.to_string());
    }
    tlv(&mut out, "58", "VN");
    if let Some(p) = purpose {
        let mut additional = String::new();
        tlv(&mut additional, "08", p);
        tlv(&mut out, "62", &additional);
    }
    out.push_str("6304");
    let crc = crc16_ccitt_false(out.as_bytes());
    let _ = write!(out, "{crc:04X}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt_false(b""), 0xFFFF);
    }

    #[test]
    fn reproduces_a_published_payload_byte_for_byte() {
        // A payment QR published by a Vietnamese invoicing service:
        // Vietcombank (970436), account 1023456789, 1,943,000 ₫, purpose TT000069.
        let published = "00020101021238540010A00000072701240006970436011010234567890208QRIBFTTA\
                         5303704540719430005802VN62120808TT0000696304A8E5";
        assert_eq!(
            payload("970436", "1023456789", Some(1_943_000), Some("TT000069")).unwrap(),
            published
        );
    }

    #[test]
    fn crc_of_other_published_payloads() {
        // MB (970422), a virtual account, 7,000 ₫, purpose "TL89 100".
        let p = "00020101021238570010A000000727012700069704220113VQRQADAIJ55120208QRIBFTTA\
                 5303704540470005802VN62120808TL89 1006304";
        assert_eq!(format!("{:04X}", crc16_ccitt_false(p.as_bytes())), "E346");
    }

    #[test]
    fn static_payload_of_a_demo_account() {
        let p = payload("970436", "0011001932418", None, Some("bao-yagi")).unwrap();
        assert!(p.starts_with("000201010211"));
        assert!(p.contains("0010A000000727"));
        assert!(p.contains("0006970436"));
        assert!(p.contains("01130011001932418"));
        assert!(p.contains("0208QRIBFTTA"));
        assert!(p.contains("5303704"));
        assert!(!p.contains("5404"), "no amount field");
        assert!(p.contains("5802VN"));
        assert!(p.contains("62120808bao-yagi"));
        let (body, crc) = p.split_at(p.len() - 4);
        assert!(body.ends_with("6304"));
        assert_eq!(crc, format!("{:04X}", crc16_ccitt_false(body.as_bytes())));
    }

    #[test]
    fn refuses_what_it_cannot_encode() {
        assert_eq!(payload("97043", "1", None, None), Err(VietQrError::Bin));
        assert_eq!(payload("97043x", "1", None, None), Err(VietQrError::Bin));
        assert_eq!(payload("970436", "", None, None), Err(VietQrError::Account));
        assert_eq!(
            payload("970436", "12345678901234567890", None, None),
            Err(VietQrError::Account)
        );
        assert_eq!(
            payload("970436", "0011-001", None, None),
            Err(VietQrError::Account)
        );
        assert_eq!(
            payload("970436", "1", None, Some("ủng hộ")),
            Err(VietQrError::Purpose)
        );
        assert_eq!(
            payload("970436", "1", None, Some(&"x".repeat(26))),
            Err(VietQrError::Purpose)
        );
    }

    #[test]
    fn bank_names_map_to_bins() {
        assert_eq!(bank_bin("Vietcombank"), Some("970436"));
        assert_eq!(bank_bin("VietinBank"), Some("970415"));
        assert_eq!(bank_bin("BIDV"), Some("970418"));
        assert_eq!(bank_bin("MB Bank"), Some("970422"));
        assert_eq!(bank_bin("Ngân hàng Không Tồn Tại"), None);
    }
}
