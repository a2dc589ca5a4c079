//! Vietnamese administrative units (SPEC 4.2.2): the official codes of the
//! National Statistics Office, as a data file embedded in the binary.
//!
//! Two editions exist and both are accepted:
//!
//! | edition | since | levels | code forms |
//! | --- | --- | --- | --- |
//! | [`Edition::Current`] | 1 July 2025 | 34 provinces, 3,321 communes (wards, communes, special zones) | `01`, `01-00004` |
//! | [`Edition::Pre2025`] | before | 63 provinces, districts, communes | `pre2025:01`, `pre2025:01-001`, `pre2025:01-001-00001` |
//!
//! A code names its parents, so grouping by province needs no table and a
//! region contains another exactly when the other's code extends it with `-`
//! ([`RegionCode::contains`]). Codes of the two editions never contain each other.
//!
//! The data file `ledger/data/regions.tsv` is generated from the PyPI package
//! `vietnam-provinces` by `ledger/data/generate_regions.py` (see its header).

use std::fmt;
use std::sync::OnceLock;

/// The data file: `code<TAB>level<TAB>name` lines sorted by code, `#` comments.
const REGIONS_TSV: &str = include_str!("../data/regions.tsv");

/// The prefix of codes of the units in force before 1 July 2025.
pub const PRE_2025_PREFIX: &str = "pre2025:";

/// Which list of administrative units a code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Edition {
    /// The units in force since 1 July 2025 (two levels).
    Current,
    /// The units in force before 1 July 2025 (three levels).
    Pre2025,
}

/// The level of an administrative unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Level {
    /// Commune, ward, township or special zone (`xã`, `phường`, `thị trấn`, `đặc khu`).
    Commune,
    /// District (before 2025 only: `quận`, `huyện`, `thị xã`, `thành phố` thuộc tỉnh).
    District,
    /// Province or centrally-run city (`tỉnh`, `thành phố trung ương`).
    Province,
}

/// One row of the official list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The unit's code.
    pub code: &'static str,
    /// The unit's level.
    pub level: Level,
    /// The unit's official Vietnamese name (NFC), e.g. `Phường Ba Đình`.
    pub name: &'static str,
}

/// Why a region code is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// The code does not have the shape of any edition's codes.
    #[error("malformed region code {code:?}")]
    Malformed {
        /// The rejected code (truncated to 40 characters).
        code: String,
    },
    /// Well-formed but not in the official list.
    #[error("region code {code} is not in the official list of administrative units")]
    Unknown {
        /// The rejected code.
        code: String,
    },
}

/// A well-formed administrative unit code (see the module docs for the forms).
///
/// [`RegionCode::parse`] checks the shape only; [`RegionCode::new`] also checks
/// the official list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(Box<str>);

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl RegionCode {
    /// Checks the shape of a code (not the official list).
    ///
    /// # Errors
    /// [`RegionError::Malformed`] when the code has no valid shape.
    pub fn parse(code: &str) -> Result<Self, RegionError> {
        let (rest, widths): (&str, &[usize]) = match code.strip_prefix(PRE_2025_PREFIX) {
            Some(rest) => (rest, &[2, 3, 5]),
            None => (code, &[2, 5]),
        };
        let parts: Vec<&str> = rest.split('-').collect();
        let ok = match (parts.len(), widths.len()) {
            (1, _) => all_digits(parts[0], 2),
            (2, 2) => all_digits(parts[0], 2) && all_digits(parts[1], 5),
            (2, 3) => all_digits(parts[0], 2) && all_digits(parts[1], 3),
            (3, 3) => all_digits(parts[0], 2) && all_digits(parts[1], 3) && all_digits(parts[2], 5),
            _ => false,
        };
        if ok {
            Ok(Self(code.into()))
        } else {
            Err(RegionError::Malformed {
                code: code.chars().take(40).collect(),
            })
        }
    }

    /// Parses a code and checks it against the official list.
    ///
    /// # Errors
    /// [`RegionError`] when the code is malformed or not in the list.
    pub fn new(code: &str) -> Result<Self, RegionError> {
        let c = Self::parse(code)?;
        if c.info().is_none() {
            return Err(RegionError::Unknown { code: code.into() });
        }
        Ok(c)
    }

    /// The code as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The edition the code belongs to.
    #[must_use]
    pub fn edition(&self) -> Edition {
        if self.0.starts_with(PRE_2025_PREFIX) {
            Edition::Pre2025
        } else {
            Edition::Current
        }
    }

    /// The level, read from the code's shape.
    #[must_use]
    pub fn level(&self) -> Level {
        let dashes = self.0.bytes().filter(|&b| b == b'-').count();
        match (self.edition(), dashes) {
            (_, 0) => Level::Province,
            (Edition::Pre2025, 1) => Level::District,
            _ => Level::Commune,
        }
    }

    /// The province containing this unit (itself for a province).
    #[must_use]
    pub fn province(&self) -> RegionCode {
        match self.0.find('-') {
            Some(i) => RegionCode(self.0[..i].into()),
            None => self.clone(),
        }
    }

    /// Whether `other` is this unit or lies inside it.
    #[must_use]
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.len() >= self.0.len()
            && other.0.starts_with(&*self.0)
            && (other.0.len() == self.0.len() || other.0.as_bytes()[self.0.len()] == b'-')
    }

    /// The unit's row in the official list, if it is there.
    #[must_use]
    pub fn info(&self) -> Option<RegionInfo> {
        lookup(&self.0)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Deserializing checks the shape only; [`crate::statement::Statement::from_json`]
/// then checks every code against the official list, so an unknown code gets its
/// own rejection code (`unknown_region`).
impl<'de> serde::Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn table() -> &'static [RegionInfo] {
    static TABLE: OnceLock<Vec<RegionInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: Vec<RegionInfo> = REGIONS_TSV
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut it = l.splitn(3, '\t');
                let code = it.next()?;
                let level = match it.next()? {
                    "p" => Level::Province,
                    "d" => Level::District,
                    "c" => Level::Commune,
                    _ => return None,
                };
                let name = it.next()?;
                Some(RegionInfo { code, level, name })
            })
            .collect();
        // The generator sorts; sorting again keeps lookups right if a hand edit did not.
        rows.sort_unstable_by(|a, b| a.code.cmp(b.code));
        rows
    })
}

