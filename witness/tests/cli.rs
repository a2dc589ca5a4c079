//! The `minhbach-witness` binary's contract: `key new` writes an owner-only
//! private key, never overwrites one and prints only the verifier key.
#![allow(missing_docs)]

use std::process::{Command, Output};

fn witness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minhbach-witness"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn witness_key_new_prints_the_verifier_key_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.key");
    let k = key.to_str().unwrap();
    let o = witness(&["key", "new", "--name", "witness.example", "--out", k]);
    assert_eq!(o.status.code(), Some(0));
    let vkey = String::from_utf8(o.stdout).unwrap();
    assert!(vkey.starts_with("witness.example+"), "{vkey}");
    let private = std::fs::read_to_string(&key).unwrap();
    assert!(private.starts_with("PRIVATE+KEY+witness.example+"));
    assert!(!vkey.contains("PRIVATE"), "never prints the private key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only");
    }
    let o = witness(&["key", "new", "--name", "witness.example", "--out", k]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), private);
}

#[test]
fn serve_answers_add_checkpoint_and_refuses_a_missing_key_file() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.key");
    let k = key.to_str().unwrap();
    let state = dir.path().join("state.json");
    let s = state.to_str().unwrap();
    let log = minhbach_ledger::note::Signer::new(
        minhbach_ledger::note::KeyName::new("log.example").unwrap(),
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .verifier()
    .to_string();
    let log = log.as_str();
    let missing = witness(&["serve", "--key", k, "--state", s, "--log", log]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));

    assert_eq!(
        witness(&["key", "new", "--name", "w.example", "--out", k])
            .status
            .code(),
        Some(0)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_minhbach-witness"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key",
            k,
            "--state",
            s,
            "--log",
            log,
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "minhbach-witness: <verifier key> on http://ADDR/add-checkpoint"
    let addr = line
        .trim_end()
        .rsplit_once("http://")
        .and_then(|(_, rest)| rest.strip_suffix("/add-checkpoint"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    assert!(line.starts_with("minhbach-witness: w.example+"), "{line}");
    let ask = |body: &str| {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let answer = ask("old x\n\n");
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.ends_with("malformed add-checkpoint request\n"),
        "{answer}"
    );
    // A refusal writes no state.
    assert!(!state.exists());
}
