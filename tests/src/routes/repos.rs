//! Repository CRUD: `POST /api/repos/create`, `DELETE /api/repos/delete`,
//! `POST /api/repos/move`, `PUT /api/{t}/{id}/settings`.

use std::sync::Arc;

use hyper::{Request, body::Incoming};
use serde_json::{Value, json};

use crate::{
    http_util::{Resp, hub_error, hub_error_with, internal_error, json, json_with, status},
    repo::{Repo, RepoType, is_valid_repo_id},
    routes::{Reject, read_json, write_denied},
    state::{Auth, CommitSpec, Parent, RepoOptions, SettingsUpdate, State, TokenRole},
};

const SDKS: &[&str] = &["gradio", "streamlit", "docker", "static"];

/// The `.gitattributes` of the Hub's initial commit in a new repository.
const DEFAULT_GITATTRIBUTES: &str = "\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
";

fn bad_request(message: &str) -> Resp {
    hub_error(400, None, message)
}

fn bad(message: String) -> Reject {
    Reject::bad(message)
}

/// The repo URL the Hub answers: `{endpoint}/{prefix}{id}`.
fn repo_url(state: &State, repo: &Repo) -> String {
    format!("{}/{}", state.endpoint, repo.url_path())
}

/// An optional string field: absent or null is `None`; another type is an error.
fn opt_str<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>, Reject> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("`{key}` must be a string"))),
    }
}

fn opt_bool(body: &Value, key: &str) -> Result<Option<bool>, Reject> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(format!("`{key}` must be a boolean"))),
    }
}

/// `type` of a create / delete / move body: absent or null = model.
fn repo_type_field(body: &Value) -> Result<RepoType, Reject> {
    match opt_str(body, "type")? {
        None | Some("model") => Ok(RepoType::Model),
        Some("dataset") => Ok(RepoType::Dataset),
        Some("space") => Ok(RepoType::Space),
        Some(other) => Err(bad(format!("Invalid repo type `{other}`"))),
    }
}

/// `private` / `visibility` (`public`, `private`, `protected` for Spaces) → private?
fn visibility(body: &Value, repo_type: RepoType) -> Result<Option<bool>, Reject> {
    let private = opt_bool(body, "private")?;
    let visibility = match opt_str(body, "visibility")? {
        None => None,
        Some("public") => Some(false),
        Some("private") => Some(true),
        // A protected Space runs publicly but its files are private: private for this hub.
        Some("protected") if repo_type == RepoType::Space => Some(true),
        Some(other) => {
            return Err(bad(format!("Invalid visibility `{other}` for a {}", repo_type.as_str())));
        }
    };
    match (private, visibility) {
        (Some(p), Some(v)) if p != v => Err(bad("`private` and `visibility` disagree".into())),
        (p, v) => Ok(v.or(p)),
    }
}

/// The authenticated user of a write request, or the error to answer.
fn writer(auth: &Auth) -> Result<&str, Reject> {
    match auth {
        Auth::User { name, role: TokenRole::Write } => Ok(name),
        Auth::User { .. } => Err(Reject::new(
            403,
            "You don't have the rights to do this with a read token: use a write token",
        )),
        _ => Err(Reject::new(401, "You must be authenticated to do this")),
    }
}

/// `{name, organization}` of a create / delete body → the repo id.
fn repo_id_of(body: &Value, user: &str) -> Result<(String, String), Reject> {
    let name = opt_str(body, "name")?.ok_or_else(|| bad("`name` is required".into()))?;
    let namespace = opt_str(body, "organization")?.unwrap_or(user);
    let id = if name.contains('/') { name.to_owned() } else { format!("{namespace}/{name}") };
    if !is_valid_repo_id(&id) || !id.contains('/') {
        return Err(bad(format!("Invalid repo name `{id}`")));
    }
    let namespace = id.split('/').next().unwrap_or(namespace).to_owned();
    Ok((id, namespace))
}

