//! The server's data directory:
//!
//! ```text
//! <data>/log/                 the RocksDB log (leaves, node hashes, checkpoint)
//! <data>/log.key              the log's C2SP signed-note signer key (PRIVATE+KEY+…), mode 0600
//! <data>/log.vkey             its verifier key, public
//! <data>/officials/<id>.key   demo officials' Ed25519 keys, OpenSSH format, mode 0600
//! <data>/officials/<id>.pub   their OpenSSH public keys
//! ```
//!
//! Directories are created mode 0700. Secret files are written to a temporary
//! file, fsync'd and renamed into place, so a crash never leaves half a key.
//! Nothing here prints or logs a private key.
//!
//! Officials' keys use the unencrypted OpenSSH format (SPEC 4.1.4), so that
//! `ssh-keygen -y -f <id>.key` shows the public key. The server reads them only
//! to sign its own demo history.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use minhbach_ledger::checkpoint::{CheckpointError, LogSigner, open_checkpoint};
use minhbach_ledger::note::{KeyName, NoteError, Signer};
use minhbach_ledger::store::rocks::{RocksOptions, RocksStore};
use minhbach_ledger::store::{LogStore as _, StoreError};
use rand_core::CryptoRngCore;

/// Errors of the data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A key file does not hold a key of the expected format.
    #[error("{path}: not a valid key file: {reason}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never the key itself).
        reason: &'static str,
    },
    /// The stored checkpoint does not verify with the log key on disk.
    #[error("the stored checkpoint does not verify with {path}")]
    KeyMismatch {
        /// The log key file.
        path: PathBuf,
        /// Why it does not verify.
        #[source]
        source: CheckpointError,
    },
    /// The log holds entries but its key is missing: a new key would sign
    /// checkpoints that nobody's verifier key accepts.
    #[error("the log in {log} holds {size} entries but its key {key} is missing")]
    MissingLogKey {
        /// The log directory.
        log: PathBuf,
        /// The missing key file.
        key: PathBuf,
        /// The log's size.
        size: u64,
    },
    /// The log key's name is not a valid origin.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A data directory (see the module documentation for its layout).
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// The server's RocksDB budget: 64 MiB of block cache and 64 MiB of
/// memtables. The index and filter blocks of the open tables come on top
/// (about 9 bytes per entry). With them, the server stays well under 512 MiB
/// at ten million entries (docs/PERFORMANCE.md, "Load"); reads beyond the
/// cache come from the operating system's page cache.
const SERVER_STORE: RocksOptions = RocksOptions {
    block_cache_bytes: 64 << 20,
    write_buffer_bytes: 64 << 20,
    sync: true,
};

impl DataDir {
    /// The data directory at `root` (nothing is touched yet).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The RocksDB directory.
    #[must_use]
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    /// The log's signer key file.
    #[must_use]
    pub fn log_key_path(&self) -> PathBuf {
        self.root.join("log.key")
    }

    /// The log's verifier key file.
    #[must_use]
    pub fn log_vkey_path(&self) -> PathBuf {
        self.root.join("log.vkey")
    }

    /// The demo officials' key directory.
    #[must_use]
    pub fn officials_dir(&self) -> PathBuf {
        self.root.join("officials")
    }

    /// Creates the directory (mode 0700) if it does not exist.
    ///
    /// # Errors
    /// [`DataDirError::Io`].
    pub fn create(&self) -> Result<(), DataDirError> {
        create_private_dir(&self.root)
    }

    /// Opens (creating) the RocksDB log. A store of an older layout is
    /// rebuilt from its leaves first, which is logged.
    ///
    /// # Errors
    /// [`DataDirError::Store`] if RocksDB cannot open it.
    pub fn open_store(&self) -> Result<RocksStore, DataDirError> {
        let started = std::time::Instant::now();
        let store = RocksStore::open_with(&self.log_dir(), &SERVER_STORE)?;
        if store.rebuilt_on_open() {
            tracing::warn!(
                size = store.tree_size()?,
                seconds = started.elapsed().as_secs_f64(),
                "rebuilt the store's tiles and proof paths from its leaves (an older layout, or an interrupted rebuild)"
            );
        }
        Ok(store)
    }