/// Looks a code up in the official list.
#[must_use]
pub fn lookup(code: &str) -> Option<RegionInfo> {
    let t = table();
    t.binary_search_by(|r| r.code.cmp(code)).ok().map(|i| t[i])
}

/// Every unit of one edition, sorted by code.
pub fn units(edition: Edition) -> impl Iterator<Item = RegionInfo> {
    table().iter().copied().filter(move |r| {
        let pre = r.code.starts_with(PRE_2025_PREFIX);
        match edition {
            Edition::Current => !pre,
            Edition::Pre2025 => pre,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_2025_reform() {
        let count = |e, l| units(e).filter(|r| r.level == l).count();
        assert_eq!(count(Edition::Current, Level::Province), 34);
        assert_eq!(count(Edition::Current, Level::Commune), 3321);
        assert_eq!(count(Edition::Pre2025, Level::Province), 63);
        assert!(count(Edition::Pre2025, Level::Commune) > 10_000);
    }

    #[test]
    fn every_row_parses_with_its_level_and_a_known_parent() {
        for r in table() {
            let c = RegionCode::parse(r.code).unwrap();
            assert_eq!(c.level(), r.level, "{}", r.code);
            assert!(lookup(c.province().as_str()).is_some(), "{}", r.code);
        }
    }

    #[test]
    fn lookups() {
        let hn = RegionCode::new("01").unwrap();
        assert_eq!(hn.info().unwrap().name, "Thành phố Hà Nội");
        let ba_dinh = RegionCode::new("01-00004").unwrap();
        assert_eq!(ba_dinh.info().unwrap().name, "Phường Ba Đình");
        assert!(hn.contains(&ba_dinh));
        assert!(!ba_dinh.contains(&hn));
        assert_eq!(ba_dinh.province(), hn);
        let old = RegionCode::new("pre2025:01-001-00001").unwrap();
        assert_eq!(old.edition(), Edition::Pre2025);
        assert!(RegionCode::new("pre2025:01").unwrap().contains(&old));
        assert!(!hn.contains(&old));
        assert!(matches!(
            RegionCode::new("99"),
            Err(RegionError::Unknown { .. })
        ));
        assert!(matches!(
            RegionCode::new("1"),
            Err(RegionError::Malformed { .. })
        ));
        assert!(matches!(
            RegionCode::new("01-0004"),
            Err(RegionError::Malformed { .. })
        ));
        assert!(RegionCode::parse("0").is_err());
        // "01" must not contain "010..." style codes of another shape.
        assert!(
            !RegionCode::parse("01")
                .unwrap()
                .contains(&RegionCode::parse("pre2025:01").unwrap())
        );
    }
}