pub(crate) async fn create(state: &Arc<State>, req: Request<Incoming>, auth: &Auth) -> Resp {
    // The body is read before any answer: an unread body makes hyper close the connection,
    // which a client reusing it sees as a disconnect.
    let body = read_json(req).await;
    let user = match writer(auth) {
        Ok(u) => u.to_owned(),
        Err(reject) => return reject.resp(),
    };
    let body = match body {
        Ok(b) if b.is_object() => b,
        Ok(_) => return bad_request("The body must be a JSON object"),
        Err(res) => return res,
    };
    let parsed = (|| {
        let repo_type = repo_type_field(&body)?;
        let (id, namespace) = repo_id_of(&body, &user)?;
        let private = visibility(&body, repo_type)?.unwrap_or(false);
        let sdk = opt_str(&body, "sdk")?;
        let threshold = match body.get("lfsmultipartthresh") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(n) if n >= 1.0 && n.is_finite() => Some(n as u64),
                _ => return Err(bad("`lfsmultipartthresh` must be a positive number".into())),
            },
        };
        Ok((repo_type, id, namespace, private, sdk.map(str::to_owned), threshold))
    })();
    let (repo_type, id, namespace, private, sdk, threshold) = match parsed {
        Ok(it) => it,
        Err(reject) => return reject.resp(),
    };
    if !state.is_owner(&user, &namespace) {
        return hub_error(
            403,
            None,
            &format!(
                "You don't have the rights to create a {} under the namespace \"{namespace}\"",
                repo_type.as_str()
            ),
        );
    }
    let repo = Repo::new(repo_type, &id);
    if state.meta(&repo).is_some() {
        let message = format!("You already created this {} repo", repo_type.as_str());
        let builder = status(409).header("X-Error-Message", message.as_str());
        return json_with(builder, &json!({"error": message, "url": repo_url(state, &repo)}));
    }
    let sdk = match (repo_type, sdk.as_deref()) {
        (RepoType::Space, Some(s)) if SDKS.contains(&s) => Some(s.to_owned()),
        (RepoType::Space, Some(s)) => {
            return bad_request(&format!("Invalid sdk `{s}`: use one of {}", SDKS.join(", ")));
        }
        (RepoType::Space, None) => {
            return bad_request(&format!("A Space needs an sdk: one of {}", SDKS.join(", ")));
        }
        _ => None,
    };
    let tags = sdk.iter().cloned().collect();
    let options =
        RepoOptions { private, owner: Some(namespace), sdk, tags, ..RepoOptions::default() };
    let created = {
        let (state, repo) = (state.clone(), repo.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            state.create_repo(&repo, &options)?;
            if threshold.is_some() {
                state.set_repo_multipart_threshold(&repo, threshold)?;
            }
            // Like the Hub: a new repository starts with one commit holding `.gitattributes`.
            let initial = CommitSpec::new("main", "initial commit")
                .parent(Parent::Root)
                .regular(".gitattributes", DEFAULT_GITATTRIBUTES);
            state.commit_files(&repo, initial)?;
            Ok(())
        })
        .await
    };
    match created {
        Ok(Ok(())) => (),
        // Lost a race with another create of the same repo.
        Ok(Err(_)) if state.meta(&repo).is_some() => {
            let builder = status(409);
            return json_with(
                builder,
                &json!({"error": "Repository already exists", "url": repo_url(state, &repo)}),
            );
        }
        Ok(Err(e)) => return internal_error(&e),
        Err(e) => return internal_error(&anyhow::format_err!("create task failed: {e}")),
    }
    json(200, &json!({"url": repo_url(state, &repo), "name": repo.repo_id, "id": repo.repo_id}))
}

/// A repo named in a body, checked for write access: the user's token must be a write token
/// of the owner or of a member of the owning org.
fn writable_repo(state: &State, repo: &Repo, auth: &Auth) -> Option<Resp> {
    if let Some(res) = write_denied(state, repo, auth) {
        return Some(res);
    }
    if state.meta(repo).is_none() {
        return Some(hub_error(404, Some("RepoNotFound"), "Repository not found"));
    }
    None
}

