//! `cargo xtask bench upload` (`hub-bench upload`): how fast `hub-cli lfs-multipart-upload`, the git-lfs custom
//! transfer agent, uploads a large LFS object to the local Hub (parts in parallel to the storage
//! host, then the completion request), against one `curl -T` PUT of a file of the same size to
//! the same storage host, measured in one run.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use hub_lfs::batch::Action;
use hub_url::env::{HF_ENDPOINT, HF_HOME, HF_TOKEN, HF_TOKEN_PATH, HUGGING_FACE_HUB_TOKEN};
use serde_json::Value;

use super::{
    CHUNK_SIZE, CONNECTIONS_VAR, Opts, Row, Scratch, connections_label, curl_put, format_mib,
    mib_per_sec, release_binaries, require_command, results, rss_check, speed_check,
    start_upload_hub, varied_file,
};
use crate::hub::{HubApi, LfsObject, part_count, short};
use crate::measure::{CpuMeter, busy_note, interactive_helper_for, read_report, sync};
use crate::util::{describe, say, step};

pub(super) const HELP: &str = "\
cargo xtask bench upload [--size BYTES] [--keep]

Builds hub-cli in release mode, writes two files of BYTES varied bytes and hashes them
(openssl dgst -sha256), starts the local Hub on loopback with a multipart
threshold of at most the size and parts of 64 MiB, creates alice/bench-upload, asks its LFS batch
API for the upload of each file, and measures, in the same run:
  curl -T  one PUT of the first file to its signed basic-upload URL on the storage host (the
           baseline), after an untimed warm-up run
  agent    hub-cli lfs-multipart-upload, fed the second file as git-lfs feeds it (init, upload,
           terminate on its stdin): the time from the upload message to `complete` (the parts,
           then the completion request, in which the Hub joins and hashes them), and its peak RSS
then checks that the Hub stores the object (the verify action) and prints the figures and the
targets (ok / MISSED). Missed targets do not fail the command: it fails only when something
cannot run. HF_HUB_UPLOAD_CONNECTIONS, when set, reaches the agent (parts in flight, default 8).
Needs curl and openssl; no internet.
Run it on an idle machine: it measures the CPU other processes (builds, test suites) use
during each measurement and flags the figures they may have skewed with (!).

