//! C2SP tlog-policy (<https://c2sp.org/tlog-policy>): which logs and
//! witnesses a verifier trusts, and which cosignatures make a checkpoint
//! valid.
//!
//! A policy file is line based ("Structure"):
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <member>...
//! quorum <name>|none
//! ```
//!
//! with comments (`#`) and blank lines, fields separated by spaces and tabs,
//! names defined before use, each name at most once per group, exactly one
//! quorum line, no two logs (or two witnesses) with the same public key
//! ("Public key representation": a log and a witness may share one), and
//! only the octets 0x09, 0x0A, 0x20–0x7E and 0x80–0xFF ("Character set").
//! Names and URLs are opaque octet strings. Log keys must be Ed25519 note keys
//! (type `0x01`), witness keys Ed25519 cosignature keys (type `0x04`).
//!
//! What this module does **not** do: it fetches nothing (URLs are kept, never
//! used), reads no clock and keeps no state; [`Policy::verify_checkpoint`]
//! decides on one checkpoint alone, offline.
//!
//! Implementation limits: at most [`MAX_POLICY_SIZE`] bytes and
//! [`MAX_DEFINITIONS`] logs, witnesses and groups each (the specification
//! recommends supporting at least 32 of each).
//!
//! ```
//! use minhbach_ledger::policy::Policy;
//!
//! let text = "\
//! log PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW
//! quorum none
//! ";
//! let policy = Policy::parse(text.as_bytes())?;
//! assert_eq!(policy.logs().len(), 1);
//! assert_eq!(policy.format(), text.as_bytes());
//! # Ok::<(), minhbach_ledger::policy::PolicyError>(())
//! ```

use std::collections::HashMap;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, open_checkpoint};
use crate::note::{Note, NoteError, SignatureType, VerifierKey};

/// The largest policy file accepted, in bytes.
pub const MAX_POLICY_SIZE: usize = 1 << 20;

/// The most logs, witnesses or groups (each) a policy may define.
pub const MAX_DEFINITIONS: usize = 1024;

/// The predefined name for "no cosignatures required".
const NONE: &[u8] = b"none";

/// Errors from parsing a policy and from verifying a checkpoint under it.
/// Line numbers start at 1.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The checkpoint could not be opened under any matching log key.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A log or witness has the same public key as an earlier one.
    #[error("line {line}: duplicate public key")]
    DuplicateKey {
        /// The line number.
        line: usize,
    },
    /// A group lists the same member twice.
    #[error("line {line}: {} is listed twice", String::from_utf8_lossy(name))]
    DuplicateMember {
        /// The line number.
        line: usize,
        /// The repeated member name.
        name: Vec<u8>,
    },
    /// A witness or group name is already defined.
    #[error("line {line}: {} is already defined", String::from_utf8_lossy(name))]
    DuplicateName {
        /// The line number.
        line: usize,
        /// The name.
        name: Vec<u8>,
    },
    /// A group line lists no members.
    #[error("line {line}: group has no members")]
    EmptyGroup {
        /// The line number.
        line: usize,
    },
    /// An octet outside 0x09, 0x0A, 0x20–0x7E, 0x80–0xFF.
    #[error("line {line}: forbidden octet 0x{byte:02x}")]
    InvalidCharacter {
        /// The line number.
        line: usize,
        /// The octet.
        byte: u8,
    },
    /// A vkey does not parse.
    #[error("line {line}: invalid key")]
    InvalidKey {
        /// The line number.
        line: usize,
        /// Why the key was refused.
        #[source]
        source: NoteError,
    },
    /// A group threshold is not `all`, `any` or a decimal k with 1 ≤ k ≤ n.
    #[error("line {line}: invalid threshold")]
    InvalidThreshold {
        /// The line number.
        line: usize,
    },
    /// An unknown keyword or a wrong number of fields.
    #[error("line {line}: malformed line")]
    MalformedLine {
        /// The line number.
        line: usize,
    },
    /// The policy has no quorum line.
    #[error("policy has no quorum line")]
    MissingQuorum,
    /// A second quorum line.
    #[error("line {line}: second quorum line")]
    MultipleQuorums {
        /// The line number.
        line: usize,
    },
    /// The checkpoint's verified cosignatures do not satisfy the quorum.
    #[error("quorum not met ({cosigned} trusted cosignatures verified)")]
    QuorumNotMet {
        /// How many trusted witnesses' cosignatures verified.
        cosigned: usize,
    },
    /// `none` used as a witness or group name, or as a group member.
    #[error("line {line}: the name none is reserved")]
    ReservedName {
        /// The line number.
        line: usize,
    },
    /// The policy is larger than [`MAX_POLICY_SIZE`].
    #[error("policy is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// The size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_DEFINITIONS`] logs, witnesses or groups.
    #[error("line {line}: more than {max} definitions of one kind")]
    TooManyDefinitions {
        /// The line number.
        line: usize,
        /// The limit.
        max: usize,
    },
    /// A group or the quorum names something not defined on an earlier line.
    #[error("line {line}: {} is not defined", String::from_utf8_lossy(name))]
    UndefinedName {
        /// The line number.
        line: usize,
        /// The name.
        name: Vec<u8>,
    },
    /// No log in the policy has the checkpoint's origin as its key name.
    #[error("no log in the policy has origin {origin:?}")]
    UnknownLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// A log key is not of type `0x01`, or a witness key not of type `0x04`.
    #[error("line {line}: wrong key type: expected {expected:?}, got {actual:?}")]
    WrongKeyType {
        /// The line number.
        line: usize,
        /// The type needed.
        expected: SignatureType,
        /// The key's type.
        actual: SignatureType,
    },
}