    /// Loads the log's signer key, if the file exists.
    ///
    /// # Errors
    /// [`DataDirError::Io`] or [`DataDirError::BadKeyFile`].
    pub fn load_log_signer(&self) -> Result<Option<LogSigner>, DataDirError> {
        let path = self.log_key_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        warn_if_readable_by_others(&path);
        Signer::parse(text.trim_end())
            .map(Some)
            .map_err(|_| DataDirError::BadKeyFile {
                path,
                reason: "expected a PRIVATE+KEY+<origin>+… Ed25519 signed-note key",
            })
    }

    /// Loads the log's signer key, which must exist: the directory is a
    /// data directory only if it has one.
    ///
    /// # Errors
    /// [`DataDirError::Io`] (not found) if there is no key file, and those
    /// of [`DataDir::load_log_signer`].
    pub fn require_log_signer(&self) -> Result<LogSigner, DataDirError> {
        self.load_log_signer()?.ok_or_else(|| DataDirError::Io {
            path: self.log_key_path(),
            source: io::Error::new(
                io::ErrorKind::NotFound,
                "no log key: is this a data directory? (`minhbach-server init` or `demo` creates one)",
            ),
        })
    }

    /// Opens an existing data directory to serve or copy it: the log key
    /// must exist, and the stored checkpoint must verify with it.
    ///
    /// # Errors
    /// Those of [`DataDir::require_log_signer`], of opening the store and
    /// of [`DataDir::check_checkpoint`].
    pub fn open_existing(&self) -> Result<(Arc<RocksStore>, LogSigner), DataDirError> {
        let signer = self.require_log_signer()?;
        let store = self.open_store()?;
        self.check_checkpoint(&store, &signer)?;
        Ok((Arc::new(store), signer))
    }

