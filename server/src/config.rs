//! The configuration of `minhbach-server serve`: a TOML file, overridden by
//! environment variables, overridden by flags.
//!
//! ```toml
//! listen = "127.0.0.1:8080"        # MINHBACH_LISTEN, --listen
//! data = "/var/lib/minhbach"       # MINHBACH_DATA, --data
//!
//! [write]
//! rate_per_client = 20000          # statements per second per client IP (0: no limit)
//! burst_per_client = 50000         # statements a client may send at once
//! max_batch = 4096                 # statements per commit (one fsync, one checkpoint)
//! batch_window_ms = 2              # how long a commit waits for more statements
//! queue = 1024                     # requests waiting for the sequencer before 503
//!
//! [witnesses]                      # C2SP tlog-witnesses asked to cosign each checkpoint
//! list = ["https://w1.example/wit=w1.example+1a2b3c4d+BAS…"]  # URL=VKEY; MINHBACH_WITNESSES, --witness
//! quorum = 1                       # cosignatures needed to publish (default: all); --witness-quorum
//! timeout_seconds = 5              # per request; --witness-timeout
//!
//! [replica]                        # copy the read path to S3-compatible storage
//! url = "s3://minhbach-log/v1"     # s3://BUCKET[/PREFIX]; MINHBACH_REPLICA, --replica
//! endpoint = "https://s3.example"  # MinIO, Ceph RGW, GCS…; AWS when absent; --replica-endpoint
//! region = "ap-southeast-1"        # otherwise AWS_REGION
//! jobs = 16                        # objects uploaded at once
//! interval_ms = 1000               # how often to look for a newer checkpoint
//! public_url = "https://cdn.example.vn/v1"  # where readers find it; the explorer verifies from there
//! ```
//!
//! The bucket's credentials come from the environment only
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …), never from this file.
//!
//! Unknown keys are refused, so a typo never silently falls back to a
//! default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::WriteConfig;
use crate::sequencer::BatchConfig;

/// The address a server listens on when nothing says otherwise: loopback
/// only, so that exposing it is a decision.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A configuration file, every key optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The address to listen on.
    pub listen: Option<SocketAddr>,
    /// The data directory.
    pub data: Option<PathBuf>,
    /// The write path.
    #[serde(default)]
    pub write: WriteSection,
    /// The witnesses.
    #[serde(default)]
    pub witnesses: WitnessSection,
    /// The object-storage replica of the read path.
    #[serde(default)]
    pub replica: ReplicaSection,
}

/// The `[replica]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSection {
    /// `s3://BUCKET[/PREFIX]`; no replica when absent.
    pub url: Option<String>,
    /// An S3-compatible endpoint; AWS when absent.
    pub endpoint: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// Objects uploaded at once.
    pub jobs: Option<usize>,
    /// How often to look for a newer published checkpoint, in milliseconds.
    pub interval_ms: Option<u64>,
    /// The public (CDN) URL of the replica, for the explorer's verification.
    pub public_url: Option<String>,
}

/// The `[witnesses]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// `URL=VKEY` of each witness.
    #[serde(default)]
    pub list: Vec<String>,
    /// Cosignatures needed before a checkpoint is published (default: all).
    pub quorum: Option<usize>,
    /// Seconds one request to a witness may take.
    pub timeout_seconds: Option<u64>,
}

/// The `[write]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteSection {
    /// Statements per second per client (0: no limit).
    pub rate_per_client: Option<u32>,
    /// Statements a client may send at once.
    pub burst_per_client: Option<u32>,
    /// The most statements in one commit.
    pub max_batch: Option<usize>,
    /// How long a commit waits for more statements, in milliseconds.
    pub batch_window_ms: Option<u64>,
    /// Requests that may wait for the sequencer before others get 503.
    pub queue: Option<usize>,
}

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The witness configuration is wrong.
    #[error("witnesses: {0}")]
    Witness(#[from] crate::witness::WitnessConfigError),
    /// The replica URL is not usable.
    #[error("replica: {0}")]
    Replica(String),
    /// No data directory was given anywhere.
    #[error("no data directory: give --data, MINHBACH_DATA or `data` in the config file")]
    NoDataDir,
}

/// What `serve` runs with, after merging file, environment and flags.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The data directory.
    pub data: PathBuf,
    /// The write path.
    pub write: WriteConfig,
    /// The object-storage replica, if any.
    pub replica: Option<crate::replica::ReplicaConfig>,
}

