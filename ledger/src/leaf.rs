//! The leaf the log stores: an accepted envelope and the time it was logged
//! (SPEC 4.3).
//!
//! A leaf is compact JSON with exactly this shape and field order:
//!
//! ```text
//! {"v":1,"logged_at":"2026-11-23T09:15:02.123Z","envelope":{…}}
//! ```
//!
//! `logged_at` is RFC 3339 in UTC with exactly three fraction digits and `Z`;
//! `envelope` is the envelope's compact JSON ([`Envelope::to_json`]). A leaf is
//! at most [`MAX_LEAF_SIZE`] bytes, the largest entry a C2SP tlog-tiles entry
//! bundle can hold. Its Merkle leaf hash is `SHA-256(0x00 ‖ bytes)` (RFC 9162,
//! section 2.1).
//!
//! The bytes are stored, served and hashed exactly. So that no leaf has two
//! spellings, [`Leaf::parse`] accepts only the bytes [`Leaf::encode`] produces;
//! [`EncodedLeaf`] keeps a leaf together with those bytes.
//!
//! What it does **not** do: it does not verify the envelope's signatures or
//! read its payload; it does not read the clock (the time is an argument).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use ed25519_dalek::SigningKey;
//! use minhbach_ledger::envelope::{Envelope, STATEMENT_PAYLOAD_TYPE};
//! use minhbach_ledger::leaf::Leaf;
//!
//! let key = SigningKey::from_bytes(&[1; 32]);
//! let envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, b"{}".to_vec(), &key);
//! let logged_at = Utc.timestamp_millis_opt(1_795_425_302_123).unwrap();
//! let leaf = Leaf::new(logged_at, envelope);
//!
//! let bytes = leaf.encode()?;
//! assert!(bytes.starts_with(br#"{"v":1,"logged_at":"2026-11-23T09:15:02.123Z","envelope":{"#));
//! assert_eq!(Leaf::parse(&bytes)?, leaf);
//! # Ok::<(), minhbach_ledger::leaf::LeafError>(())
//! ```

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveTime, Timelike as _, Utc};
use serde::Deserialize;

use crate::envelope::{Envelope, EnvelopeError, WireEnvelope};
use crate::merkle::{Hash, leaf_hash};

/// The leaf format version, the value of `"v"`.
pub const LEAF_VERSION: u64 = 1;

/// The largest leaf in bytes: the most a big-endian `uint16` length prefix of a
/// tlog-tiles entry bundle can express.
pub const MAX_LEAF_SIZE: usize = 65_535;

/// The length of `YYYY-MM-DDTHH:MM:SS.mmmZ`.
const TIMESTAMP_LEN: usize = 24;

/// Errors from encoding and parsing leaves.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeafError {
    /// The embedded envelope is malformed (HTTP 400, `malformed`).
    #[error("invalid envelope in leaf")]
    Envelope(#[from] EnvelopeError),
    /// `logged_at` is not `YYYY-MM-DDTHH:MM:SS.mmmZ` naming a valid UTC time.
    #[error("logged_at must be RFC 3339 UTC with milliseconds, like 2026-11-23T09:15:02.123Z")]
    InvalidLoggedAt,
    /// The bytes are not a JSON leaf object with exactly the fields `v`,
    /// `logged_at` and `envelope`.
    #[error("malformed leaf JSON")]
    Json(#[source] serde_json::Error),
    /// The time cannot be written as RFC 3339 with a four-digit year, or is a
    /// leap second.
    #[error("logged_at {logged_at:?} cannot be encoded")]
    LoggedAtOutOfRange {
        /// The time that was to be encoded.
        logged_at: DateTime<Utc>,
    },
    /// The bytes are a valid leaf but not spelled as [`Leaf::encode`] spells it
    /// (whitespace, field order, escapes, base64 alphabet).
    #[error("the leaf is not in canonical form")]
    NotCanonical,
    /// The encoded leaf is longer than [`MAX_LEAF_SIZE`] (HTTP 413, `too_large`).
    #[error("leaf is {size} bytes, at most {max} allowed")]
    TooLarge {
        /// The leaf's size in bytes.
        size: usize,
        /// The limit, [`MAX_LEAF_SIZE`].
        max: usize,
    },
    /// `v` is not [`LEAF_VERSION`].
    #[error("unsupported leaf version {v}")]
    UnsupportedVersion {
        /// The version found.
        v: u64,
    },
}

/// A logged envelope and the time the log accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// When the log accepted the envelope. Encoded to the millisecond;
    /// [`Leaf::new`] truncates it so the value survives a round trip.
    pub logged_at: DateTime<Utc>,
    /// The accepted envelope.
    pub envelope: Envelope,
}

