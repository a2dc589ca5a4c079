//! Timestamps: RFC 3339 in UTC, written with a `Z` (SPEC 4.2.2).

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

/// An instant written as RFC 3339 UTC with a `Z` suffix, e.g.
/// `2024-09-10T08:30:00Z` or `2024-09-10T08:30:00.123Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// Why a timestamp is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// Not RFC 3339, or not in UTC with a `Z` suffix.
    #[error("not an RFC 3339 UTC time ending in Z: {value:?}")]
    Invalid {
        /// The rejected text (truncated to 40 characters).
        value: String,
    },
}

impl Timestamp {
    /// Parses RFC 3339 text in UTC (`Z` suffix).
    ///
    /// # Errors
    /// [`TimestampError`] when the text is not RFC 3339 UTC.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let invalid = || TimestampError::Invalid {
            value: s.chars().take(40).collect(),
        };
        if !s.ends_with('Z') || s.len() > 40 || s.as_bytes().get(10) != Some(&b'T') {
            return Err(invalid());
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self(t.with_timezone(&Utc)))
            .map_err(|_| invalid())
    }

    /// Wraps a UTC instant.
    #[must_use]
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t)
    }

    /// The instant.
    #[must_use]
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }

    /// RFC 3339 text with a `Z`, with as many fractional digits as needed.
    #[must_use]
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

super::string_serde!(Timestamp, parse, to_rfc3339);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_only() {
        assert!(Timestamp::parse("2024-09-10T08:30:00Z").is_ok());
        assert!(Timestamp::parse("2024-09-10T08:30:00.123Z").is_ok());
        assert!(Timestamp::parse("2024-09-10T08:30:00+07:00").is_err());
        assert!(Timestamp::parse("2024-09-10 08:30:00Z").is_err());
        assert!(Timestamp::parse("2024-09-10").is_err());
        let t = Timestamp::parse("2024-09-10T08:30:00.120Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-09-10T08:30:00.120Z");
    }
}
