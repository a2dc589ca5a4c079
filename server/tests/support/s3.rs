//! A real S3-compatible server on 127.0.0.1 for the replica's tests and
//! bench: moto's server mode (from PyPI; `scripts/setup.sh` installs it when
//! `MINHBACH_SETUP_S3=1` and exports `MINHBACH_MOTO_SERVER`), as a child
//! process, spoken to over plain HTTP: unsigned requests for the set-up a
//! bucket owner would do once (bucket, public-read policy) and for what an
//! anonymous reader sees.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The credentials the publisher is given (moto accepts any).
pub(crate) const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "minhbach-test"),
    ("AWS_SECRET_ACCESS_KEY", "minhbach-test-secret"),
    ("AWS_REGION", "us-east-1"),
];

/// A running S3-compatible server.
pub(crate) struct S3 {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    agent: ureq::Agent,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An object as an anonymous reader gets it.
pub(crate) struct Object {
    pub(crate) body: Vec<u8>,
    pub(crate) cache_control: Option<String>,
    pub(crate) content_type: Option<String>,
}

fn moto_server() -> String {
    if let Ok(path) = std::env::var("MINHBACH_MOTO_SERVER") {
        return path;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    });
    on_path
        .map(|p| p.display().to_string())
        .expect(
            "no S3-compatible test server: run scripts/test.sh, or `MINHBACH_SETUP_S3=1 source scripts/setup.sh` \
             (installs moto's server from PyPI and sets MINHBACH_MOTO_SERVER)",
        )
}

impl S3 {
    /// Starts the server on a free port and waits until it answers.
    pub(crate) fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the S3 test server");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let s3 = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while s3.agent.get(&format!("{}/", s3.endpoint)).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "the S3 test server did not answer within a minute"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s3
    }

    /// Creates `bucket` with a policy that lets anyone read (and, for the
    /// tests' own checks, list) it: what a log operator sets up once for a
    /// CDN to serve.
    pub(crate) fn create_public_bucket(&self, bucket: &str) {
        let status = self
            .agent
            .put(&format!("{}/{bucket}", self.endpoint))
            .send(&[][..])
            .expect("create the bucket")
            .status();
        assert!(status.is_success(), "creating {bucket}: HTTP {status}");
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                 "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")},
                {"Sid": "PublicList", "Effect": "Allow", "Principal": "*",
                 "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}")},
            ]
        });
        let status = self
            .agent
            .put(&format!("{}/{bucket}?policy", self.endpoint))
            .header("content-type", "application/json")
            .send(policy.to_string().as_bytes())
            .expect("set the bucket policy")
            .status();
        assert!(status.is_success(), "bucket policy: HTTP {status}");
    }

    /// The public URL of `bucket/prefix`.
    pub(crate) fn url(&self, bucket: &str, prefix: &str) -> String {
        format!("{}/{bucket}/{prefix}", self.endpoint)
    }

    /// GET `bucket/key` as an anonymous reader; `None` on 404.
    pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<Object> {
        let mut response = self
            .agent
            .get(&format!("{}/{bucket}/{key}", self.endpoint))
            .call()
            .expect("GET from the S3 test server");
        let status = response.status().as_u16();
        if status == 404 {
            return None;
        }
        assert_eq!(status, 200, "GET {bucket}/{key}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (cache_control, content_type) = (header("cache-control"), header("content-type"));
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 26)
            .read_to_vec()
            .expect("read the object");
        Some(Object {
            body,
            cache_control,
            content_type,
        })
    }

    /// PUT `bucket/key` (unsigned, as a careless or hostile writer would).
    pub(crate) fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let status = self
            .agent
            .put(&format!("{}/{bucket}/{key}", self.endpoint))
            .header("content-type", "application/octet-stream")
            .send(body)
            .expect("PUT to the S3 test server")
            .status();
        assert!(status.is_success(), "PUT {bucket}/{key}: HTTP {status}");
    }

    /// Every key under `bucket/prefix/`, relative to it, with its size
    /// (ListObjectsV2, following continuation tokens).
    pub(crate) fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .agent
                .get(&format!("{}/{bucket}", self.endpoint))
                .query("list-type", "2")
                .query("prefix", format!("{prefix}/"));
            if let Some(t) = &token {
                request = request.query("continuation-token", t);
            }
            let text = request
                .call()
                .expect("LIST")
                .body_mut()
                .read_to_string()
                .expect("read the listing");
            for contents in text.split("<Contents>").skip(1) {
                let key = between(contents, "<Key>", "</Key>").expect("a key");
                let size = between(contents, "<Size>", "</Size>")
                    .and_then(|s| s.parse().ok())
                    .expect("a size");
                let key = key
                    .strip_prefix(&format!("{prefix}/"))
                    .unwrap_or(key)
                    .to_owned();
                out.push((key, size));
            }
            token = between(&text, "<NextContinuationToken>", "</NextContinuationToken>")
                .map(str::to_owned);
            if token.is_none() {
                return out;
            }
        }
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}