/// A trusted log ("Defining a log").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// The log's key; its name is the log's origin.
    pub key: VerifierKey,
    /// The optional URL, as opaque octets.
    pub url: Option<Vec<u8>>,
}

/// A trusted witness ("Defining a witness").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// The name used in groups and the quorum (opaque octets).
    pub name: Vec<u8>,
    /// The witness's cosignature key.
    pub key: VerifierKey,
    /// The optional URL, as opaque octets.
    pub url: Option<Vec<u8>>,
}

/// How many members of a group must have witnessed a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// Every member (k = n).
    All,
    /// At least one member (k = 1).
    Any,
    /// At least k members, 1 ≤ k ≤ n.
    AtLeast(usize),
}

impl Threshold {
    /// The number of members required out of `n`.
    #[must_use]
    pub fn required(self, n: usize) -> usize {
        match self {
            Self::All => n,
            Self::Any => 1,
            Self::AtLeast(k) => k,
        }
    }
}

/// A group member or the quorum's target: an index into
/// [`Policy::witnesses`] or [`Policy::groups`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// A witness, by index.
    Witness(usize),
    /// A group defined earlier, by index.
    Group(usize),
}

/// A witness group ("Defining a witness group").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGroup {
    /// The group's name (opaque octets).
    pub name: Vec<u8>,
    /// How many members must have witnessed.
    pub threshold: Threshold,
    /// The members, in the order written; each at most once.
    pub members: Vec<Member>,
}

/// The quorum rule ("Defining the quorum").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quorum {
    /// `quorum none`: no cosignature required.
    None,
    /// A witness or group must have witnessed the checkpoint.
    Member(Member),
}

/// A parsed trust policy. Built only by [`Policy::parse`], so every name
/// refers to an earlier definition and every threshold fits its group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Quorum,
}

