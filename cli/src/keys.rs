//! Signing keys on disk: OpenSSH ed25519 private keys (SPEC 4.1.4).
//!
//! Keys made by `minhbach key new` and by `ssh-keygen -t ed25519`, with or
//! without a passphrase, load the same way. A passphrase comes from the
//! environment variable [`PASSPHRASE_ENV`] (for scripts and tests) or is read
//! from the terminal without echo.
//!
//! What it does **not** do: print or log a private key. Files are written
//! with mode 0600, through a temporary file renamed into place, and never
//! over an existing file.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use minhbach_ledger::envelope::KeyId;
use ssh_key::{Algorithm, LineEnding, PrivateKey};
use thiserror::Error;

/// The environment variable holding the passphrase, for scripts and tests.
pub const PASSPHRASE_ENV: &str = "MINHBACH_PASSPHRASE";

/// Errors handling key files.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Refusing to replace an existing key file.
    #[error("{path} already exists: refusing to overwrite a key (choose another --out)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Not an OpenSSH private key.
    #[error("{path} is not an OpenSSH private key: {source}")]
    NotOpenSsh {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: ssh_key::Error,
    },
    /// An OpenSSH key of another algorithm.
    #[error(
        "{path} is a {algorithm} key; minhbach signs with ed25519 keys (ssh-keygen -t ed25519)"
    )]
    NotEd25519 {
        /// The file.
        path: PathBuf,
        /// Its algorithm.
        algorithm: String,
    },
    /// The passphrase does not open the key.
    #[error("wrong passphrase for {path}")]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// No passphrase could be obtained.
    #[error("{0}")]
    Passphrase(String),
    /// Encrypting or encoding the key failed.
    #[error("cannot encode the key: {0}")]
    Encode(ssh_key::Error),
}

/// What `minhbach key new` made.
#[derive(Debug)]
pub struct NewKey {
    /// The private key file.
    pub path: PathBuf,
    /// The `.pub` file beside it.
    pub pub_path: PathBuf,
    /// The public key.
    pub public: VerifyingKey,
}

/// The public key as written in `key.grant` and `genesis` statements:
/// standard base64 of the 32 bytes.
#[must_use]
pub fn public_base64(key: &VerifyingKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

/// The signer's keyid (SPEC 4.1.2) as lowercase hex.
#[must_use]
pub fn keyid_hex(key: &VerifyingKey) -> String {
    KeyId::of(key).to_string()
}

/// Generates a new ed25519 key and writes it to `path` (OpenSSH format,
/// encrypted with `passphrase` when given) and `path.pub`.
///
/// # Errors
/// [`KeyError`] when a file exists or cannot be written.
pub fn generate(path: &Path, passphrase: Option<&str>, comment: &str) -> Result<NewKey, KeyError> {
    let pub_path = pub_path(path);
    for p in [path, pub_path.as_path()] {
        if p.exists() {
            return Err(KeyError::Exists { path: p.into() });
        }
    }
    let mut rng = rand_core::OsRng;
    let mut key = PrivateKey::random(&mut rng, Algorithm::Ed25519).map_err(KeyError::Encode)?;
    key.set_comment(comment);
    let public = verifying_key(&key, path)?;
    let openssh_pub = key.public_key().to_openssh().map_err(KeyError::Encode)?;
    if let Some(p) = passphrase {
        key = key.encrypt(&mut rng, p).map_err(KeyError::Encode)?;
    }
    let text = key.to_openssh(LineEnding::LF).map_err(KeyError::Encode)?;
    write_new(path, text.as_bytes(), 0o600)?;
    write_new(&pub_path, format!("{openssh_pub}\n").as_bytes(), 0o644)?;
    Ok(NewKey {
        path: path.into(),
        pub_path,
        public,
    })
}

/// Loads an ed25519 signing key from an OpenSSH private key file, asking for
/// the passphrase (see [`passphrase`]) if it is encrypted.
///
/// # Errors
/// [`KeyError`] for an unreadable, foreign or non-ed25519 key, or a wrong
/// passphrase.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })?;
    let mut key = PrivateKey::from_openssh(&text).map_err(|source| KeyError::NotOpenSsh {
        path: path.into(),
        source,
    })?;
    if key.is_encrypted() {
        let pass = passphrase(&format!("Passphrase for {}: ", path.display()), false)?;
        key = key
            .decrypt(pass.as_bytes())
            .map_err(|_| KeyError::WrongPassphrase { path: path.into() })?;
    }
    let Some(pair) = key.key_data().ed25519() else {
        return Err(KeyError::NotEd25519 {
            path: path.into(),
            algorithm: key.algorithm().to_string(),
        });
    };
    let signing = SigningKey::from_bytes(&pair.private.to_bytes());
    // A file whose public half does not match its private half is corrupt.
    if signing.verifying_key().as_bytes() != &pair.public.0 {
        return Err(KeyError::NotOpenSsh {
            path: path.into(),
            source: ssh_key::Error::Crypto,
        });
    }
    Ok(signing)
}