impl Leaf {
    /// A leaf with `logged_at` truncated to the millisecond.
    #[must_use]
    pub fn new(logged_at: DateTime<Utc>, envelope: Envelope) -> Self {
        Self {
            logged_at: truncate_to_millis(logged_at),
            envelope,
        }
    }

    /// The leaf's canonical bytes (see the module documentation).
    ///
    /// # Errors
    ///
    /// [`LeafError::TooLarge`] above [`MAX_LEAF_SIZE`] bytes, and
    /// [`LeafError::LoggedAtOutOfRange`] for a year outside 0000–9999 or a
    /// leap second.
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        let logged_at = format_logged_at(self.logged_at)?;
        let mut out = Vec::with_capacity(
            160 + self.envelope.payload().len() * 4 / 3 + 140 * self.envelope.signatures().len(),
        );
        out.extend_from_slice(b"{\"v\":1,\"logged_at\":\"");
        out.extend_from_slice(logged_at.as_bytes());
        out.extend_from_slice(b"\",\"envelope\":");
        self.envelope.write_json(&mut out);
        out.push(b'}');
        if out.len() > MAX_LEAF_SIZE {
            return Err(LeafError::TooLarge {
                size: out.len(),
                max: MAX_LEAF_SIZE,
            });
        }
        Ok(out)
    }

    /// Parses canonical leaf bytes.
    ///
    /// # Errors
    ///
    /// [`LeafError::TooLarge`], [`LeafError::Json`],
    /// [`LeafError::UnsupportedVersion`], [`LeafError::InvalidLoggedAt`],
    /// [`LeafError::Envelope`], and [`LeafError::NotCanonical`] for a valid
    /// leaf spelled differently from [`Leaf::encode`].
    pub fn parse(bytes: &[u8]) -> Result<Self, LeafError> {
        if bytes.len() > MAX_LEAF_SIZE {
            return Err(LeafError::TooLarge {
                size: bytes.len(),
                max: MAX_LEAF_SIZE,
            });
        }
        let wire: WireLeaf = serde_json::from_slice(bytes).map_err(LeafError::Json)?;
        if wire.v != LEAF_VERSION {
            return Err(LeafError::UnsupportedVersion { v: wire.v });
        }
        let leaf = Self {
            logged_at: parse_logged_at(&wire.logged_at)?,
            envelope: Envelope::try_from(wire.envelope)?,
        };
        if leaf.encode()? != bytes {
            return Err(LeafError::NotCanonical);
        }
        Ok(leaf)
    }

    /// The RFC 9162 leaf hash of the encoded leaf.
    ///
    /// # Errors
    ///
    /// Those of [`Leaf::encode`].
    pub fn hash(&self) -> Result<Hash, LeafError> {
        Ok(leaf_hash(&self.encode()?))
    }

    /// Encodes the leaf and keeps it with its bytes.
    ///
    /// # Errors
    ///
    /// Those of [`Leaf::encode`].
    pub fn into_encoded(self) -> Result<EncodedLeaf, LeafError> {
        let bytes = self.encode()?;
        Ok(EncodedLeaf { bytes, leaf: self })
    }
}

/// A leaf together with its exact bytes, so they are stored, served and hashed
/// without encoding again. `bytes` is always `leaf.encode()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedLeaf {
    bytes: Vec<u8>,
    leaf: Leaf,
}

impl EncodedLeaf {
    /// Parses stored leaf bytes and keeps them.
    ///
    /// # Errors
    ///
    /// Those of [`Leaf::parse`].
    pub fn parse(bytes: Vec<u8>) -> Result<Self, LeafError> {
        let leaf = Leaf::parse(&bytes)?;
        Ok(Self { bytes, leaf })
    }

