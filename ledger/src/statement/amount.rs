//! Amounts and assets (SPEC 4.2.2).
//!
//! Amounts are JSON integers in the asset's smallest unit (VND has none: 1 = 1 ₫),
//! `1 ≤ amount ≤ 2^53 − 1`, so every amount survives a round trip through a
//! JavaScript number. Sums use checked arithmetic.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount or balance: 2^53 − 1.
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;

/// `1234567` as `1.234.567`: dots between thousands, as Vietnamese banks print
/// amounts. The one formatter of amounts for people, used by the explorer and
/// the CLI alike.
#[must_use]
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// An amount of `asset` for people: `1.000.000 ₫` for VND, `250 kg gạo` for
/// rice in kind, `12 other_code` for any other asset code.
#[must_use]
pub fn format_amount(n: u64, asset: &str) -> String {
    match asset {
        "VND" => format!("{} ₫", group_thousands(n)),
        "kg_rice" => format!("{} kg gạo", group_thousands(n)),
        other => format!("{} {other}", group_thousands(n)),
    }
}

/// A strictly positive amount in an asset's smallest unit, at most [`MAX_AMOUNT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

impl Amount {
    /// Checks `1 ≤ value ≤ 2^53 − 1`.
    ///
    /// # Errors
    /// [`AmountError`] when the value is zero or too large.
    pub fn new(value: u64) -> Result<Self, AmountError> {
        match value {
            0 => Err(AmountError::Zero),
            v if v > MAX_AMOUNT => Err(AmountError::TooLarge { value }),
            v => Ok(Self(v)),
        }
    }

    /// The amount as an integer.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        Self::new(v).map_err(serde::de::Error::custom)
    }
}

/// A balance: like [`Amount`] but may be zero (`0 ≤ value ≤ 2^53 − 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Balance(u64);

impl Balance {
    /// Checks `value ≤ 2^53 − 1`.
    ///
    /// # Errors
    /// [`AmountError::TooLarge`] when the value is too large.
    pub fn new(value: u64) -> Result<Self, AmountError> {
        if value > MAX_AMOUNT {
            return Err(AmountError::TooLarge { value });
        }
        Ok(Self(value))
    }

    /// The balance as an integer.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Serialize for Balance {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Balance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        Self::new(v).map_err(serde::de::Error::custom)
    }
}

/// Why a number is not a valid amount.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The amount is larger than 2^53 − 1.
    #[error("amount {value} is larger than 2^53 - 1")]
    TooLarge {
        /// The rejected value.
        value: u64,
    },
    /// The amount is zero.
    #[error("amount must be at least 1")]
    Zero,
}

/// An asset code: `VND`, or an in-kind unit such as `kg_rice`
/// (an ASCII letter, then up to 31 ASCII letters, digits or `_`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asset(Box<str>);

impl Asset {
    /// Validates an asset code.
    ///
    /// # Errors
    /// [`IdentError`](super::IdentError) when the code has the wrong shape.
    pub fn new(code: &str) -> Result<Self, super::IdentError> {
        let ok = !code.is_empty()
            && code.len() <= 32
            && code.as_bytes()[0].is_ascii_alphabetic()
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Self(code.into()))
        } else {
            Err(super::IdentError::Invalid {
                kind: "asset",
                value: code.into(),
            })
        }
    }

    /// The code as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_serde!(Asset);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_for_people() {
        assert_eq!(format_amount(1_000_000, "VND"), "1.000.000 ₫");
        assert_eq!(format_amount(500_000, "VND"), "500.000 ₫");
        assert_eq!(format_amount(1_999_999, "VND"), "1.999.999 ₫");
        assert_eq!(format_amount(52_222, "VND"), "52.222 ₫");
        assert_eq!(format_amount(999, "VND"), "999 ₫");
        assert_eq!(format_amount(0, "VND"), "0 ₫");
        assert_eq!(format_amount(1_250, "kg_rice"), "1.250 kg gạo");
        assert_eq!(format_amount(12, "tarp"), "12 tarp");
        assert_eq!(group_thousands(10_847_331_843), "10.847.331.843");
        assert_eq!(group_thousands(100), "100");
        assert_eq!(group_thousands(1_000), "1.000");
    }

    #[test]
    fn amount_bounds() {
        assert_eq!(Amount::new(0), Err(AmountError::Zero));
        assert!(Amount::new(1).is_ok());
        assert!(Amount::new(MAX_AMOUNT).is_ok());
        assert!(Amount::new(MAX_AMOUNT + 1).is_err());
        assert!(Balance::new(0).is_ok());
    }

    #[test]
    fn amount_json_is_strict() {
        assert!(serde_json::from_str::<Amount>("500000").is_ok());
        assert!(serde_json::from_str::<Amount>("500000.0").is_err());
        assert!(serde_json::from_str::<Amount>("-1").is_err());
        assert!(serde_json::from_str::<Amount>("\"5\"").is_err());
        assert!(serde_json::from_str::<Amount>("9007199254740992").is_err());
    }

    #[test]
    fn asset_codes() {
        assert!(Asset::new("VND").is_ok());
        assert!(Asset::new("kg_rice").is_ok());
        assert!(Asset::new("1kg").is_err());
        assert!(Asset::new("").is_err());
        assert!(Asset::new("kg rice").is_err());
    }
}