/// What the command line (flags, or their environment variables) gave;
/// `None` where neither did.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen` / `MINHBACH_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--data` / `MINHBACH_DATA`.
    pub data: Option<PathBuf>,
    /// `--witness` / `MINHBACH_WITNESSES`: replaces the file's list when
    /// not empty.
    pub witnesses: Vec<crate::witness::WitnessSpec>,
    /// `--witness-quorum` / `MINHBACH_WITNESS_QUORUM`.
    pub witness_quorum: Option<usize>,
    /// `--witness-timeout` / `MINHBACH_WITNESS_TIMEOUT`, in seconds.
    pub witness_timeout: Option<u64>,
    /// `--replica` / `MINHBACH_REPLICA`.
    pub replica: Option<String>,
    /// `--replica-endpoint` / `MINHBACH_REPLICA_ENDPOINT`.
    pub replica_endpoint: Option<String>,
}

impl ConfigFile {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Merges the file under `overrides` and over the defaults.
    ///
    /// # Errors
    /// [`ConfigError::NoDataDir`], or [`ConfigError::Invalid`] for values
    /// the server cannot run with.
    pub fn resolve(self, overrides: Overrides) -> Result<ServeConfig, ConfigError> {
        let defaults = WriteConfig::default();
        let w = self.write;
        let batch = BatchConfig {
            max_batch: w.max_batch.unwrap_or(defaults.batch.max_batch),
            window: w
                .batch_window_ms
                .map_or(defaults.batch.window, Duration::from_millis),
            queue: w.queue.unwrap_or(defaults.batch.queue),
        };
        if batch.max_batch == 0 {
            return Err(ConfigError::Invalid {
                key: "write.max_batch",
                reason: "must be at least 1",
            });
        }
        if batch.queue == 0 {
            return Err(ConfigError::Invalid {
                key: "write.queue",
                reason: "must be at least 1",
            });
        }
        if batch.window > Duration::from_secs(1) {
            return Err(ConfigError::Invalid {
                key: "write.batch_window_ms",
                reason: "at most 1000: every writer waits this long",
            });
        }
        let write = WriteConfig {
            batch,
            rate_per_client: w.rate_per_client.unwrap_or(defaults.rate_per_client),
            burst_per_client: w.burst_per_client.unwrap_or(defaults.burst_per_client),
            witnesses: witness_policy(self.witnesses, &overrides)?,
        };
        if write.rate_per_client > 0 && write.burst_per_client == 0 {
            return Err(ConfigError::Invalid {
                key: "write.burst_per_client",
                reason: "must be at least 1 when rate_per_client is set",
            });
        }
        let replica = replica_config(self.replica, &overrides)?;
        Ok(ServeConfig {
            replica,
            listen: overrides.listen.or(self.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .expect("the default listen address parses")
            }),
            data: overrides.data.or(self.data).ok_or(ConfigError::NoDataDir)?,
            write,
        })
    }
}

/// The replica: the flags' URL and endpoint over the file's.
fn replica_config(
    file: ReplicaSection,
    overrides: &Overrides,
) -> Result<Option<crate::replica::ReplicaConfig>, ConfigError> {
    let Some(url) = overrides.replica.clone().or(file.url) else {
        if file.endpoint.is_some()
            || overrides.replica_endpoint.is_some()
            || file.public_url.is_some()
        {
            return Err(ConfigError::Invalid {
                key: "replica.endpoint",
                reason: "given without a replica url",
            });
        }
        return Ok(None);
    };
    let mut config = crate::replica::ReplicaConfig::new(url);
    config.endpoint = overrides.replica_endpoint.clone().or(file.endpoint);
    config.region = file.region;
    if let Some(jobs) = file.jobs {
        if jobs == 0 || jobs > 256 {
            return Err(ConfigError::Invalid {
                key: "replica.jobs",
                reason: "must be between 1 and 256",
            });
        }
        config.jobs = jobs;
    }
    if let Some(ms) = file.interval_ms {
        if ms < 10 {
            return Err(ConfigError::Invalid {
                key: "replica.interval_ms",
                reason: "at least 10",
            });
        }
        config.interval = Duration::from_millis(ms);
    }
    if let Some(url) = file.public_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                key: "replica.public_url",
                reason: "must be an http:// or https:// URL",
            });
        }
        config.public_url = Some(url);
    }
    if let Err(e) = config.bucket_and_prefix() {
        return Err(ConfigError::Replica(e.to_string()));
    }
    Ok(Some(config))
}