    /// The exact leaf bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The decoded leaf.
    #[must_use]
    pub fn leaf(&self) -> &Leaf {
        &self.leaf
    }

    /// The RFC 9162 leaf hash of the bytes.
    #[must_use]
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.bytes)
    }

    /// The bytes and the leaf.
    #[must_use]
    pub fn into_parts(self) -> (Vec<u8>, Leaf) {
        (self.bytes, self.leaf)
    }
}

/// The JSON form of a leaf, before the field checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLeaf {
    v: u64,
    logged_at: String,
    envelope: WireEnvelope,
}

/// Drops everything below the millisecond.
fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.nanosecond();
    // Keeps a leap second's extra second (nanos >= 1e9) so encoding still
    // rejects it rather than silently moving the time.
    t.with_nanosecond(nanos - nanos % 1_000_000).unwrap_or(t)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, truncated to the millisecond.
fn format_logged_at(t: DateTime<Utc>) -> Result<String, LeafError> {
    let out_of_range = LeafError::LoggedAtOutOfRange { logged_at: t };
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        return Err(out_of_range);
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1_000_000
    ))
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SS.mmmZ` (no leap seconds).
fn parse_logged_at(s: &str) -> Result<DateTime<Utc>, LeafError> {
    let b = s.as_bytes();
    let shape_ok = b.len() == TIMESTAMP_LEN
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    if !shape_ok {
        return Err(LeafError::InvalidLoggedAt);
    }
    let number = |from: usize, to: usize| -> Result<u32, LeafError> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            if c.is_ascii_digit() {
                Ok(n * 10 + u32::from(c - b'0'))
            } else {
                Err(LeafError::InvalidLoggedAt)
            }
        })
    };
    let year = i32::try_from(number(0, 4)?).map_err(|_| LeafError::InvalidLoggedAt)?;
    let date = NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?);
    let time = NaiveTime::from_hms_milli_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        number(20, 23)?,
    );
    match (date, time) {
        // `from_hms_milli_opt` takes 1000..=1999 ms as a leap second; three
        // digits never reach it, and seconds above 59 are refused.
        (Some(date), Some(time)) => Ok(date.and_time(time).and_utc()),
        _ => Err(LeafError::InvalidLoggedAt),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;
    use crate::envelope::STATEMENT_PAYLOAD_TYPE;

    fn envelope(payload: &[u8]) -> Envelope {
        Envelope::sign(
            STATEMENT_PAYLOAD_TYPE,
            payload.to_vec(),
            &SigningKey::from_bytes(&[1; 32]),
        )
    }

    fn time(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    /// 2026-11-23T09:15:02.123Z
    const MS: i64 = 1_795_425_302_123;

    #[test]
    fn encodes_exact_bytes() {
        let e = envelope(b"{}");
        let leaf = Leaf::new(time(MS), e.clone());
        let bytes = leaf.encode().unwrap();
        let expected = [
            br#"{"v":1,"logged_at":"2026-11-23T09:15:02.123Z","envelope":"#.as_slice(),
            &e.to_json(),
            b"}",
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(leaf.hash().unwrap(), leaf_hash(&expected));
        assert_eq!(Leaf::parse(&bytes).unwrap(), leaf);
    }

    #[test]
    fn logged_at_always_has_three_fraction_digits() {
        let e = envelope(b"{}");
        for (t, text) in [
            (time(0), "1970-01-01T00:00:00.000Z"),
            (time(MS - 123), "2026-11-23T09:15:02.000Z"),
            (time(MS - 113), "2026-11-23T09:15:02.010Z"),
            (
                time(MS) + chrono::Duration::nanoseconds(999_999),
                "2026-11-23T09:15:02.123Z",
            ),
            (
                Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
                "9999-12-31T23:59:59.000Z",
            ),
            (
                Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
                "0000-01-01T00:00:00.000Z",
            ),
        ] {
            // Encoding truncates even without `Leaf::new`.
            let leaf = Leaf {
                logged_at: t,
                envelope: e.clone(),
            };
            let bytes = leaf.encode().unwrap();
            let needle = format!("\"logged_at\":\"{text}\"");
            assert!(
                String::from_utf8(bytes.clone()).unwrap().contains(&needle),
                "{text}"
            );
            assert_eq!(Leaf::parse(&bytes).unwrap(), Leaf::new(t, e.clone()));
        }
    }

    #[test]
    fn new_truncates_to_the_millisecond() {
        let t = time(MS) + chrono::Duration::nanoseconds(456_789);
        assert_eq!(Leaf::new(t, envelope(b"")).logged_at, time(MS));
    }

    #[test]
    fn encode_rejects_unrepresentable_times() {
        let e = envelope(b"{}");
        for t in [
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
            // A leap second.
            Utc.with_ymd_and_hms(2016, 12, 31, 23, 59, 59)
                .unwrap()
                .with_nanosecond(1_500_000_000)
                .unwrap(),
        ] {
            let leaf = Leaf::new(t, e.clone());
            assert!(
                matches!(leaf.encode(), Err(LeafError::LoggedAtOutOfRange { logged_at }) if logged_at == leaf.logged_at),
                "{t:?}"
            );
        }
    }

    #[test]
    fn too_large() {
        // Overhead of the leaf around the payload's base64.
        let overhead = Leaf::new(time(MS), envelope(b"")).encode().unwrap().len();
        let fits = (MAX_LEAF_SIZE - overhead) / 4 * 3;
        let leaf = Leaf::new(time(MS), envelope(&vec![b'a'; fits]));
        assert!(leaf.encode().unwrap().len() <= MAX_LEAF_SIZE);
        let leaf = Leaf::new(time(MS), envelope(&vec![b'a'; fits + 3]));
        let size = leaf.encode().map(|b| b.len());
        assert!(
            matches!(size, Err(LeafError::TooLarge { size, max: MAX_LEAF_SIZE }) if size > MAX_LEAF_SIZE),
            "{size:?}"
        );
        assert!(matches!(leaf.hash(), Err(LeafError::TooLarge { .. })));

        let big = vec![b' '; MAX_LEAF_SIZE + 1];
        assert!(matches!(
            Leaf::parse(&big),
            Err(LeafError::TooLarge { size, max }) if size == MAX_LEAF_SIZE + 1 && max == MAX_LEAF_SIZE
        ));
    }

    /// The canonical bytes of a test leaf as a string.
    fn canonical() -> String {
        String::from_utf8(Leaf::new(time(MS), envelope(b"{}")).encode().unwrap()).unwrap()
    }

    fn parse_edited(from: &str, to: &str) -> Result<Leaf, LeafError> {
        let text = canonical();
        assert!(text.contains(from), "{from}");
        Leaf::parse(text.replacen(from, to, 1).as_bytes())
    }

    #[test]
    fn parse_rejects_other_versions() {
        assert!(matches!(
            parse_edited("\"v\":1", "\"v\":2"),
            Err(LeafError::UnsupportedVersion { v: 2 })
        ));
        assert!(matches!(
            parse_edited("\"v\":1", "\"v\":0"),
            Err(LeafError::UnsupportedVersion { v: 0 })
        ));
        for v in ["1.0", "\"1\"", "-1", "null", "true"] {
            assert!(
                matches!(
                    parse_edited("\"v\":1", &format!("\"v\":{v}")),
                    Err(LeafError::Json(_))
                ),
                "{v}"
            );
        }
    }

    #[test]
    fn parse_rejects_unknown_missing_and_repeated_fields() {
        for (from, to) in [
            ("{\"v\":1,", "{\"v\":1,\"x\":0,"),
            ("{\"v\":1,", "{"),
            ("{\"v\":1,", "{\"v\":1,\"v\":1,"),
            ("\"logged_at\":\"2026-11-23T09:15:02.123Z\",", ""),
            ("\"payloadType\"", "\"x\":1,\"payloadType\""),
        ] {
            assert!(
                matches!(parse_edited(from, to), Err(LeafError::Json(_))),
                "{to}"
            );
        }
        for bytes in [&b""[..], b"{}", b"[]", b"null", b"{\"v\":1}"] {
            assert!(matches!(Leaf::parse(bytes), Err(LeafError::Json(_))));
        }
    }

    #[test]
    fn parse_rejects_other_timestamps() {
        for bad in [
            "2026-11-23T09:15:02Z",
            "2026-11-23T09:15:02.12Z",
            "2026-11-23T09:15:02.1234Z",
            "2026-11-23T09:15:02.123+00:00",
            "2026-11-23T09:15:02.123z",
            "2026-11-23t09:15:02.123Z",
            "2026-11-23 09:15:02.123Z",
            "2026-11-23T09:15:60.123Z",
            "2026-02-29T09:15:02.123Z",
            "2026-13-01T09:15:02.123Z",
            "2026-11-23T24:00:00.000Z",
            "+026-11-23T09:15:02.123Z",
            "2026-11-23T09:15:0२.123Z",
            "",
        ] {
            assert!(
                matches!(
                    parse_edited("2026-11-23T09:15:02.123Z", bad),
                    Err(LeafError::InvalidLoggedAt)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn parse_rejects_a_bad_envelope() {
        assert!(matches!(
            parse_edited("\"signatures\":[{", "\"signatures\":[],\"x\":[{"),
            Err(LeafError::Json(_))
        ));
        let text = canonical();
        let start = text.find("\"signatures\":[").unwrap() + "\"signatures\":[".len();
        let end = text.len() - 3;
        let emptied = format!("{}{}", &text[..start], &text[end..]);
        assert!(matches!(
            Leaf::parse(emptied.as_bytes()),
            Err(LeafError::Envelope(EnvelopeError::NoSignatures))
        ));
    }

    #[test]
    fn parse_rejects_non_canonical_spellings() {
        let text = canonical();
        for variant in [
            format!("{text} "),
            format!(" {text}"),
            text.replacen("{\"v\":1,", "{ \"v\":1,", 1),
            text.replacen(
                "{\"v\":1,\"logged_at\":\"2026-11-23T09:15:02.123Z\",",
                "{\"logged_at\":\"2026-11-23T09:15:02.123Z\",\"v\":1,",
                1,
            ),
            text.replacen("application", "\\u0061pplication", 1),
            text.replacen("\"payload\":\"e30=\"", "\"payload\":\"e30=\" ", 1),
        ] {
            assert!(
                matches!(
                    Leaf::parse(variant.as_bytes()),
                    Err(LeafError::NotCanonical)
                ),
                "{variant}"
            );
        }
    }

    #[test]
    fn encoded_leaf_keeps_the_bytes() {
        let leaf = Leaf::new(time(MS), envelope(b"{\"a\":1}"));
        let encoded = leaf.clone().into_encoded().unwrap();
        assert_eq!(encoded.leaf(), &leaf);
        assert_eq!(encoded.bytes(), leaf.encode().unwrap().as_slice());
        assert_eq!(encoded.hash(), leaf.hash().unwrap());
        let parsed = EncodedLeaf::parse(encoded.bytes().to_vec()).unwrap();
        assert_eq!(parsed, encoded);
        assert_eq!(parsed.into_parts(), (leaf.encode().unwrap(), leaf));
        assert!(EncodedLeaf::parse(b"{}".to_vec()).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Leaf::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_near_leaves(v in 0u64..3, logged_at in "[0-9TZ:.+-]{20,28}") {
            let text = canonical()
                .replacen("\"v\":1", &format!("\"v\":{v}"), 1)
                .replacen("2026-11-23T09:15:02.123Z", &logged_at, 1);
            let _ = Leaf::parse(text.as_bytes());
        }

        #[test]
        fn round_trip(
            ms in 0i64..253_402_300_800_000,
            payload in proptest::collection::vec(any::<u8>(), 0..400),
            payload_type in ".{0,30}",
        ) {
            let e = Envelope::sign(payload_type, payload, &SigningKey::from_bytes(&[9; 32]));
            let leaf = Leaf::new(time(ms), e);
            let bytes = leaf.encode().unwrap();
            let parsed = Leaf::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &leaf);
            prop_assert_eq!(parsed.encode().unwrap(), bytes);
        }
    }
}