impl Policy {
    /// Parses a policy file.
    ///
    /// A final line without a newline is accepted.
    ///
    /// # Errors
    /// Every [`PolicyError`] variant except `Checkpoint`, `QuorumNotMet` and
    /// `UnknownLog`.
    pub fn parse(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::TooLarge {
                size: bytes.len(),
                max: MAX_POLICY_SIZE,
            });
        }
        let mut parser = Parser::default();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            parser.line(i + 1, line)?;
        }
        Ok(Self {
            logs: parser.logs,
            witnesses: parser.witnesses,
            groups: parser.groups,
            quorum: parser.quorum.ok_or(PolicyError::MissingQuorum)?,
        })
    }

    /// Encodes the policy canonically: logs, witnesses, groups (in definition
    /// order) and the quorum, one per line, single spaces, no comments.
    /// [`Policy::parse`] of the result gives back an equal policy.
    #[must_use]
    pub fn format(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for log in &self.logs {
            out.extend_from_slice(b"log ");
            out.extend_from_slice(log.key.to_string().as_bytes());
            push_url(&mut out, log.url.as_deref());
        }
        for w in &self.witnesses {
            out.extend_from_slice(b"witness ");
            out.extend_from_slice(&w.name);
            out.push(b' ');
            out.extend_from_slice(w.key.to_string().as_bytes());
            push_url(&mut out, w.url.as_deref());
        }
        for g in &self.groups {
            out.extend_from_slice(b"group ");
            out.extend_from_slice(&g.name);
            match g.threshold {
                Threshold::All => out.extend_from_slice(b" all"),
                Threshold::Any => out.extend_from_slice(b" any"),
                Threshold::AtLeast(k) => out.extend_from_slice(format!(" {k}").as_bytes()),
            }
            for m in &g.members {
                out.push(b' ');
                out.extend_from_slice(self.member_name(*m));
            }
            out.push(b'\n');
        }
        out.extend_from_slice(b"quorum ");
        match self.quorum {
            Quorum::None => out.extend_from_slice(NONE),
            Quorum::Member(m) => out.extend_from_slice(self.member_name(m)),
        }
        out.push(b'\n');
        out
    }

    /// Same as [`Policy::format`], named like the other encoders.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.format()
    }

    /// The trusted logs.
    #[must_use]
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The known witnesses.
    #[must_use]
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The witness groups, in definition order.
    #[must_use]
    pub fn groups(&self) -> &[PolicyGroup] {
        &self.groups
    }

    /// The quorum rule.
    #[must_use]
    pub fn quorum(&self) -> Quorum {
        self.quorum
    }

    /// Verifies a signed checkpoint under the policy: it must be signed by
    /// one of the listed logs whose key name is the origin, every signature
    /// line from a listed witness must verify, and the witnesses whose
    /// cosignatures verified must satisfy the quorum.
    ///
    /// # Errors
    /// [`PolicyError::Checkpoint`] if the note or checkpoint is malformed or
    /// no matching log key opens it (the last log's error is reported),
    /// [`PolicyError::UnknownLog`] and [`PolicyError::QuorumNotMet`].
    pub fn verify_checkpoint(&self, bytes: &[u8]) -> Result<VerifiedCheckpoint, PolicyError> {
        let note = Note::parse(bytes).map_err(CheckpointError::from)?;
        let checkpoint = Checkpoint::parse(note.text().as_bytes())?;
        let witness_keys: Vec<VerifierKey> = self.witnesses.iter().map(|w| w.key.clone()).collect();
        let mut last_error = None;
        let mut opened = None;
        for log in self
            .logs
            .iter()
            .filter(|l| l.key.name().as_str() == checkpoint.origin())
        {
            match open_checkpoint(bytes, &log.key, &witness_keys) {
                Ok(signed) => {
                    opened = Some(signed);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let signed = match (opened, last_error) {
            (Some(signed), _) => signed,
            (None, Some(e)) => return Err(e.into()),
            (None, None) => {
                return Err(PolicyError::UnknownLog {
                    origin: checkpoint.origin().to_owned(),
                });
            }
        };
        let mut witnessed = vec![false; self.witnesses.len()];
        for c in signed.cosignatures() {
            if let Some(w) = witnessed.get_mut(c.cosigner) {
                *w = true;
            }
        }
        if !self.quorum_met(&witnessed) {
            return Err(PolicyError::QuorumNotMet {
                cosigned: witnessed.iter().filter(|&&w| w).count(),
            });
        }
        let cosigned_by = self
            .witnesses
            .iter()
            .zip(&witnessed)
            .filter(|&(_, &w)| w)
            .map(|(w, _)| w.name.clone())
            .collect();
        Ok(VerifiedCheckpoint {
            signed,
            witnesses: cosigned_by,
        })
    }

    /// Evaluates the quorum given which witnesses cosigned. Groups only name
    /// earlier groups, so evaluating them in definition order computes the
    /// recursive definition ("Defining a witness group") without recursion.
    fn quorum_met(&self, witnessed: &[bool]) -> bool {
        let mut group_ok: Vec<bool> = Vec::with_capacity(self.groups.len());
        let holds = |m: Member, group_ok: &[bool]| match m {
            Member::Witness(i) => witnessed.get(i).copied().unwrap_or(false),
            Member::Group(j) => group_ok.get(j).copied().unwrap_or(false),
        };
        for g in &self.groups {
            let count = g.members.iter().filter(|&&m| holds(m, &group_ok)).count();
            group_ok.push(count >= g.threshold.required(g.members.len()));
        }
        match self.quorum {
            Quorum::None => true,
            Quorum::Member(m) => holds(m, &group_ok),
        }
    }

    fn member_name(&self, m: Member) -> &[u8] {
        match m {
            Member::Witness(i) => self.witnesses.get(i).map_or(&[][..], |w| &w.name),
            Member::Group(j) => self.groups.get(j).map_or(&[][..], |g| &g.name),
        }
    }
}

/// Ends a log or witness line: the optional URL, then the newline.
fn push_url(out: &mut Vec<u8>, url: Option<&[u8]>) {
    if let Some(url) = url {
        out.push(b' ');
        out.extend_from_slice(url);
    }
    out.push(b'\n');
}

/// A checkpoint that satisfied a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    signed: SignedCheckpoint,
    witnesses: Vec<Vec<u8>>,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &Checkpoint {
        self.signed.checkpoint()
    }

    /// The opened signed checkpoint, with its verified cosignatures.
    #[must_use]
    pub fn signed(&self) -> &SignedCheckpoint {
        &self.signed
    }

    /// The policy names of the witnesses whose cosignatures verified, in
    /// policy order.
    #[must_use]
    pub fn witnesses(&self) -> &[Vec<u8>] {
        &self.witnesses
    }
}

/// Line-by-line parser state.
#[derive(Default)]
struct Parser {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Option<Quorum>,
    names: HashMap<Vec<u8>, Member>,
}

impl Parser {
    fn line(&mut self, line: usize, bytes: &[u8]) -> Result<(), PolicyError> {
        if let Some(&byte) = bytes.iter().find(|&&b| !allowed_octet(b)) {
            return Err(PolicyError::InvalidCharacter { line, byte });
        }
        let fields: Vec<&[u8]> = bytes
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|f| !f.is_empty())
            .collect();
        let Some((&keyword, args)) = fields.split_first() else {
            return Ok(());
        };
        if keyword.starts_with(b"#") {
            return Ok(());
        }
        match keyword {
            b"log" => self.log(line, args),
            b"witness" => self.witness(line, args),
            b"group" => self.group(line, args),
            b"quorum" => self.quorum(line, args),
            _ => Err(PolicyError::MalformedLine { line }),
        }
    }

    fn log(&mut self, line: usize, args: &[&[u8]]) -> Result<(), PolicyError> {
        let (key, url) = match args {
            [key] => (key, None),
            [key, url] => (key, Some(url.to_vec())),
            _ => return Err(PolicyError::MalformedLine { line }),
        };
        let key = parse_key(line, key, SignatureType::Ed25519)?;
        if self
            .logs
            .iter()
            .any(|l| l.key.public_key() == key.public_key())
        {
            return Err(PolicyError::DuplicateKey { line });
        }
        check_count(line, self.logs.len())?;
        self.logs.push(PolicyLog { key, url });
        Ok(())
    }

    fn witness(&mut self, line: usize, args: &[&[u8]]) -> Result<(), PolicyError> {
        let (name, key, url) = match args {
            [name, key] => (name, key, None),
            [name, key, url] => (name, key, Some(url.to_vec())),
            _ => return Err(PolicyError::MalformedLine { line }),
        };
        self.check_new_name(line, name)?;
        let key = parse_key(line, key, SignatureType::CosignatureV1)?;
        if self
            .witnesses
            .iter()
            .any(|w| w.key.public_key() == key.public_key())
        {
            return Err(PolicyError::DuplicateKey { line });
        }
        check_count(line, self.witnesses.len())?;
        self.names
            .insert(name.to_vec(), Member::Witness(self.witnesses.len()));
        self.witnesses.push(PolicyWitness {
            name: name.to_vec(),
            key,
            url,
        });
        Ok(())
    }

    fn group(&mut self, line: usize, args: &[&[u8]]) -> Result<(), PolicyError> {
        let (name, threshold, member_names) = match args {
            [_] | [] => return Err(PolicyError::MalformedLine { line }),
            [_, _] => return Err(PolicyError::EmptyGroup { line }),
            [name, threshold, members @ ..] => (name, threshold, members),
        };
        self.check_new_name(line, name)?;
        let mut members = Vec::with_capacity(member_names.len());
        for (i, &m) in member_names.iter().enumerate() {
            if m == NONE {
                return Err(PolicyError::ReservedName { line });
            }
            let member = *self
                .names
                .get(m)
                .ok_or_else(|| PolicyError::UndefinedName {
                    line,
                    name: m.to_vec(),
                })?;
            if member_names[..i].contains(&m) {
                return Err(PolicyError::DuplicateMember {
                    line,
                    name: m.to_vec(),
                });
            }
            members.push(member);
        }
        let n = members.len();
        let threshold = match *threshold {
            b"all" => Threshold::All,
            b"any" => Threshold::Any,
            k => {
                let k = parse_threshold(k).ok_or(PolicyError::InvalidThreshold { line })?;
                if k == 0 || k > n {
                    return Err(PolicyError::InvalidThreshold { line });
                }
                Threshold::AtLeast(k)
            }
        };
        check_count(line, self.groups.len())?;
        self.names
            .insert(name.to_vec(), Member::Group(self.groups.len()));
        self.groups.push(PolicyGroup {
            name: name.to_vec(),
            threshold,
            members,
        });
        Ok(())
    }

    fn quorum(&mut self, line: usize, args: &[&[u8]]) -> Result<(), PolicyError> {
        let [name] = args else {
            return Err(PolicyError::MalformedLine { line });
        };
        if self.quorum.is_some() {
            return Err(PolicyError::MultipleQuorums { line });
        }
        let quorum =
            if *name == NONE {
                Quorum::None
            } else {
                Quorum::Member(*self.names.get(*name).ok_or_else(|| {
                    PolicyError::UndefinedName {
                        line,
                        name: name.to_vec(),
                    }
                })?)
            };
        self.quorum = Some(quorum);
        Ok(())
    }

    fn check_new_name(&self, line: usize, name: &[u8]) -> Result<(), PolicyError> {
        if name == NONE {
            return Err(PolicyError::ReservedName { line });
        }
        if self.names.contains_key(name) {
            return Err(PolicyError::DuplicateName {
                line,
                name: name.to_vec(),
            });
        }
        Ok(())
    }
}

