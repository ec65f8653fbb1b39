//! A Hub behind TLS signed by a private certificate authority, as behind a corporate gateway
//! that re-signs TLS: `hub-cli` refuses it with a one-line error that says what to set, and
//! works once `SSL_CERT_FILE` names that authority. The server is `openssl s_server -WWW`
//! serving a repo's info from files, with a certificate made by `openssl` for this test.
// Tests read the environment they run in (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::support;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// An `openssl s_server` serving `www/` over TLS on loopback; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl (install it: apt-get install openssl)")?;
    if !out.status.success() {
        bail!("openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A certificate authority (`ca.pem`) and a server certificate it signed for 127.0.0.1
/// (`leaf.pem`, `leaf.key`), in `dir`.
fn make_certificates(dir: &Path) -> anyhow::Result<()> {
    let days = ["-days", "2"];
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=hub-cli test CA",
            days[0],
            days[1],
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    )?;
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-extfile",
            "leaf.ext",
            days[0],
            days[1],
        ],
    )
}

/// Serves `dir/www` with the certificate of [`make_certificates`].
fn start_server(dir: &Path) -> anyhow::Result<TlsServer> {
    let www = dir.join("www");
    // `hub-cli repo info acme/tiny` asks for /api/models/acme/tiny?blobs=true; `-WWW` serves
    // the file of that name.
    let info = www.join("api/models/acme");
    std::fs::create_dir_all(&info)?;
    std::fs::write(
        info.join("tiny?blobs=true"),
        format!(
            r#"{{"id":"acme/tiny","sha":"{COMMIT}","private":false,"siblings":[{{"rfilename":"config.json"}}]}}"#
        ),
    )?;
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-WWW", "-cert"])
        .arg(dir.join("leaf.pem"))
        .arg("-key")
        .arg(dir.join("leaf.key"))
        .current_dir(&www)
        .stdin(Stdio::piped()) // s_server quits when its stdin closes
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting openssl s_server")?;
    let stdout = child.stdout.take().context("s_server's stdout")?;
    let mut server = TlsServer { child, port: 0 };
    // It prints `ACCEPT 127.0.0.1:PORT` once it listens.
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(port) = line.strip_prefix("ACCEPT 127.0.0.1:") {
            server.port = port.trim().parse().context("s_server's port")?;
            break;
        }
    }
    if server.port == 0 {
        bail!("openssl s_server did not say which port it listens on");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", server.port)).is_err() {
        if Instant::now() > deadline {
            bail!("openssl s_server does not accept connections");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}

/// `hub-cli repo info acme/tiny` against `endpoint`, in an environment built from scratch,
/// with `SSL_CERT_FILE` when `ca` is given.
fn repo_info(home: &Path, endpoint: &str, ca: Option<&PathBuf>) -> anyhow::Result<Output> {
    let mut cmd = support::hub_cli(home, endpoint);
    cmd.args(["repo", "info", "acme/tiny"]);
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    Ok(cmd.output()?)
}

#[test]
fn a_private_certificate_authority_is_trusted_through_ssl_cert_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    make_certificates(dir.path())?;
    let server = start_server(dir.path())?;
    let endpoint = format!("https://127.0.0.1:{}", server.port);
    let ca = dir.path().join("ca.pem");

    // The system's roots do not vouch for this authority: refused, with what to do.
    let out = repo_info(dir.path(), &endpoint, None)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("TLS certificate"), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert!(stderr.contains("set SSL_CERT_FILE"), "{stderr}");

    // With the authority in SSL_CERT_FILE, the same request works.
    let out = repo_info(dir.path(), &endpoint, Some(&ca))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("acme/tiny"), "{stdout}");
    assert!(stdout.contains(COMMIT), "{stdout}");

    // A trusted authority does not make a certificate valid for another name.
    let other_name = format!("https://localhost:{}", server.port);
    let out = repo_info(dir.path(), &other_name, Some(&ca))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not valid for name \"localhost\""), "{stderr}");
    Ok(())
}