    /// Generates a log signer key for `origin` and saves it (mode 0600),
    /// with its verifier key next to it.
    ///
    /// # Errors
    /// [`DataDirError::Note`] for an invalid origin, [`DataDirError::Io`].
    pub fn create_log_signer(
        &self,
        origin: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogSigner, DataDirError> {
        let signer = Signer::generate(KeyName::new(origin)?, rng);
        let mut secret = signer.to_private_key_string();
        secret.push('\n');
        write_file(&self.log_key_path(), secret.as_bytes(), true)?;
        write_file(
            &self.log_vkey_path(),
            format!("{}\n", signer.verifier()).as_bytes(),
            false,
        )?;
        Ok(signer)
    }

    /// Loads the log key, or generates it if the log is still empty; then
    /// checks that the stored checkpoint, if any, verifies with it.
    ///
    /// # Errors
    /// [`DataDirError::MissingLogKey`] if the log has entries but no key,
    /// [`DataDirError::KeyMismatch`] if its checkpoint does not verify, and
    /// the errors of loading or creating the key.
    pub fn load_or_create_log_signer(
        &self,
        store: &RocksStore,
        origin: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogSigner, DataDirError> {
        let signer = match self.load_log_signer()? {
            Some(signer) => signer,
            None => {
                let size = store.tree_size()?;
                if size > 0 {
                    return Err(DataDirError::MissingLogKey {
                        log: self.log_dir(),
                        key: self.log_key_path(),
                        size,
                    });
                }
                tracing::info!(target: "minhbach_server::datadir", origin, path = %self.log_key_path().display(), "generated the log key");
                self.create_log_signer(origin, rng)?
            }
        };
        self.check_checkpoint(store, &signer)?;
        Ok(signer)
    }

    /// Checks that the stored checkpoint, if any, verifies with `signer`'s
    /// verifier key.
    ///
    /// # Errors
    /// [`DataDirError::KeyMismatch`], or a store error.
    pub fn check_checkpoint(
        &self,
        store: &RocksStore,
        signer: &LogSigner,
    ) -> Result<(), DataDirError> {
        if let Some(checkpoint) = store.checkpoint()? {
            open_checkpoint(&checkpoint, &signer.verifier(), &[]).map_err(|source| {
                DataDirError::KeyMismatch {
                    path: self.log_key_path(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Loads the official key `id` from `officials/<id>.key`, or generates
    /// and saves it (with `comment` in the OpenSSH files) if it is missing.
    ///
    /// # Errors
    /// [`DataDirError::Io`] or [`DataDirError::BadKeyFile`].
    pub fn load_or_create_official(
        &self,
        id: &str,
        comment: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SigningKey, DataDirError> {
        let dir = self.officials_dir();
        create_private_dir(&dir)?;
        let path = dir.join(format!("{id}.key"));
        match fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_readable_by_others(&path);
                return openssh::decode_private(&text)
                    .map_err(|reason| DataDirError::BadKeyFile { path, reason });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
        let key = SigningKey::generate(rng);
        let check = rng.next_u32();
        write_file(
            &path,
            openssh::encode_private(&key, comment, check).as_bytes(),
            true,
        )?;
        write_file(
            &dir.join(format!("{id}.pub")),
            openssh::encode_public(&key, comment).as_bytes(),
            false,
        )?;
        Ok(key)
    }
}

fn create_private_dir(path: &Path) -> Result<(), DataDirError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(io_error(path))
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(target: "minhbach_server::datadir", path = %path.display(), "key file is readable by other users; chmod 600 it");
        }
    }
}

/// Writes `contents` to `path` through a temporary file, fsync'd and renamed
/// into place; `secret` files get mode 0600.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), DataDirError> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if secret { 0o600 } else { 0o644 });
    let mut file = options.open(&tmp).map_err(io_error(&tmp))?;
    file.write_all(contents).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_error(path))?;
    if let Some(parent) = path.parent() {
        // Make the rename durable; not every platform can open a directory.
        if let Ok(dir) = fs::File::open(parent) {
            dir.sync_all().map_err(io_error(parent))?;
        }
    }
    Ok(())
}

/// The unencrypted OpenSSH Ed25519 key formats (OpenSSH `PROTOCOL.key`;
/// RFC 8709 for the public key blob).
mod openssh {
    use base64::Engine as _;

    use super::{BASE64, SigningKey};

    const MAGIC: &[u8] = b"openssh-key-v1\0";
    const KEY_TYPE: &str = "ssh-ed25519";
    const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
    const END: &str = "-----END OPENSSH PRIVATE KEY-----";

    fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
        // Every string here is at most a few hundred bytes.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }

    fn public_blob(key: &SigningKey) -> Vec<u8> {
        let mut blob = Vec::new();
        put_string(&mut blob, KEY_TYPE.as_bytes());
        put_string(&mut blob, key.verifying_key().as_bytes());
        blob
    }

    /// `ssh-ed25519 <base64 blob> <comment>`.
    pub(super) fn encode_public(key: &SigningKey, comment: &str) -> String {
        format!("{KEY_TYPE} {} {comment}\n", BASE64.encode(public_blob(key)))
    }

    /// The PEM-armoured private key, with `check` as its check integers.
    pub(super) fn encode_private(key: &SigningKey, comment: &str, check: u32) -> String {
        let mut private = Vec::new();
        private.extend_from_slice(&check.to_be_bytes());
        private.extend_from_slice(&check.to_be_bytes());
        put_string(&mut private, KEY_TYPE.as_bytes());
        put_string(&mut private, key.verifying_key().as_bytes());
        let mut pair = key.to_bytes().to_vec();
        pair.extend_from_slice(key.verifying_key().as_bytes());
        put_string(&mut private, &pair);
        put_string(&mut private, comment.as_bytes());
        let mut pad = 1u8;
        while private.len() % 8 != 0 {
            private.push(pad);
            pad += 1;
        }
        let mut out = MAGIC.to_vec();
        put_string(&mut out, b"none");
        put_string(&mut out, b"none");
        put_string(&mut out, b"");
        out.extend_from_slice(&1u32.to_be_bytes());
        put_string(&mut out, &public_blob(key));
        put_string(&mut out, &private);
        let body = BASE64.encode(out);
        let mut pem = String::with_capacity(body.len() + 100);
        pem.push_str(BEGIN);
        pem.push('\n');
        for line in body.as_bytes().chunks(70) {
            // Base64 output is ASCII.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str(END);
        pem.push('\n');
        pem
    }

    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
            if self.0.len() < n {
                return Err("truncated");
            }
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            Ok(head)
        }
        fn u32(&mut self) -> Result<u32, &'static str> {
            let b = self.take(4)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn string(&mut self) -> Result<&'a [u8], &'static str> {
            let len = usize::try_from(self.u32()?).map_err(|_| "truncated")?;
            self.take(len)
        }
    }

    /// Parses an unencrypted OpenSSH Ed25519 private key. The error never
    /// contains key material.
    pub(super) fn decode_private(pem: &str) -> Result<SigningKey, &'static str> {
        let body: String = pem
            .trim()
            .strip_prefix(BEGIN)
            .and_then(|s| s.strip_suffix(END))
            .ok_or("not an OpenSSH private key")?
            .split_whitespace()
            .collect();
        let bytes = BASE64.decode(body).map_err(|_| "bad base64")?;
        let rest = bytes.strip_prefix(MAGIC).ok_or("not openssh-key-v1")?;
        let mut r = Reader(rest);
        if r.string()? != b"none" || r.string()? != b"none" {
            return Err("encrypted keys are not supported");
        }
        r.string()?; // KDF options: empty for "none".
        if r.u32()? != 1 {
            return Err("expected exactly one key");
        }
        let public = r.string()?;
        let mut p = Reader(r.string()?);
        if p.u32()? != p.u32()? {
            return Err("check integers differ");
        }
        if p.string()? != KEY_TYPE.as_bytes() {
            return Err("not an Ed25519 key");
        }
        let public_key = p.string()?;
        let pair = p.string()?;
        if pair.len() != 64 {
            return Err("bad private key length");
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&pair[..32]);
        let key = SigningKey::from_bytes(&seed);
        let derived = key.verifying_key();
        if public_key != derived.as_bytes() || &pair[32..] != derived.as_bytes() {
            return Err("public key does not match the private key");
        }
        if public != public_blob(&key).as_slice() {
            return Err("public key blob does not match the private key");
        }
        Ok(key)
    }

    #[cfg(test)]
    mod tests {
        use base64::Engine as _;

        use super::*;

        #[test]
        fn private_keys_round_trip_and_reject_damage() {
            let key = SigningKey::from_bytes(&[9u8; 32]);
            let pem = encode_private(&key, "test@minhbach", 0x1234_5678);
            assert!(pem.starts_with(BEGIN));
            let back = decode_private(&pem).unwrap();
            assert_eq!(back.to_bytes(), key.to_bytes());
            let other = SigningKey::from_bytes(&[8u8; 32]);
            // Swap in another key's public blob: refused.
            let mut tampered = MAGIC.to_vec();
            put_string(&mut tampered, b"none");
            put_string(&mut tampered, b"none");
            put_string(&mut tampered, b"");
            tampered.extend_from_slice(&1u32.to_be_bytes());
            put_string(&mut tampered, &public_blob(&other));
            let bad = format!("{BEGIN}\n{}\n{END}\n", BASE64.encode(&tampered));
            assert!(decode_private(&bad).is_err());
            assert!(decode_private("garbage").is_err());
            assert!(decode_private(&pem[..pem.len() / 2]).is_err());
            let public = encode_public(&key, "c");
            assert!(public.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
        }
    }
}