Options:
  --size BYTES  size of each file: bytes, or with KiB/MiB/GiB (default 2GiB)
  --keep        keep the scratch directory (the files, the Hub's root) instead of deleting it
";

const REPO_NAME: &str = "bench-upload";

/// The target of issue 5 (with the peak RSS, shared with the download bench).
const AGENT_VS_CURL: f64 = 1.0;

/// No message from the agent for this long: it is stuck.
const AGENT_STALL: Duration = Duration::from_secs(300);
/// After `terminate`, the agent must exit within this.
const AGENT_EXIT: Duration = Duration::from_secs(30);

/// What git-lfs 3.3 writes first to a custom transfer agent for a push (its default
/// `lfs.concurrenttransfers` is 8).
const INIT_MESSAGE: &str = r#"{"event":"init","operation":"upload","remote":"origin","concurrent":true,"concurrenttransfers":8}"#;
const TERMINATE_MESSAGE: &str = r#"{"event":"terminate"}"#;

pub(super) fn run(opts: &Opts) -> anyhow::Result<()> {
    let bin = release_binaries()?;
    let hub_cli = bin.join("hub-cli");
    let scratch = Scratch::create("upload", opts.keep)?;

    step(&format!("two files of {} bytes of varied content, and their sha256", opts.size));
    let curl_file = varied_file(&scratch.path.join("curl.bin"), opts.size, "bench/curl")?;
    let agent_file = varied_file(&scratch.path.join("agent.bin"), opts.size, "bench/hub-cli")?;

    let (hub, threshold) = start_upload_hub(&scratch, opts.size)?;
    let api = HubApi::new(&hub, REPO_NAME)?;
    api.create_repo()?;

    step("LFS batch API: a multipart upload for the agent's file, a single PUT for curl's");
    let agent_action = api.batch_upload(&agent_file, &["basic", "multipart"])?;
    let parts = part_count(&agent_file, &agent_action.upload)?;
    say(&format!("agent: {parts} parts, completion at {}", short(&agent_action.upload.href)));
    let put_url = api.basic_put_url(&hub, &curl_file, threshold)?;

    let (curl_run, others_curl) = curl_put(&curl_file, &put_url)?;

    step("hub-cli lfs-multipart-upload, fed as git-lfs feeds it");
    require_command(&hub_cli, "lfs-multipart-upload")?;
    let mut agent = Command::new(&hub_cli);
    agent
        .arg("lfs-multipart-upload")
        .env(HF_ENDPOINT, hub.endpoint())
        .env(HF_HOME, scratch.path.join("home"));
    for var in [HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH] {
        agent.env_remove(var);
    }
    let upload = upload_message(&agent_file, &agent_action.upload)?;
    let report = scratch.path.join("agent-report.json");
    let (agent_run, others_agent) = measured_agent(&agent, &upload, &report)?;
    say(&format!(
        "{:.3} s, peak RSS {}{}",
        agent_run.secs,
        format_mib(agent_run.max_rss_bytes),
        busy_note(others_agent)
    ));

    step("the Hub stores the agent's object (verify action)");
    api.verify(&agent_action, &agent_file)?;
    say(&format!("{} ({} bytes) is stored", agent_file.oid, agent_file.size));

    drop(hub);
    let figures = Figures {
        size: opts.size,
        parts,
        connections: std::env::var(CONNECTIONS_VAR).ok(),
        curl_secs: curl_run.secs,
        curl_max_rss_bytes: curl_run.max_rss_bytes,
        agent: agent_run,
        others_curl,
        others_agent,
    };
    step("results");
    say(&report_text(&figures));
    Ok(())
}

/// The upload request git-lfs 3.3 writes to a custom transfer agent, byte for byte: Go's
/// encoder writes the fields in struct order, the header's keys sorted as strings (`1`, `10`,
/// `2`, …, `chunk_size`), `&`, `<` and `>` escaped, and a zero `expires_at` when the batch
/// answer gave none.
fn upload_message(object: &LfsObject, action: &Action) -> anyhow::Result<String> {
    // A BTreeMap: its keys in the order of Go's sort of strings.
    let header: Vec<String> = action
        .header
        .iter()
        .map(|(name, value)| format!("{}:{}", go_string(name), go_string(value)))
        .collect();
    let path = object.path.to_str().ok_or_else(|| {
        anyhow::format_err!("{} is not UTF-8: git-lfs could not name it", object.path.display())
    })?;
    let mut message = format!(
        r#"{{"event":"upload","oid":{},"size":{},"path":{},"action":{{"href":{}"#,
        go_string(&object.oid),
        object.size,
        go_string(path),
        go_string(&action.href)
    );
    if !header.is_empty() {
        message.push_str(&format!(r#","header":{{{}}}"#, header.join(",")));
    }
    let expires_at = go_string(action.expires_at.as_deref().unwrap_or("0001-01-01T00:00:00Z"));
    message.push_str(&format!(r#","expires_at":{expires_at}"#));
    if let Some(secs) = action.expires_in.filter(|s| *s != 0) {
        message.push_str(&format!(r#","expires_in":{secs}"#));
    }
    message.push_str("}}");
    Ok(message)
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe).
fn go_string(s: &str) -> String {
    Value::from(s)
        .to_string()
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// What git-lfs would see of one upload by the agent.
#[derive(Debug, Clone, PartialEq, Default)]
struct AgentRun {
    /// From the upload message to `complete`.
    secs: f64,
    /// From the upload message to the last progress event before `complete`, if any.
    parts_secs: Option<f64>,
    progress_events: u64,
    /// The last `bytesSoFar`, and the sum of the `bytesSinceLast`.
    bytes_so_far: u64,
    bytes_since_last: u64,
    max_rss_bytes: u64,
}

/// Runs the agent under the measuring helper, and talks to it as git-lfs does: init, one upload,
/// terminate. Also returns the others' CPU meanwhile.
fn measured_agent(agent: &Command, upload: &str, report: &Path) -> anyhow::Result<(AgentRun, f64)> {
    sync()?;
    let mut helper = interactive_helper_for(agent, report)?;
    say(&format!("$ {}", describe(agent)));
    let meter = CpuMeter::start();
    let mut child = helper
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::format_err!("cannot run {}: {e}", describe(agent)))?;
    let session = (|| {
        let stdin = child.stdin.take().ok_or_else(|| anyhow::format_err!("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::format_err!("no stdout"))?;
        let lines = read_lines(stdout);
        let run = talk(stdin, &lines, upload)?;
        wait_for_exit(&mut child, &lines)?;
        Ok(run)
    })();
    let mut run = match session {
        Ok(run) => run,
        Err(err) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(err);
        }
    };
    let others = meter.others_percent();
    run.max_rss_bytes = read_report(report, agent)?.max_rss_bytes;
    Ok((run, others))
}

/// The lines a child writes, from a thread, so that the reader can give up on a stuck child.
fn read_lines(stdout: impl std::io::Read + Send + 'static) -> Receiver<std::io::Result<String>> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// The next message of the agent, parsed.
fn next_message(lines: &Receiver<std::io::Result<String>>) -> anyhow::Result<Value> {
    let line = match lines.recv_timeout(AGENT_STALL) {
        Ok(line) => line.map_err(|e| anyhow::format_err!("cannot read the agent's stdout: {e}"))?,
        Err(RecvTimeoutError::Timeout) => {
            anyhow::bail!("the agent said nothing for {} s", AGENT_STALL.as_secs())
        }
        Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the agent closed its stdout"),
    };
    serde_json::from_str(&line)
        .map_err(|e| anyhow::format_err!("the agent wrote {line:?}, not a JSON message ({e})"))
}

/// The conversation of one push of one object, as git-lfs holds it; times the upload.
fn talk(
    mut stdin: ChildStdin,
    lines: &Receiver<std::io::Result<String>>,
    upload: &str,
) -> anyhow::Result<AgentRun> {
    let mut send = |message: &str| -> anyhow::Result<()> {
        writeln!(stdin, "{message}")
            .and_then(|()| stdin.flush())
            .map_err(|e| anyhow::format_err!("cannot write to the agent: {e}"))
    };
    send(INIT_MESSAGE)?;
    let answer = next_message(lines)?;
    if answer.get("error").is_some() || !answer.is_object() {
        anyhow::bail!("the agent answered {answer} to init, not {{}}");
    }
    send(upload)?;
    let started = Instant::now();
    let mut run = AgentRun::default();
    loop {
        let message = next_message(lines)?;
        match message["event"].as_str() {
            Some("progress") => {
                run.progress_events += 1;
                run.parts_secs = Some(started.elapsed().as_secs_f64());
                run.bytes_so_far = message["bytesSoFar"].as_u64().unwrap_or(0);
                run.bytes_since_last += message["bytesSinceLast"].as_u64().unwrap_or(0);
            }
            Some("complete") => {
                run.secs = started.elapsed().as_secs_f64();
                if let Some(error) = message.get("error") {
                    anyhow::bail!("the agent failed the upload: {error}");
                }
                break;
            }
            _ => anyhow::bail!("unexpected message from the agent: {message}"),
        }
    }
    send(TERMINATE_MESSAGE)?;
    Ok(run)
}

/// Waits for the measuring helper (and so the agent) to exit once told to terminate; anything
/// the agent writes meanwhile is an error (git-lfs expects nothing).
fn wait_for_exit(
    child: &mut Child,
    lines: &Receiver<std::io::Result<String>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + AGENT_EXIT;
    while child.try_wait()?.is_none() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the agent did not exit within {} s of terminate",
            AGENT_EXIT.as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Until its stdout is closed: the reader thread may not have passed on the last lines yet.
    let mut extra = Vec::new();
    while let Ok(line) = lines.recv_timeout(AGENT_EXIT) {
        extra.extend(line.ok());
    }
    anyhow::ensure!(extra.is_empty(), "the agent wrote after terminate: {extra:?}");
    Ok(())
}

/// Everything one run measures.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    size: u64,
    parts: u64,
    /// `HF_HUB_UPLOAD_CONNECTIONS`, when set.
    connections: Option<String>,
    curl_secs: f64,
    curl_max_rss_bytes: u64,
    agent: AgentRun,
    /// The CPU other processes used during each measurement, in percent (NaN when unknown).
    others_curl: f64,
    others_agent: f64,
}

/// What looked wrong in the agent's messages, beyond the targets.
fn remarks(f: &Figures) -> Vec<String> {
    let a = &f.agent;
    let mut out = Vec::new();
    if a.progress_events == 0 {
        out.push("the agent sent no progress event before complete".to_owned());
    }
    if a.progress_events > 0 && a.bytes_so_far != f.size {
        out.push(format!(
            "the agent's last progress says bytesSoFar {}, not the size {}",
            a.bytes_so_far, f.size
        ));
    }
    if a.progress_events > 0 && a.bytes_since_last != f.size {
        out.push(format!(
            "the agent's bytesSinceLast add up to {}, not the size {}",
            a.bytes_since_last, f.size
        ));
    }
    out
}

fn report_text(f: &Figures) -> String {
    let speed = |secs: f64| mib_per_sec(f.size, secs);
    let connections = connections_label(f.connections.as_deref());
    let agent = format!("hub-cli lfs-multipart-upload ({connections})");
    let rows = [
        Row::transfer(
            "curl -T, one PUT",
            f.size,
            f.curl_secs,
            Some(f.curl_max_rss_bytes),
            f.others_curl,
        ),
        Row::transfer(&agent, f.size, f.agent.secs, Some(f.agent.max_rss_bytes), f.others_agent),
    ];
    let checks = [
        speed_check("agent / curl -T", speed(f.agent.secs), speed(f.curl_secs), AGENT_VS_CURL),
        rss_check("agent", f.agent.max_rss_bytes),
    ];
    let mut text = results(f.size, &rows, &checks);
    let completion = f.agent.parts_secs.map_or_else(
        || "no progress event, so no split".to_owned(),
        |parts| {
            format!(
                "the last part at {parts:.3} s ({:.0} MiB/s), then the completion request (the \
                 Hub joins and hashes the parts) {:.3} s",
                speed(parts),
                f.agent.secs - parts
            )
        },
    );
    text.push_str(&format!(
        "\nagent: {} parts of {}; {completion}\n",
        f.parts,
        format_mib(CHUNK_SIZE)
    ));
    for remark in remarks(f) {
        text.push_str(&format!("agent: {remark}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object() -> LfsObject {
        LfsObject { path: "/tmp/x/a.bin".into(), oid: "ab".repeat(32), size: 1_500_000 }
    }

    #[test]
    fn writes_the_upload_message_as_git_lfs() {
        // From a push with git-lfs 3.3.0 to the TestHub (URLs shortened), as the batch API
        // answered it.
        let action: Action = serde_json::from_value(json!({
            "href": "http://h/r.git/info/lfs/objects/complete/ab?size=1500000&chunk=131072&exp=1&sig=2",
            "expires_in": 3600,
            "header": {
                "chunk_size": "131072", "1": "http://c/part/1?a=1&b=2", "2": "u2", "3": "u3",
                "4": "u4", "5": "u5", "6": "u6", "7": "u7", "8": "u8", "9": "u9", "10": "u10",
                "11": "u11", "12": "u12",
            },
        }))
        .unwrap();
        let want = concat!(
            r#"{"event":"upload","oid":"abababababababababababababababababababababababababababababababab","#,
            r#""size":1500000,"path":"/tmp/x/a.bin","action":{"href":"http://h/r.git/info/lfs/objects/"#,
            r#"complete/ab?size=1500000\u0026chunk=131072\u0026exp=1\u0026sig=2","header":{"1":"#,
            r#""http://c/part/1?a=1\u0026b=2","10":"u10","11":"u11","12":"u12","2":"u2","3":"u3","#,
            r#""4":"u4","5":"u5","6":"u6","7":"u7","8":"u8","9":"u9","chunk_size":"131072"},"#,
            r#""expires_at":"0001-01-01T00:00:00Z","expires_in":3600}}"#,
        );
        assert_eq!(upload_message(&object(), &action).unwrap(), want);
        // A basic action (no header, no expiry) and a given expires_at.
        let basic = Action {
            href: "u".to_owned(),
            expires_at: Some("2030-01-01T00:00:00Z".to_owned()),
            ..Action::default()
        };
        assert!(
            upload_message(&object(), &basic)
                .unwrap()
                .ends_with(r#""action":{"href":"u","expires_at":"2030-01-01T00:00:00Z"}}"#)
        );
        let message: Value =
            serde_json::from_str(&upload_message(&object(), &action).unwrap()).unwrap();
        assert_eq!(message["action"]["header"]["1"], "http://c/part/1?a=1&b=2");
        // A path git-lfs could not name.
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let path = std::ffi::OsStr::from_bytes(b"/tmp/\xff.bin").into();
            let odd = LfsObject { path, ..object() };
            let err = upload_message(&odd, &basic).unwrap_err().to_string();
            assert!(err.contains("is not UTF-8"), "{err}");
        }
    }

    /// Runs a shell script as the agent and talks to it.
    fn talk_to(script: &str) -> anyhow::Result<AgentRun> {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = read_lines(child.stdout.take().unwrap());
        let run = talk(child.stdin.take().unwrap(), &lines, r#"{"event":"upload"}"#);
        let exited = run.as_ref().ok().map(|_| wait_for_exit(&mut child, &lines));
        let _ = child.kill();
        let _ = child.wait();
        match exited {
            Some(Err(err)) => Err(err),
            _ => run,
        }
    }

    #[test]
    fn talks_to_an_agent_as_git_lfs() {
        let run = talk_to(
            r#"read init; case "$init" in *'"event":"init"'*) echo '{}';; esac
               read upload; case "$upload" in *'"event":"upload"'*) ;; *) exit 1;; esac
               echo '{"event":"progress","oid":"o","bytesSoFar":6,"bytesSinceLast":6}'
               echo '{"event":"progress","oid":"o","bytesSoFar":10,"bytesSinceLast":4}'
               echo '{"event":"complete","oid":"o"}'
               read terminate; case "$terminate" in '{"event":"terminate"}') exit 0;; esac; exit 1"#,
        )
        .unwrap();
        assert_eq!((run.progress_events, run.bytes_so_far, run.bytes_since_last), (2, 10, 10));
        assert!(run.parts_secs.unwrap() <= run.secs);
    }

    #[test]
    fn reports_what_goes_wrong_in_the_conversation() {
        let error = |script: &str| talk_to(script).unwrap_err().to_string();
        let failed = error(
            r#"read l; echo '{}'; read l
               echo '{"event":"complete","oid":"o","error":{"code":2,"message":"part 3: 500"}}'"#,
        );
        assert!(failed.contains("failed the upload") && failed.contains("part 3: 500"), "{failed}");
        let refused = error(r#"read l; echo '{"error":{"code":32,"message":"no"}}'"#);
        assert!(refused.contains("to init"), "{refused}");
        assert!(error("read l; echo '{}'; read l; echo oops").contains("not a JSON message"));
        assert!(error("read l; echo '{}'; read l; exit 0").contains("closed its stdout"));
        let chatty = error(
            r#"read l; echo '{}'; read l; echo '{"event":"complete","oid":"o"}'; read l; echo '{}'"#,
        );
        assert!(chatty.contains("after terminate"), "{chatty}");
    }

    fn figures() -> Figures {
        Figures {
            size: 1 << 30,
            parts: 16,
            connections: None,
            curl_secs: 2.0,
            curl_max_rss_bytes: 5 << 20,
            agent: AgentRun {
                secs: 1.6,
                parts_secs: Some(1.0),
                progress_events: 17,
                bytes_so_far: 1 << 30,
                bytes_since_last: 1 << 30,
                max_rss_bytes: 40 << 20,
            },
            others_curl: 1.0,
            others_agent: 2.0,
        }
    }

    #[test]
    fn reports_the_figures_and_the_targets() {
        let text = report_text(&figures());
        let words = |start: &str| {
            let line = text
                .lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("{start}: {text}"));
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        assert_eq!(words("curl -T"), "curl -T, one PUT 2.000 s 512 MiB/s 5.0 MiB 1%");
        assert_eq!(
            words("hub-cli lfs-multipart-upload"),
            "hub-cli lfs-multipart-upload (8 connections, the default) 1.600 s 640 MiB/s 40.0 MiB 2%"
        );
        assert_eq!(words("agent / curl -T"), "agent / curl -T 1.25x >= 1.0x ok");
        assert_eq!(words("peak RSS, agent"), "peak RSS, agent 40.0 MiB <= 64.0 MiB ok");
        assert!(text.contains("agent: 16 parts of 64.0 MiB; the last part at 1.000 s (1024 MiB/s), then the completion request (the Hub joins and hashes the parts) 0.600 s"), "{text}");
        assert!(!text.contains("MISSED") && !text.contains("bytesSoFar"), "{text}");
    }

    #[test]
    fn reports_misses_and_odd_progress() {
        let mut f = figures();
        f.connections = Some("2".to_owned());
        f.agent.secs = 2.5;
        f.agent.max_rss_bytes = 65 << 20;
        f.agent.bytes_so_far = 1;
        f.agent.bytes_since_last = 2;
        let text = report_text(&f);
        assert_eq!(text.matches("MISSED").count(), 2, "{text}");
        assert!(text.contains("(HF_HUB_UPLOAD_CONNECTIONS=2)"), "{text}");
        assert!(text.contains("bytesSoFar 1, not the size 1073741824"), "{text}");
        assert!(text.contains("bytesSinceLast add up to 2, not the size"), "{text}");
        f.agent.progress_events = 0;
        f.agent.parts_secs = None;
        let text = report_text(&f);
        assert!(text.contains("no progress event before complete"), "{text}");
    }
}
