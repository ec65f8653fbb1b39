//! Large LFS files made without holding them in memory: `TestHub::add_large_file`, the
//! deterministic stream behind it and `testhub --large-file`.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
};

use hub_tests::{HubConfig, Repo, TestHub, seed::DeterministicReader};
use sha2::Digest;

use crate::support::{request, sha256_hex};

fn get(url: &str) -> anyhow::Result<crate::support::Response> {
    request("GET", url, &[], &[])
}

fn read_all(mut reader: impl Read) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn deterministic_reader_is_deterministic_whatever_the_read_sizes() -> anyhow::Result<()> {
    let len = 3 * 1024 * 1024 + 7;
    let whole = read_all(DeterministicReader::new("label", len))?;
    assert_eq!(whole.len() as u64, len);
    // Odd read sizes give the same bytes.
    let mut reader = DeterministicReader::new("label", len);
    let mut pieces = Vec::new();
    let mut buf = vec![0u8; 12_345];
    loop {
        let n = reader.read(&mut buf[..(pieces.len() % 12_345).max(1)])?;
        if n == 0 {
            break;
        }
        pieces.extend_from_slice(&buf[..n]);
    }
    assert_eq!(pieces, whole);
    // Another label or a prefix length.
    assert_ne!(read_all(DeterministicReader::new("other", len))?, whole);
    assert_eq!(read_all(DeterministicReader::new("label", 1000))?, whole[..1000]);
    // Blocks differ from each other.
    let mib = 1024 * 1024;
    assert_ne!(whole[..mib], whole[mib..2 * mib]);
    assert_ne!(whole[8..mib], whole[mib + 8..2 * mib]);
    Ok(())
}

#[test]
fn add_large_file_commits_a_streamed_lfs_object() -> anyhow::Result<()> {
    let hub = TestHub::start(HubConfig::default())?;
    let repo = Repo::model("bench/large");
    // Above the size hashed by `openssl` (when installed): both hashing paths agree with sha2.
    let size = 64 * 1024 * 1024 + 5;
    let file = hub.add_large_file(&repo, "weights/big.bin", size)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(
        &mut DeterministicReader::new("model/bench/large/weights/big.bin", size),
        &mut hasher,
    )?;
    let expected: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(file.sha256, expected);
    assert_eq!(file.size, size);
    assert_eq!(hub.lfs_object_size(&file.sha256), Some(size));
    assert_eq!(hub.resolve_revision(&repo, "main")?.as_deref(), Some(file.commit.as_str()));

    let url = format!("{}/bench/large/resolve/main/weights/big.bin", hub.endpoint());
    let res = request("HEAD", &url, &[], &[])?;
    assert_eq!(res.status, 302);
    assert_eq!(res.header("x-linked-size"), Some(size.to_string().as_str()));
    assert_eq!(res.header("x-linked-etag"), Some(format!("\"{expected}\"").as_str()));
    assert_eq!(res.header("etag"), Some(format!("\"{}\"", file.git_oid).as_str()));
    assert_eq!(res.header("x-repo-commit"), Some(file.commit.as_str()));
    let location = res.header("location").ok_or_else(|| anyhow::format_err!("no location"))?;
    let tail = request("GET", location, &[("Range", "bytes=-5")], &[])?;
    assert_eq!(tail.status, 206);
    let all = read_all(DeterministicReader::new("model/bench/large/weights/big.bin", size))?;
    assert_eq!(tail.body, all[all.len() - 5..]);

    // Again: same object, no new commit. A small one takes the in-process path.
    assert_eq!(hub.add_large_file(&repo, "weights/big.bin", size)?, file);
    let small = hub.add_large_file(&Repo::dataset("bench/small"), "s.bin", 1000)?;
    let body = get(&format!("{}/datasets/bench/small/resolve/main/s.bin", hub.endpoint()))?;
    assert_eq!(body.status, 302);
    let location = body.header("location").ok_or_else(|| anyhow::format_err!("no location"))?;
    let bytes = get(location)?.body;
    assert_eq!(bytes, read_all(DeterministicReader::new("dataset/bench/small/s.bin", 1000))?);
    assert_eq!(sha256_hex(&bytes), small.sha256);
    Ok(())
}

#[test]
fn testhub_binary_large_file_flag() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_testhub"))
        .arg("--root")
        .arg(root.path())
        .args(["--large-file", "spaces/bench/space:a/b c.bin:2097153"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::format_err!("no stdout"))?;
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    read?;
    let info: serde_json::Value = serde_json::from_str(&line)?;
    let files = info["large_files"].as_array().ok_or_else(|| anyhow::format_err!("{info}"))?;
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file["repo_type"], "space");
    assert_eq!(file["repo_id"], "bench/space");
    assert_eq!(file["path"], "a/b c.bin");
    assert_eq!(file["size"], 2_097_153);
    let bytes = read_all(DeterministicReader::new("space/bench/space/a/b c.bin", 2_097_153))?;
    assert_eq!(file["sha256"], sha256_hex(&bytes).as_str());
    assert_eq!(file["commit"].as_str().map(str::len), Some(40));

    // A bad spec is refused before anything starts.
    for bad in ["nocolon", "acme/x:path", "acme/x:p:12x", "noslash:p:1", "acme/x:../p:1"] {
        let out = Command::new(env!("CARGO_BIN_EXE_testhub"))
            .args(["--large-file", bad])
            .stdin(Stdio::null())
            .output()?;
        assert!(!out.status.success(), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
    }
    Ok(())
}