pub(crate) async fn delete(state: &Arc<State>, req: Request<Incoming>, auth: &Auth) -> Resp {
    let body = read_json(req).await;
    let user = match auth.user() {
        Some(u) => u.to_owned(),
        None => return hub_error(401, None, "You must be authenticated to do this"),
    };
    let body = match body {
        Ok(b) if b.is_object() => b,
        Ok(_) => return bad_request("The body must be a JSON object"),
        Err(res) => return res,
    };
    let (repo_type, id) =
        match repo_type_field(&body).and_then(|t| Ok((t, repo_id_of(&body, &user)?.0))) {
            Ok(it) => it,
            Err(reject) => return reject.resp(),
        };
    let repo = Repo::new(repo_type, &id);
    if let Some(res) = writable_repo(state, &repo, auth) {
        return res;
    }
    let deleted = {
        let (state, repo) = (state.clone(), repo.clone());
        tokio::task::spawn_blocking(move || state.delete_repo(&repo)).await
    };
    match deleted {
        Ok(Ok(())) => json(200, &json!({})),
        Ok(Err(_)) if state.meta(&repo).is_none() => {
            hub_error(404, Some("RepoNotFound"), "Repository not found")
        }
        Ok(Err(e)) => internal_error(&e),
        Err(e) => internal_error(&anyhow::format_err!("delete task failed: {e}")),
    }
}

pub(crate) async fn move_repo(state: &Arc<State>, req: Request<Incoming>, auth: &Auth) -> Resp {
    let body = read_json(req).await;
    let user = match auth.user() {
        Some(u) => u.to_owned(),
        None => return hub_error(401, None, "You must be authenticated to do this"),
    };
    let body = match body {
        Ok(b) if b.is_object() => b,
        Ok(_) => return bad_request("The body must be a JSON object"),
        Err(res) => return res,
    };
    let parsed = (|| {
        let repo_type = repo_type_field(&body)?;
        let from =
            opt_str(&body, "fromRepo")?.ok_or_else(|| bad("`fromRepo` is required".into()))?;
        let to = opt_str(&body, "toRepo")?.ok_or_else(|| bad("`toRepo` is required".into()))?;
        for id in [from, to] {
            if !is_valid_repo_id(id) || !id.contains('/') {
                return Err(bad(format!("Invalid repo id `{id}`: use namespace/name")));
            }
        }
        Ok((Repo::new(repo_type, from), Repo::new(repo_type, to)))
    })();
    let (from, to) = match parsed {
        Ok(it) => it,
        Err(reject) => return reject.resp(),
    };
    if let Some(res) = writable_repo(state, &from, auth) {
        return res;
    }
    let namespace = to.namespace().unwrap_or_default().to_owned();
    if !state.is_owner(&user, &namespace) {
        return hub_error(
            403,
            None,
            &format!("You don't have the rights to move a repo to the namespace \"{namespace}\""),
        );
    }
    if from == to {
        return bad_request("The source and destination are the same repo");
    }
    if state.meta(&to).is_some() {
        let builder = status(409);
        return hub_error_with(
            builder,
            409,
            None,
            &format!("Repository {} already exists", to.repo_id),
        );
    }
    let moved = {
        let (state, from, to) = (state.clone(), from.clone(), to.clone());
        tokio::task::spawn_blocking(move || state.rename_repo(&from, &to)).await
    };
    match moved {
        Ok(Ok(())) => json(200, &json!({"url": repo_url(state, &to)})),
        Ok(Err(_)) if state.meta(&to).is_some() => {
            hub_error(409, None, &format!("Repository {} already exists", to.repo_id))
        }
        Ok(Err(e)) => internal_error(&e),
        Err(e) => internal_error(&anyhow::format_err!("move task failed: {e}")),
    }
}

pub(crate) async fn settings(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    auth: &Auth,
) -> Resp {
    let body = read_json(req).await;
    if let Some(res) = writable_repo(state, repo, auth) {
        return res;
    }
    let body = match body {
        Ok(b) if b.is_object() => b,
        Ok(_) => return bad_request("The body must be a JSON object"),
        Err(res) => return res,
    };
    let private = match visibility(&body, repo.repo_type) {
        Ok(p) => p,
        Err(reject) => return reject.resp(),
    };
    let gated = match body.get("gated") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(false)) => Some(None),
        Some(Value::String(s)) if s == "auto" || s == "manual" => Some(Some(s.clone())),
        Some(other) => {
            return bad_request(&format!(
                "Invalid gated value {other}: use \"auto\", \"manual\" or false"
            ));
        }
    };
    let update = SettingsUpdate { private, gated };
    match state.update_settings(repo, &update) {
        Ok(meta) => json(200, &json!({"private": meta.private, "gated": meta.gated_json()})),
        Err(e) => internal_error(&e),
    }
}