/// The octets a policy file may contain ("Character set").
fn allowed_octet(b: u8) -> bool {
    b == b'\t' || b == b'\n' || (0x20..=0x7e).contains(&b) || b >= 0x80
}

fn parse_key(
    line: usize,
    field: &[u8],
    expected: SignatureType,
) -> Result<VerifierKey, PolicyError> {
    let text = std::str::from_utf8(field).map_err(|_| PolicyError::InvalidKey {
        line,
        source: NoteError::MalformedKey,
    })?;
    let key =
        VerifierKey::parse(text).map_err(|source| PolicyError::InvalidKey { line, source })?;
    if key.sig_type() != expected {
        return Err(PolicyError::WrongKeyType {
            line,
            expected,
            actual: key.sig_type(),
        });
    }
    Ok(key)
}

/// A decimal threshold (leading zeroes tolerated: the spec only says
/// "decimal"); `None` for anything else or for overflow.
fn parse_threshold(field: &[u8]) -> Option<usize> {
    if field.is_empty() || field.len() > 19 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn check_count(line: usize, count: usize) -> Result<(), PolicyError> {
    if count >= MAX_DEFINITIONS {
        return Err(PolicyError::TooManyDefinitions {
            line,
            max: MAX_DEFINITIONS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;
    use crate::checkpoint::{LogSigner, add_cosignatures, sign_checkpoint};
    use crate::cosignature::Cosigner;
    use crate::merkle::Hash;
    use crate::note::KeyName;

    const ORIGIN: &str = "example.org/minhbach";

    fn log_signer(seed: u8) -> LogSigner {
        LogSigner::new(
            KeyName::new(ORIGIN).unwrap(),
            SigningKey::from_bytes(&[seed; 32]),
        )
    }

    fn cosigner(i: u8) -> Cosigner {
        Cosigner::new(
            KeyName::new(format!("w{i}.example")).unwrap(),
            SigningKey::from_bytes(&[100 + i; 32]),
        )
    }

    fn wkey(i: u8) -> String {
        cosigner(i).verifier().to_string()
    }

    fn lkey(seed: u8) -> String {
        log_signer(seed).verifier().to_string()
    }

    fn parse_str(s: &str) -> Result<Policy, PolicyError> {
        Policy::parse(s.as_bytes())
    }

    /// The spec's two-level example, with real keys.
    fn example_policy() -> String {
        format!(
            "# example\n\
             log {log} https://log.example/\n\
             \n\
             witness X1 {x1}\n\
             witness X2 {x2}\n\
             \twitness  X3\t{x3}   https://x3.example/  \n\
             group X-witnesses 2 X1 X2 X3\n\
             \n\
             witness Y1 {y1}\n\
             witness Y2 {y2}\n\
             witness Y3 {y3}\n\
             group Y-witnesses any Y1 Y2 Y3\n\
             \n\
             group X-and-Y all X-witnesses Y-witnesses\n\
             quorum X-and-Y\n",
            log = lkey(1),
            x1 = wkey(1),
            x2 = wkey(2),
            x3 = wkey(3),
            y1 = wkey(4),
            y2 = wkey(5),
            y3 = wkey(6),
        )
    }

    fn signed_with(witnesses: &[u8]) -> Vec<u8> {
        let checkpoint = Checkpoint::new(ORIGIN, 5, Hash([3; 32]), vec![]).unwrap();
        let signed = sign_checkpoint(&checkpoint, &log_signer(1));
        let body = checkpoint.to_body();
        let lines: Vec<_> = witnesses
            .iter()
            .map(|&i| cosigner(i).cosign(&body, 1000 + u64::from(i)).unwrap())
            .collect();
        add_cosignatures(&signed, &lines).unwrap()
    }

    #[test]
    fn parses_the_spec_example() {
        let p = parse_str(&example_policy()).unwrap();
        assert_eq!(p.logs().len(), 1);
        assert_eq!(
            p.logs()[0].url.as_deref(),
            Some(&b"https://log.example/"[..])
        );
        assert_eq!(p.witnesses().len(), 6);
        assert_eq!(p.witnesses()[2].name, b"X3");
        assert_eq!(
            p.witnesses()[2].url.as_deref(),
            Some(&b"https://x3.example/"[..])
        );
        assert_eq!(p.groups().len(), 3);
        assert_eq!(p.groups()[0].threshold, Threshold::AtLeast(2));
        assert_eq!(p.groups()[1].threshold, Threshold::Any);
        assert_eq!(
            p.groups()[2],
            PolicyGroup {
                name: b"X-and-Y".to_vec(),
                threshold: Threshold::All,
                members: vec![Member::Group(0), Member::Group(1)],
            }
        );
        assert_eq!(p.quorum(), Quorum::Member(Member::Group(2)));
        let formatted = p.format();
        assert_eq!(Policy::parse(&formatted).unwrap(), p);
        assert_eq!(Policy::parse(&formatted).unwrap().format(), formatted);
    }

    #[test]
    fn exact_format() {
        let text = format!(
            "log {l}\nwitness a {a} https://a.example/\nwitness b {b}\ngroup g 1 a b\ngroup h all g\nquorum h\n",
            l = lkey(1),
            a = wkey(1),
            b = wkey(2)
        );
        assert_eq!(parse_str(&text).unwrap().format(), text.as_bytes());
        assert_eq!(parse_str(&text).unwrap().to_bytes(), text.as_bytes());
    }

    #[test]
    fn opaque_non_ascii_names_and_missing_final_newline() {
        let text = format!(
            "witness K {a}\nwitness \u{212a} {b}\ngroup g all K \u{212a}\nquorum g",
            a = wkey(1),
            b = wkey(2)
        );
        let p = parse_str(&text).unwrap();
        assert_eq!(p.witnesses()[1].name, "\u{212a}".as_bytes());
        // Non-UTF-8 names are opaque octets too.
        let raw = [
            b"witness \xff\xfe ".as_slice(),
            wkey(1).as_bytes(),
            b"\nquorum \xff\xfe\n",
        ]
        .concat();
        let p = Policy::parse(&raw).unwrap();
        assert_eq!(p.quorum(), Quorum::Member(Member::Witness(0)));
        assert_eq!(p.format(), raw);
    }

    #[test]
    fn parse_rejections() {
        let (l, a, b) = (lkey(1), wkey(1), wkey(2));
        let cases: Vec<(String, PolicyError)> = vec![
            (format!("log {l}\n"), PolicyError::MissingQuorum),
            (String::new(), PolicyError::MissingQuorum),
            (
                "quorum none\nquorum none\n".into(),
                PolicyError::MultipleQuorums { line: 2 },
            ),
            ("quorum\n".into(), PolicyError::MalformedLine { line: 1 }),
            (
                "quorum a b\n".into(),
                PolicyError::MalformedLine { line: 1 },
            ),
            (
                "quorum x\n".into(),
                PolicyError::UndefinedName {
                    line: 1,
                    name: b"x".to_vec(),
                },
            ),
            (
                format!("quorum a\nwitness a {a}\n"),
                PolicyError::UndefinedName {
                    line: 1,
                    name: b"a".to_vec(),
                },
            ),
            (
                "frobnicate x\nquorum none\n".into(),
                PolicyError::MalformedLine { line: 1 },
            ),
            (
                "log\nquorum none\n".into(),
                PolicyError::MalformedLine { line: 1 },
            ),
            (
                format!("log {l} u extra\n"),
                PolicyError::MalformedLine { line: 1 },
            ),
            ("witness a\n".into(), PolicyError::MalformedLine { line: 1 }),
            (
                format!("witness a {a} u extra\n"),
                PolicyError::MalformedLine { line: 1 },
            ),
            ("group g\n".into(), PolicyError::MalformedLine { line: 1 }),
            (
                format!("witness a {a}\ngroup g all\n"),
                PolicyError::EmptyGroup { line: 2 },
            ),
            (
                format!("log {l}\r\nquorum none\n"),
                PolicyError::InvalidCharacter {
                    line: 1,
                    byte: b'\r',
                },
            ),
            (
                "quorum none\n\x7f\n".into(),
                PolicyError::InvalidCharacter {
                    line: 2,
                    byte: 0x7f,
                },
            ),
            (
                "log x+00000000+AAAA\n".into(),
                PolicyError::InvalidKey {
                    line: 1,
                    source: NoteError::UnknownKeyType { key_type: 0 },
                },
            ),
            (
                "log x+00000000+AQ==\n".into(),
                PolicyError::InvalidKey {
                    line: 1,
                    source: NoteError::MalformedKey,
                },
            ),
            (
                format!("log {a}\n"),
                PolicyError::WrongKeyType {
                    line: 1,
                    expected: SignatureType::Ed25519,
                    actual: SignatureType::CosignatureV1,
                },
            ),
            (
                format!("witness a {l}\n"),
                PolicyError::WrongKeyType {
                    line: 1,
                    expected: SignatureType::CosignatureV1,
                    actual: SignatureType::Ed25519,
                },
            ),
            (
                format!("log {l}\nlog {l} url\n"),
                PolicyError::DuplicateKey { line: 2 },
            ),
            (
                format!("witness a {a}\nwitness b {a}\n"),
                PolicyError::DuplicateKey { line: 2 },
            ),
            (
                format!("witness a {a}\nwitness a {b}\n"),
                PolicyError::DuplicateName {
                    line: 2,
                    name: b"a".to_vec(),
                },
            ),
            (
                format!("witness a {a}\ngroup a any a\n"),
                PolicyError::DuplicateName {
                    line: 2,
                    name: b"a".to_vec(),
                },
            ),
            (
                format!("witness none {a}\n"),
                PolicyError::ReservedName { line: 1 },
            ),
            (
                format!("witness a {a}\ngroup g any a none\n"),
                PolicyError::ReservedName { line: 2 },
            ),
            (
                format!("witness a {a}\ngroup g any a b\n"),
                PolicyError::UndefinedName {
                    line: 2,
                    name: b"b".to_vec(),
                },
            ),
            (
                format!("witness a {a}\ngroup g any a a\n"),
                PolicyError::DuplicateMember {
                    line: 2,
                    name: b"a".to_vec(),
                },
            ),
            (
                format!("witness a {a}\ngroup g 0 a\n"),
                PolicyError::InvalidThreshold { line: 2 },
            ),
            (
                format!("witness a {a}\ngroup g 2 a\n"),
                PolicyError::InvalidThreshold { line: 2 },
            ),
            (
                format!("witness a {a}\ngroup g -1 a\n"),
                PolicyError::InvalidThreshold { line: 2 },
            ),
            (
                format!("witness a {a}\ngroup g some a\n"),
                PolicyError::InvalidThreshold { line: 2 },
            ),
            (
                format!("witness a {a}\ngroup g 99999999999999999999999 a\n"),
                PolicyError::InvalidThreshold { line: 2 },
            ),
            (
                format!("witness a {a}\ngroup g ALL a\n"),
                PolicyError::InvalidThreshold { line: 2 },
            ),
            // A group cannot name itself (it is not defined yet).
            (
                format!("witness a {a}\ngroup g any a g\n"),
                PolicyError::UndefinedName {
                    line: 2,
                    name: b"g".to_vec(),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_str(&text), Err(want), "{text:?}");
        }
        // Comments and blank lines anywhere; inline "#" is not a comment.
        assert!(parse_str("  # c\n\t\n#\nquorum none # trailing\n").is_err());
        assert!(parse_str("  # c\n\t\n#\nquorum none\n   \n").is_ok());
        // Leading zeroes in a threshold are decimal still.
        assert!(parse_str(&format!("witness a {a}\ngroup g 01 a\nquorum g\n")).is_ok());

        let big = vec![b'#'; MAX_POLICY_SIZE + 1];
        assert_eq!(
            Policy::parse(&big),
            Err(PolicyError::TooLarge {
                size: MAX_POLICY_SIZE + 1,
                max: MAX_POLICY_SIZE
            })
        );
    }

    #[test]
    fn definition_limit() {
        let mut text = String::new();
        for i in 0..=MAX_DEFINITIONS {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = LogSigner::new(
                KeyName::new(format!("l{i}")).unwrap(),
                SigningKey::from_bytes(&seed),
            )
            .verifier();
            text.push_str(&format!("log {key}\n"));
        }
        text.push_str("quorum none\n");
        assert_eq!(
            parse_str(&text),
            Err(PolicyError::TooManyDefinitions {
                line: MAX_DEFINITIONS + 1,
                max: MAX_DEFINITIONS
            })
        );
    }

    #[test]
    fn quorum_evaluation() {
        let p = parse_str(&example_policy()).unwrap();
        // X needs 2 of (1,2,3); Y needs 1 of (4,5,6); quorum needs both.
        let cases: &[(&[u8], bool)] = &[
            (&[], false),
            (&[1, 2], false),
            (&[4, 5, 6], false),
            (&[1, 4], false),
            (&[1, 2, 4], true),
            (&[2, 3, 6], true),
            (&[1, 2, 3, 4, 5, 6], true),
            (&[3, 1, 5], true),
        ];
        for &(ws, ok) in cases {
            let result = p.verify_checkpoint(&signed_with(ws));
            if ok {
                let v = result.unwrap();
                assert_eq!(v.witnesses().len(), ws.len());
                assert_eq!(v.signed().cosignatures().len(), ws.len());
                assert_eq!(v.checkpoint().size(), 5);
            } else {
                assert_eq!(
                    result,
                    Err(PolicyError::QuorumNotMet { cosigned: ws.len() }),
                    "{ws:?}"
                );
            }
        }
        // Cosignatures from witnesses outside the policy do not count.
        assert!(matches!(
            p.verify_checkpoint(&signed_with(&[1, 7, 8, 4])),
            Err(PolicyError::QuorumNotMet { cosigned: 2 })
        ));
    }

    #[test]
    fn simple_quorums() {
        let (l, a) = (lkey(1), wkey(1));
        let none = parse_str(&format!("log {l}\nwitness a {a}\nquorum none\n")).unwrap();
        assert!(none.verify_checkpoint(&signed_with(&[])).is_ok());
        let v = none.verify_checkpoint(&signed_with(&[1])).unwrap();
        assert_eq!(v.witnesses(), &[b"a".to_vec()]);
        let single = parse_str(&format!("log {l}\nwitness a {a}\nquorum a\n")).unwrap();
        assert!(single.verify_checkpoint(&signed_with(&[1])).is_ok());
        assert_eq!(
            single.verify_checkpoint(&signed_with(&[2])),
            Err(PolicyError::QuorumNotMet { cosigned: 0 })
        );
    }

    #[test]
    fn log_selection() {
        let a = wkey(1);
        // Two keys for the same origin (rotation): either may sign.
        let two = parse_str(&format!("log {}\nlog {}\nquorum none\n", lkey(9), lkey(1))).unwrap();
        assert!(two.verify_checkpoint(&signed_with(&[])).is_ok());
        // Only a different key for the origin: the log signature is unknown.
        let wrong = parse_str(&format!("log {}\nquorum none\n", lkey(9))).unwrap();
        assert_eq!(
            wrong.verify_checkpoint(&signed_with(&[])),
            Err(PolicyError::Checkpoint(CheckpointError::Note(
                NoteError::NoKnownSignature
            )))
        );
        // No log with that origin.
        let other = LogSigner::new(
            KeyName::new("other.example").unwrap(),
            SigningKey::from_bytes(&[1; 32]),
        );
        let p = parse_str(&format!(
            "log {}\nwitness a {a}\nquorum none\n",
            other.verifier()
        ))
        .unwrap();
        assert_eq!(
            p.verify_checkpoint(&signed_with(&[])),
            Err(PolicyError::UnknownLog {
                origin: ORIGIN.into()
            })
        );
        // Malformed input.
        assert_eq!(
            p.verify_checkpoint(b"nope"),
            Err(PolicyError::Checkpoint(CheckpointError::Note(
                NoteError::MissingSignatures
            )))
        );
        // A bad cosignature from a listed witness rejects the checkpoint.
        let checkpoint = Checkpoint::new(ORIGIN, 5, Hash([3; 32]), vec![]).unwrap();
        let signed = sign_checkpoint(&checkpoint, &log_signer(1));
        let bad = add_cosignatures(&signed, &[cosigner(1).cosign("x\n", 1).unwrap()]).unwrap();
        let p = parse_str(&format!("log {}\nwitness a {a}\nquorum none\n", lkey(1))).unwrap();
        assert!(matches!(
            p.verify_checkpoint(&bad),
            Err(PolicyError::Checkpoint(CheckpointError::Note(
                NoteError::InvalidSignature { .. }
            )))
        ));
    }

    /// Builds a valid policy text from generated choices.
    fn build(
        n_logs: usize,
        n_witnesses: usize,
        groups: &[(Vec<bool>, u8)],
        quorum: usize,
        urls: bool,
    ) -> String {
        let mut out = String::new();
        for i in 0..n_logs {
            out.push_str(&format!("log {}", lkey(i as u8 + 1)));
            if urls && i % 2 == 0 {
                out.push_str(&format!(" https://log{i}.example/"));
            }
            out.push('\n');
        }
        let mut names: Vec<String> = Vec::new();
        for i in 0..n_witnesses {
            out.push_str(&format!("witness w{i} {}", wkey(i as u8)));
            if urls && i % 2 == 1 {
                out.push_str(" https://w.example/");
            }
            out.push('\n');
            names.push(format!("w{i}"));
        }
        for (gi, (mask, t)) in groups.iter().enumerate() {
            let members: Vec<&String> = names
                .iter()
                .zip(mask)
                .filter(|&(_, &m)| m)
                .map(|(n, _)| n)
                .collect();
            if members.is_empty() {
                continue;
            }
            let threshold = match t % 3 {
                0 => "all".to_owned(),
                1 => "any".to_owned(),
                _ => (usize::from(*t) % members.len() + 1).to_string(),
            };
            let list: Vec<&str> = members.iter().map(|s| s.as_str()).collect();
            out.push_str(&format!("group g{gi} {threshold} {}\n", list.join(" ")));
            names.push(format!("g{gi}"));
        }
        match quorum.checked_rem(names.len() + 1) {
            Some(q) if q < names.len() => out.push_str(&format!("quorum {}\n", names[q])),
            _ => out.push_str("quorum none\n"),
        }
        out
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Policy::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_near_policies(
            lines in proptest::collection::vec(
                prop_oneof![
                    Just("log".to_owned()), Just("witness".to_owned()), Just("group".to_owned()),
                    Just("quorum".to_owned()), Just("none".to_owned()), Just("all".to_owned()),
                    Just("any".to_owned()), Just("0".to_owned()), Just("2".to_owned()),
                    Just("a".to_owned()), Just("b".to_owned()), Just(wkey(1)), Just(lkey(1)),
                    Just("\n".to_owned()), Just("#".to_owned()), Just("\t".to_owned()),
                ],
                0..40,
            )
        ) {
            let _ = parse_str(&lines.join(" "));
        }

        #[test]
        fn format_parse_identity(
            n_logs in 0usize..3,
            n_witnesses in 0usize..6,
            groups in proptest::collection::vec((proptest::collection::vec(any::<bool>(), 6), any::<u8>()), 0..4),
            quorum in any::<usize>(),
            urls in any::<bool>(),
        ) {
            let text = build(n_logs, n_witnesses, &groups, quorum, urls);
            let p = parse_str(&text).unwrap();
            prop_assert_eq!(p.format(), text.as_bytes());
            prop_assert_eq!(Policy::parse(&p.format()).unwrap(), p);
        }
    }
}
