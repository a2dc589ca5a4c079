//! Human text (titles, names, memos, reasons): UTF-8, normalized to NFC.
//!
//! Vietnamese has two ways to write most letters with diacritics (precomposed
//! `ế` or `e` + combining marks). Text is normalized to NFC when parsed, so
//! equal words compare equal and search works whatever keyboard produced them.
//! The signed payload bytes are never changed; only the parsed value is NFC.

use std::fmt;

use unicode_normalization::{IsNormalized, UnicodeNormalization as _, is_nfc_quick};

/// The longest text field, in bytes after normalization.
pub const MAX_TEXT_BYTES: usize = 2000;

/// A non-blank, NFC-normalized string of at most [`MAX_TEXT_BYTES`] bytes,
/// without control characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Box<str>);

/// Why text is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Empty or only white space.
    #[error("text is blank")]
    Blank,
    /// Contains a control character (including newlines).
    #[error("text contains the control character U+{code:04X}")]
    Control {
        /// The code point.
        code: u32,
    },
    /// Longer than [`MAX_TEXT_BYTES`] after normalization.
    #[error("text is {len} bytes long, more than {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl Text {
    /// Normalizes to NFC and validates.
    ///
    /// # Errors
    /// [`TextError`] when the text is blank, too long or has control characters.
    pub fn new(s: &str) -> Result<Self, TextError> {
        let normalized: Box<str> = match is_nfc_quick(s.chars()) {
            IsNormalized::Yes => s.into(),
            _ => s.nfc().collect::<String>().into_boxed_str(),
        };
        if normalized.trim().is_empty() {
            return Err(TextError::Blank);
        }
        if let Some(c) = normalized.chars().find(|c| c.is_control()) {
            return Err(TextError::Control { code: u32::from(c) });
        }
        if normalized.len() > MAX_TEXT_BYTES {
            return Err(TextError::TooLong {
                len: normalized.len(),
                max: MAX_TEXT_BYTES,
            });
        }
        Ok(Self(normalized))
    }

    /// The text (NFC).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The longest run of ASCII digits in the text. A run of 9 or more digits
    /// looks like an account, phone or ID number (SPEC 6.10).
    #[must_use]
    pub fn longest_digit_run(&self) -> usize {
        let mut best = 0;
        let mut run = 0;
        for b in self.0.bytes() {
            if b.is_ascii_digit() {
                run += 1;
                best = best.max(run);
            } else {
                run = 0;
            }
        }
        best
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_serde!(Text);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_to_nfc() {
        let decomposed = "Nguye\u{302}\u{303}n"; // e + circumflex + tilde
        let t = Text::new(decomposed).unwrap();
        assert_eq!(t.as_str(), "Nguyễn");
        assert_eq!(t, Text::new("Nguyễn").unwrap());
    }

    #[test]
    fn rejects_blank_and_controls() {
        assert_eq!(Text::new("  "), Err(TextError::Blank));
        assert!(matches!(
            Text::new("a\nb"),
            Err(TextError::Control { code: 10 })
        ));
        assert!(Text::new(&"x".repeat(MAX_TEXT_BYTES + 1)).is_err());
    }

    #[test]
    fn digit_runs() {
        assert_eq!(
            Text::new("ung ho 0123456789").unwrap().longest_digit_run(),
            10
        );
        assert_eq!(
            Text::new("ung ho 012***789").unwrap().longest_digit_run(),
            3
        );
    }
}