/// The witnesses: the flags' list, or else the file's; the quorum and
/// timeout from the flags, or else the file, or else all and 5 s.
fn witness_policy(
    file: WitnessSection,
    overrides: &Overrides,
) -> Result<crate::witness::WitnessPolicy, ConfigError> {
    use crate::witness::{DEFAULT_TIMEOUT, WitnessPolicy, WitnessSpec};
    let list = if overrides.witnesses.is_empty() {
        file.list
            .iter()
            .map(|s| WitnessSpec::parse(s))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        overrides.witnesses.clone()
    };
    let required = overrides
        .witness_quorum
        .or(file.quorum)
        .unwrap_or(list.len());
    let timeout = overrides
        .witness_timeout
        .or(file.timeout_seconds)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    Ok(WitnessPolicy::new(list, required, timeout)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn a_full_file_parses_and_overrides_the_defaults() {
        let file = parse(
            r#"
listen = "0.0.0.0:9000"
data = "/srv/minhbach"
[write]
rate_per_client = 10
burst_per_client = 20
max_batch = 512
batch_window_ms = 5
queue = 64
"#,
        )
        .unwrap();
        let c = file.resolve(Overrides::default()).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.data, PathBuf::from("/srv/minhbach"));
        assert_eq!(c.write.rate_per_client, 10);
        assert_eq!(c.write.burst_per_client, 20);
        assert_eq!(c.write.batch.max_batch, 512);
        assert_eq!(c.write.batch.window, Duration::from_millis(5));
        assert_eq!(c.write.batch.queue, 64);
    }

    #[test]
    fn flags_and_environment_win_over_the_file_and_the_file_over_defaults() {
        let file = parse("listen = \"0.0.0.0:9000\"\ndata = \"/a\"\n").unwrap();
        let c = file
            .clone()
            .resolve(Overrides {
                listen: Some("127.0.0.1:1".parse().unwrap()),
                data: Some("/b".into()),
                ..Overrides::default()
            })
            .unwrap();
        assert_eq!(c.listen, "127.0.0.1:1".parse().unwrap());
        assert_eq!(c.data, PathBuf::from("/b"));

        let c = parse("data = \"/a\"\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN.parse().unwrap());
        assert!(c.listen.ip().is_loopback());
        let defaults = WriteConfig::default();
        assert_eq!(c.write.rate_per_client, defaults.rate_per_client);
        assert_eq!(c.write.batch.max_batch, defaults.batch.max_batch);
    }

    #[test]
    fn the_replica_section_parses_and_flags_override_it() {
        let file = parse(
            "data = \"/a\"\n[replica]\nurl = \"s3://log-bucket/v1/\"\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"ap-southeast-1\"\njobs = 4\ninterval_ms = 250\npublic_url = \"https://cdn.example.vn/v1\"\n",
        )
        .unwrap();
        let m = file
            .clone()
            .resolve(Overrides::default())
            .unwrap()
            .replica
            .unwrap();
        assert_eq!(m.url, "s3://log-bucket/v1/");
        assert_eq!(
            m.bucket_and_prefix().unwrap(),
            ("log-bucket".to_owned(), "v1".to_owned())
        );
        assert_eq!(m.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(m.region.as_deref(), Some("ap-southeast-1"));
        assert_eq!((m.jobs, m.interval), (4, Duration::from_millis(250)));
        assert_eq!(m.public_url.as_deref(), Some("https://cdn.example.vn/v1"));

        let m = file
            .resolve(Overrides {
                replica: Some("s3://other".into()),
                replica_endpoint: Some("http://10.0.0.1:9000".into()),
                ..Overrides::default()
            })
            .unwrap()
            .replica
            .unwrap();
        assert_eq!(
            m.bucket_and_prefix().unwrap(),
            ("other".to_owned(), String::new())
        );
        assert_eq!(m.endpoint.as_deref(), Some("http://10.0.0.1:9000"));

        // No replica unless asked for.
        let none = parse("data = \"/a\"\n")
            .unwrap()
            .resolve(Overrides::default());
        assert!(none.unwrap().replica.is_none());
    }

    #[test]
    fn bad_replica_settings_are_refused() {
        for (text, want) in [
            ("[replica]\nurl = \"https://bucket\"\n", "s3://"),
            ("[replica]\nurl = \"s3://\"\n", "no bucket"),
            ("[replica]\nurl = \"s3://b/../x\"\n", ".."),
            ("[replica]\nurl = \"s3://b\"\njobs = 0\n", "replica.jobs"),
            (
                "[replica]\nurl = \"s3://b\"\ninterval_ms = 1\n",
                "replica.interval_ms",
            ),
            (
                "[replica]\nendpoint = \"http://x\"\n",
                "without a replica url",
            ),
        ] {
            let err = parse(&format!("data = \"/a\"\n{text}"))
                .unwrap()
                .resolve(Overrides::default())
                .unwrap_err();
            assert!(err.to_string().contains(want), "{text}: {err}");
        }
        let typo = parse("[replica]\nurll = \"s3://b\"\n").unwrap_err();
        assert!(typo.to_string().contains("urll"), "{typo}");
    }

    #[test]
    fn typos_wrong_types_and_bad_values_are_refused() {
        let typo = parse("listne = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(typo.to_string().contains("listne"), "{typo}");
        let section = parse("[write]\nmax_bach = 3\n").unwrap_err();
        assert!(section.to_string().contains("max_bach"), "{section}");
        assert!(parse("listen = \"not an address\"\n").is_err());
        assert!(parse("[write]\nqueue = -1\n").is_err());

        for (text, key) in [
            ("data = \"/a\"\n[write]\nmax_batch = 0\n", "write.max_batch"),
            ("data = \"/a\"\n[write]\nqueue = 0\n", "write.queue"),
            (
                "data = \"/a\"\n[write]\nbatch_window_ms = 5000\n",
                "write.batch_window_ms",
            ),
            (
                "data = \"/a\"\n[write]\nburst_per_client = 0\n",
                "write.burst_per_client",
            ),
        ] {
            match parse(text).unwrap().resolve(Overrides::default()) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            ConfigFile::default().resolve(Overrides::default()),
            Err(ConfigError::NoDataDir)
        ));
    }

    fn witness_key(name: &str, seed: u8) -> String {
        let cosigner = minhbach_ledger::cosignature::Cosigner::new(
            minhbach_ledger::note::KeyName::new(name).unwrap(),
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        );
        cosigner.verifier().to_string()
    }

    #[test]
    fn witnesses_come_from_the_file_unless_flags_name_them() {
        let (a, b) = (witness_key("w1.example", 1), witness_key("w2.example", 2));
        let text = format!(
            "data = \"/a\"\n[witnesses]\nlist = [\"http://w1.example={a}\", \"https://w2.example/x={b}\"]\nquorum = 1\ntimeout_seconds = 9\n"
        );
        let c = parse(&text).unwrap().resolve(Overrides::default()).unwrap();
        assert_eq!(c.write.witnesses.witnesses().len(), 2);
        assert_eq!(c.write.witnesses.required(), 1);
        assert_eq!(c.write.witnesses.timeout(), Duration::from_secs(9));

        // Flags replace the list and win on the quorum.
        let only = crate::witness::WitnessSpec::parse(&format!("http://w3.example={b}")).unwrap();
        let c = parse(&text)
            .unwrap()
            .resolve(Overrides {
                witnesses: vec![only],
                witness_quorum: Some(1),
                ..Overrides::default()
            })
            .unwrap();
        assert_eq!(c.write.witnesses.witnesses().len(), 1);

        // No quorum anywhere: all of them.
        let text = format!("data = \"/a\"\n[witnesses]\nlist = [\"http://w1.example={a}\"]\n");
        let c = parse(&text).unwrap().resolve(Overrides::default()).unwrap();
        assert_eq!(c.write.witnesses.required(), 1);

        // Refusals: a bad entry, a quorum above the list, an unknown key.
        for bad in [
            "data = \"/a\"\n[witnesses]\nlist = [\"not a witness\"]\n".to_owned(),
            format!("data = \"/a\"\n[witnesses]\nlist = [\"http://w1.example={a}\"]\nquorum = 2\n"),
        ] {
            let err = parse(&bad)
                .unwrap()
                .resolve(Overrides::default())
                .unwrap_err();
            assert!(matches!(err, ConfigError::Witness(_)), "{bad}: {err}");
        }
        assert!(parse("[witnesses]\nquorom = 1\n").is_err());
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = ConfigFile::load(Path::new("/nonexistent/minhbach.toml")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/minhbach.toml"),
            "{err}"
        );
    }
}
