//! git smart HTTP, served by spawning `git http-backend` as a CGI program.
//!
//! The request body is streamed to the CGI's stdin (git may gzip it; `http-backend` inflates it
//! itself given `HTTP_CONTENT_ENCODING`); its output is parsed (headers up to the blank line,
//! `Status:` included) and the rest streamed back.

use std::{process::Stdio, sync::Arc};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, body::Incoming, header};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::{
    body::ChannelBody,
    http_util::{Resp, finish, hub_error, hub_error_with, status},
    repo::Repo,
    state::{Auth, ReadAccess, State},
};

fn ask_credentials(message: &str) -> Resp {
    let builder = status(401).header(header::WWW_AUTHENTICATE, "Basic realm=\"testhub\"");
    hub_error_with(builder, 401, None, message)
}

/// Checks access; `None` means go ahead.
fn check(state: &State, repo: &Repo, write: bool, auth: &Auth) -> Option<Resp> {
    let anonymous = auth.user().is_none();
    if write {
        if anonymous {
            return Some(ask_credentials("Authentication required to push"));
        }
        if state.meta(repo).is_none() {
            return Some(hub_error(404, Some("RepoNotFound"), "Repository not found"));
        }
        if !state.can_write(repo, auth) {
            return Some(hub_error(403, None, "You are not authorized to push to this repository"));
        }
        return None;
    }
    match state.read_access(repo, auth) {
        ReadAccess::Granted => None,
        ReadAccess::NotFound | ReadAccess::GatedAnonymous if anonymous => {
            Some(ask_credentials("Authentication required"))
        }
        ReadAccess::NotFound => Some(hub_error(404, Some("RepoNotFound"), "Repository not found")),
        ReadAccess::GatedAnonymous | ReadAccess::GatedDenied => Some(hub_error(
            403,
            Some("GatedRepo"),
            "You are not in the authorized list of this gated repository",
        )),
    }
}

pub(crate) async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    rest: &str,
    write: bool,
    auth: &Auth,
) -> Resp {
    if let Some(res) = check(state, repo, write, auth) {
        return res;
    }
    match run_backend(state, req, repo, rest, auth).await {
        Ok(res) => res,
        Err(e) => crate::http_util::internal_error(&e),
    }
}

async fn run_backend(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    rest: &str,
    auth: &Auth,
) -> anyhow::Result<Resp> {
    let header =
        |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_PROJECT_ROOT", state.repos_root())
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("PATH_INFO", format!("/{}/{}.git/{rest}", repo.repo_type.plural(), repo.repo_id))
        .env("REQUEST_METHOD", req.method().as_str())
        .env("QUERY_STRING", req.uri().query().unwrap_or(""))
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REMOTE_USER", auth.user().unwrap_or(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (env, name) in [
        ("CONTENT_TYPE", "content-type"),
        ("CONTENT_LENGTH", "content-length"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
        ("HTTP_GIT_PROTOCOL", "git-protocol"),
    ] {
        match header(name) {
            Some(v) => cmd.env(env, v),
            None => cmd.env_remove(env),
        };
    }
    if auth.user().is_none() {
        cmd.env_remove("REMOTE_USER");
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow::format_err!("no stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::format_err!("no stdout"))?;
    let mut stderr = child.stderr.take().ok_or_else(|| anyhow::format_err!("no stderr"))?;

    let mut body = req.into_body();
    tokio::spawn(async move {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data()
                && stdin.write_all(&data).await.is_err()
            {
                break;
            }
        }
        drop(stdin);
    });
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });

    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut builder = status(200);
    let mut saw_headers = false;
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line).await?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            saw_headers = true;
            break;
        }
        let Some((name, value)) = text.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().and_then(|c| c.parse::<u16>().ok()).unwrap_or(500);
            builder = builder.status(code);
        } else {
            builder = builder.header(name.trim(), value);
        }
    }
    if !saw_headers {
        let _ = child.wait().await;
        let err = stderr_task.await.unwrap_or_default();
        return Ok(hub_error(500, None, &format!("git http-backend failed: {}", err.trim())));
    }
    let (tx, body) = ChannelBody::channel(8);
    tokio::spawn(async move {
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            }
        }
        let exit = child.wait().await;
        let err = stderr_task.await.unwrap_or_default();
        if !exit.as_ref().is_ok_and(|s| s.success()) || !err.trim().is_empty() {
            tracing::debug!("git http-backend: {exit:?}: {}", err.trim());
        }
    });
    Ok(finish(builder, body))
}