/// Reads a public key: an OpenSSH `.pub` line (`ssh-ed25519 AAAA… comment`)
/// or the base64 of the 32 bytes, from a file or given directly.
///
/// # Errors
/// [`KeyError::NotOpenSsh`] or
/// [`KeyError::NotEd25519`] when the text is neither form.
pub fn parse_public(text: &str, origin: &Path) -> Result<VerifyingKey, KeyError> {
    let text = text.trim();
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text)
        && let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice())
        && let Ok(k) = VerifyingKey::from_bytes(&arr)
    {
        return Ok(k);
    }
    let key = ssh_key::PublicKey::from_openssh(text).map_err(|source| KeyError::NotOpenSsh {
        path: origin.into(),
        source,
    })?;
    let Some(ed) = key.key_data().ed25519() else {
        return Err(KeyError::NotEd25519 {
            path: origin.into(),
            algorithm: key.algorithm().to_string(),
        });
    };
    VerifyingKey::from_bytes(&ed.0).map_err(|_| KeyError::NotOpenSsh {
        path: origin.into(),
        source: ssh_key::Error::Crypto,
    })
}

/// Reads a public key file (see [`parse_public`]).
///
/// # Errors
/// As [`parse_public`], plus [`KeyError::Io`].
pub fn load_public(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })?;
    parse_public(&text, path)
}

/// A passphrase from [`PASSPHRASE_ENV`], or else from the terminal (asked
/// twice when `confirm`).
///
/// # Errors
/// [`KeyError::Passphrase`] when there is no terminal, the two entries
/// differ, or the passphrase is empty.
pub fn passphrase(prompt: &str, confirm: bool) -> Result<String, KeyError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(p);
    }
    let first = rpassword::prompt_password(prompt).map_err(|e| {
        KeyError::Passphrase(format!(
            "cannot read a passphrase from the terminal ({e}); set {PASSPHRASE_ENV} in scripts"
        ))
    })?;
    if confirm {
        if first.is_empty() {
            return Err(KeyError::Passphrase(
                "an empty passphrase: use --no-passphrase if you really want an unprotected key"
                    .into(),
            ));
        }
        let second = rpassword::prompt_password("Same passphrase again: ")
            .map_err(|e| KeyError::Passphrase(e.to_string()))?;
        if first != second {
            return Err(KeyError::Passphrase("the passphrases differ".into()));
        }
    }
    Ok(first)
}

fn verifying_key(key: &PrivateKey, path: &Path) -> Result<VerifyingKey, KeyError> {
    let Some(pair) = key.key_data().ed25519() else {
        return Err(KeyError::NotEd25519 {
            path: path.into(),
            algorithm: key.algorithm().to_string(),
        });
    };
    VerifyingKey::from_bytes(&pair.public.0).map_err(|_| KeyError::Encode(ssh_key::Error::Crypto))
}

fn pub_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Writes `bytes` to a new file at `path` with `mode`, atomically: a
/// temporary file in the same folder, synced, then renamed (the rename
/// fails nothing if `path` appeared meanwhile: it is checked first).
///
/// # Errors
/// [`KeyError::Exists`] or [`KeyError::Io`].
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    if path.exists() {
        return Err(KeyError::Exists { path: path.into() });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    // `hard_link` fails if the target exists, so a key is never replaced.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(KeyError::Exists { path: path.into() })
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn unencrypted_key_round_trips_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let made = generate(&path, None, "test").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.verifying_key(), made.public);
        assert_eq!(load_public(&made.pub_path).unwrap(), made.public);
        assert_eq!(
            parse_public(&public_base64(&made.public), &path).unwrap(),
            made.public
        );
        assert_eq!(keyid_hex(&made.public).len(), 32);
        // Never over an existing key.
        assert!(matches!(
            generate(&path, None, "again"),
            Err(KeyError::Exists { .. })
        ));
        assert_eq!(load(&path).unwrap().verifying_key(), made.public);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn rejects_what_is_not_an_ed25519_openssh_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad");
        fs::write(&path, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n").unwrap();
        assert!(matches!(load(&path), Err(KeyError::NotOpenSsh { .. })));
        assert!(matches!(
            load(&dir.path().join("missing")),
            Err(KeyError::Io { .. })
        ));
        assert!(parse_public("not a key", &path).is_err());
    }
}
