//! The LFS batch API client and the transfers it hands out: `basic` upload and download,
//! `multipart` upload with parts in flight concurrently, and `verify`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use http::header::{ACCEPT, CONTENT_TYPE, ETAG, HeaderValue};
use http::{Method, StatusCode};
use hub_api::{FileRange, HubClient, HubRequest, Progress, RequestBody, Retry};
use hub_url::Repo;
use tokio::io::AsyncWriteExt;

use crate::Error;
use crate::batch::{
    Action, BatchRequest, BatchResponse, LFS_MEDIA_TYPE, ObjectSpec, Operation, encode,
    encode_request, parse_response,
};
use crate::multipart::{CompletedPart, Completion, MultipartPlan, Part};
use crate::pointer::sha256_reader;

/// How uploads are carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOptions {
    /// Parts of one object in flight at once.
    pub connections: usize,
    /// Retries of a failed part (and of the request that joins the parts) after its first
    /// attempt, when set; otherwise the [`HubClient`]'s retry policy decides.
    pub retries: Option<u32>,
}

/// The variable that sets [`UploadOptions::connections`].
pub const CONNECTIONS_ENV: &str = hub_url::env::HF_HUB_UPLOAD_CONNECTIONS;
/// The variable that sets [`UploadOptions::retries`].
pub const RETRIES_ENV: &str = hub_url::env::HF_HUB_UPLOAD_RETRIES;

impl Default for UploadOptions {
    /// 8 parts in flight: enough to fill a datacenter link from one object, while memory stays
    /// at a few hundred KiB per part (parts are streamed from the file).
    fn default() -> UploadOptions {
        UploadOptions { connections: 8, retries: None }
    }
}

impl UploadOptions {
    /// Sends this many parts of one object at once.
    #[must_use]
    pub fn with_connections(mut self, connections: usize) -> UploadOptions {
        self.connections = connections;
        self
    }

    /// Retries a failed part this many times after its first attempt.
    #[must_use]
    pub fn with_retries(mut self, retries: u32) -> UploadOptions {
        self.retries = Some(retries);
        self
    }

    /// The defaults, changed by `HF_HUB_UPLOAD_CONNECTIONS` and `HF_HUB_UPLOAD_RETRIES`.
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<UploadOptions, Error> {
        UploadOptions::from_vars(&|name| std::env::var(name).ok())
    }

    /// As [`UploadOptions::from_env`], from any source of variables.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<UploadOptions, Error> {
        let number = |name: &'static str| -> Result<Option<u32>, Error> {
            match var(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u32>().map(Some).map_err(|_| {
                    Error::Api(hub_api::Error::InvalidVariable {
                        name,
                        value: v,
                        expected: "use a whole number",
                    })
                }),
            }
        };
        let mut options = UploadOptions::default();
        if let Some(connections) = number(CONNECTIONS_ENV)? {
            options.connections = (connections as usize).max(1);
        }
        options.retries = number(RETRIES_ENV)?;
        Ok(options)
    }
}

/// Where an object's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file, streamed from disk.
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Bytes),
}

impl Source {
    /// `len` bytes from `offset`, as a request body.
    fn body(&self, offset: u64, len: u64) -> RequestBody {
        match self {
            Source::File(path) => FileRange::new(path.clone(), offset, len).into(),
            Source::Bytes(bytes) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
                let end = usize::try_from(offset.saturating_add(len))
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes.slice(start..end).into()
            }
        }
    }

    /// Its size now.
    async fn len(&self) -> Result<u64, Error> {
        match self {
            Source::File(path) => {
                Ok(tokio::fs::metadata(path).await.map_err(|e| Error::io(path, e))?.len())
            }
            Source::Bytes(bytes) => Ok(bytes.len() as u64),
        }
    }

    /// A name for messages.
    fn describe(&self) -> PathBuf {
        match self {
            Source::File(path) => path.clone(),
            Source::Bytes(_) => PathBuf::from("<bytes in memory>"),
        }
    }
}

/// Objects per batch call, as the Python library.
const BATCH_LIMIT: usize = 256;

/// Files uploaded at once by [`LfsClient::upload_files`] (each with its own parts in flight).
const FILES_AT_ONCE: usize = 4;

/// The LFS side of the Hub: cheap to clone.
#[derive(Debug, Clone)]
pub struct LfsClient {
    hub: HubClient,
    options: UploadOptions,
}

fn lfs_json_request(method: Method, url: String, body: Vec<u8>) -> HubRequest {
    let media = HeaderValue::from_static(LFS_MEDIA_TYPE);
    HubRequest::new(method, url)
        .with_body(body)
        .with_header(ACCEPT, media.clone())
        .with_header(CONTENT_TYPE, media)
}

/// `req` with the headers an action asks for (those that can be sent).
fn with_action_headers(mut req: HubRequest, action: &Action) -> HubRequest {
    for (name, value) in &action.header {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::try_from(name.as_str()), HeaderValue::from_str(value))
        {
            req = req.with_header(name, value);
        }
    }
    req
}

impl LfsClient {
    /// A client over `hub`'s transport.
    pub fn new(hub: HubClient, options: UploadOptions) -> LfsClient {
        LfsClient { hub, options }
    }

    /// The transport.
    pub fn hub(&self) -> &HubClient {
        &self.hub
    }

    /// Asks the batch API of `repo` what to do with `request`'s objects. Per-object errors stay
    /// in the answer, for the caller to report object by object.
    pub async fn batch(&self, repo: &Repo, request: &BatchRequest) -> Result<BatchResponse, Error> {
        let url = self.hub.endpoint().lfs_batch_url(repo);
        // A batch changes nothing on the server: safe to retry.
        let req = lfs_json_request(Method::POST, url.clone(), encode_request(request))
            .with_retry(Retry::Idempotent);
        let (_, body) = self.hub.send_and_read(&req).await?;
        parse_response(&body).map_err(|e| {
            Error::Api(hub_api::Error::Protocol {
                url,
                reason: format!("invalid batch answer: {e}"),
            })
        })
    }

    /// Uploads `source` as `object` through its upload `action`: one `PUT` (`basic`), or the
    /// parts of a `multipart` plan, `connections` at a time, then the completion. The source's
    /// size must be the object's. Progress is reported under the object's id.
    pub async fn upload(
        &self,
        source: &Source,
        object: &ObjectSpec,
        action: &Action,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        let actual = source.len().await?;
        if actual != object.size {
            return Err(Error::SizeMismatch {
                path: source.describe(),
                oid: object.oid.clone(),
                expected: object.size,
                actual,
            });
        }
        progress.start(&object.oid, object.size, 0);
        match MultipartPlan::from_header(&object.oid, object.size, &action.header)? {
            Some(plan) => self.upload_multipart(source, object, action, &plan, progress).await?,
            None => {
                self.upload_basic(source, object, action).await?;
                progress.advance(&object.oid, object.size);
            }
        }
        progress.finish(&object.oid);
        Ok(())
    }

    async fn upload_basic(
        &self,
        source: &Source,
        object: &ObjectSpec,
        action: &Action,
    ) -> Result<(), Error> {
        // A presigned URL: neither the token nor the action's headers (as the Python library,
        // huggingface_hub#2533).
        let req = self.with_retries(
            HubRequest::new(Method::PUT, action.href.clone())
                .with_body(source.body(0, object.size))
                .without_token(),
        );
        let part = Part { number: 1, url: action.href.clone(), offset: 0, len: object.size };
        self.put(&req, object, &part, 1).await.map(drop)
    }

    /// `req` with [`UploadOptions::retries`], when set.
    fn with_retries(&self, req: HubRequest) -> HubRequest {
        match self.options.retries {
            Some(retries) => req.with_max_retries(retries),
            None => req,
        }
    }

    /// Sends one part (or a whole `basic` object) and returns the `ETag` it got.
    async fn put(
        &self,
        req: &HubRequest,
        object: &ObjectSpec,
        part: &Part,
        parts: u32,
    ) -> Result<String, Error> {
        let failed = |source: hub_api::Error| Error::Part {
            oid: object.oid.clone(),
            part: part.number,
            parts,
            source: Box::new(source),
        };
        let response = self.hub.send(req).await.map_err(|e| match e {
            hub_api::Error::LocalFile { .. } => Error::Api(e),
            other => failed(other),
        })?;
        let (head, body) = response.into_parts();
        let body = body.bytes(64 << 10).await.map_err(failed)?;
        if let Some(e) = self.hub.error_from_response(&req.url, head.status, &head.headers, &body) {
            return Err(failed(e.into()));
        }
        Ok(head.headers.get(ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned())
    }

    async fn upload_multipart(
        &self,
        source: &Source,
        object: &ObjectSpec,
        action: &Action,
        plan: &MultipartPlan,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        let count = u32::try_from(plan.parts().len()).unwrap_or(u32::MAX);
        let mut parts: Vec<CompletedPart> = stream::iter(plan.parts())
            .map(|part| {
                let req = self.with_retries(
                    HubRequest::new(Method::PUT, part.url.clone())
                        .with_body(source.body(part.offset, part.len))
                        .without_token(),
                );
                async move {
                    let etag = self.put(&req, object, part, count).await?;
                    if etag.trim().is_empty() {
                        return Err(Error::Part {
                            oid: object.oid.clone(),
                            part: part.number,
                            parts: count,
                            source: Box::new(hub_api::Error::Protocol {
                                url: part.url.clone(),
                                reason: "the storage answered without an ETag".to_owned(),
                            }),
                        });
                    }
                    progress.advance(&object.oid, part.len);
                    Ok(CompletedPart { part_number: part.number, etag })
                }
            })
            .buffer_unordered(self.options.connections.max(1))
            .try_collect()
            .await?;
        parts.sort_unstable_by_key(|p| p.part_number);
        let completion = Completion { oid: object.oid.clone(), parts };
        let body = encode(&completion);
        // The completion URL carries its own authorization: no token, as the Python library.
        // Completing twice stores the same object: safe to retry, and worth it after every part
        // of a large file was sent.
        let req = self.with_retries(
            lfs_json_request(Method::POST, action.href.clone(), body)
                .without_token()
                .with_retry(Retry::Idempotent),
        );
        self.hub.send_and_read(&req).await?;
        Ok(())
    }

    /// Confirms an upload through its `verify` action (with the token, like the batch call).
    pub async fn verify(&self, object: &ObjectSpec, action: &Action) -> Result<(), Error> {
        let body = encode(object);
        let req = with_action_headers(
            lfs_json_request(Method::POST, action.href.clone(), body).with_retry(Retry::Idempotent),
            action,
        );
        self.hub.send_and_read(&req).await?;
        Ok(())
    }

    /// Uploads whatever the Hub lacks of `files` (each a source and its object) to `repo`:
    /// batch calls of up to 256 objects, then the transfers, several files at once, each
    /// verified. Objects the Hub already has are skipped, so running it again after an
    /// interruption sends only what is missing. Returns the objects that were sent.
    pub async fn upload_files(
        &self,
        repo: &Repo,
        revision: Option<&str>,
        files: &[(Source, ObjectSpec)],
        progress: &dyn Progress,
    ) -> Result<Vec<ObjectSpec>, Error> {
        let mut work = Vec::new();
        for chunk in files.chunks(BATCH_LIMIT) {
            let objects = chunk.iter().map(|(_, o)| o.clone()).collect();
            let mut request = BatchRequest::new(Operation::Upload, objects);
            if let Some(revision) = revision {
                request = request.with_ref(revision);
            }
            let answer = self.batch(repo, &request).await?;
            for (source, object) in chunk {
                let Some(found) = answer.objects.iter().find(|o| o.oid == object.oid) else {
                    return Err(Error::InvalidAction {
                        oid: object.oid.clone(),
                        reason: "the batch answer does not mention it".to_owned(),
                    });
                };
                if let Some(error) = &found.error {
                    return Err(Error::Object {
                        oid: object.oid.clone(),
                        code: error.code,
                        message: error.message.clone(),
                    });
                }
                let actions = found.actions.clone().unwrap_or_default();
                if let Some(upload) = actions.upload {
                    // The same content twice in one commit is sent once.
                    if !work.iter().any(|(_, o, _, _): &(_, ObjectSpec, _, _)| o.oid == object.oid)
                    {
                        work.push((source.clone(), object.clone(), upload, actions.verify));
                    }
                }
            }
        }
        // A failed file does not stop the others: what they sent is kept, so a second run
        // has less to do.
        let results: Vec<Result<ObjectSpec, Error>> =
            stream::iter(work)
                // Owned values, not borrows of `files`: the future stays `Send` for any runtime
                // (a closure over references trips rustc's higher-ranked lifetime inference).
                .map(
                    |(source, object, upload, verify): (
                        Source,
                        ObjectSpec,
                        Action,
                        Option<Action>,
                    )| async move {
                        self.upload(&source, &object, &upload, progress).await?;
                        if let Some(verify) = &verify {
                            self.verify(&object, verify).await?;
                        }
                        Ok::<_, Error>(object)
                    },
                )
                .buffer_unordered(FILES_AT_ONCE)
                .collect()
                .await;
        results.into_iter().collect()
    }

    /// Downloads `object` through its download `action` into `dest`: written to a temp file in
    /// the same folder, checked against the object's size and sha256, then renamed into place,
    /// so `dest` is either absent or complete.
    pub async fn download(
        &self,
        object: &ObjectSpec,
        action: &Action,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".lfs-download-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        let (std_file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let req = with_action_headers(HubRequest::get(action.href.clone()), action);
        let response = self.hub.send(&req).await?;
        let (head, mut body) = response.into_parts();
        if head.status != StatusCode::OK {
            let bytes = body.bytes(64 << 10).await?;
            let e = self.hub.error_from_response(&req.url, head.status, &head.headers, &bytes);
            return Err(match e {
                Some(e) => Error::Api(e.into()),
                None => Error::InvalidAction {
                    oid: object.oid.clone(),
                    reason: format!("download answered {}", head.status),
                },
            });
        }
        progress.start(&object.oid, object.size, 0);
        let mut hasher = sha2::Sha256::default();
        let mut size = 0u64;
        while let Some(data) = body.chunk().await? {
            sha2::Digest::update(&mut hasher, &data);
            file.write_all(&data).await.map_err(|e| Error::io(&tmp_path, e))?;
            size += data.len() as u64;
            progress.advance(&object.oid, data.len() as u64);
        }
        file.flush().await.map_err(|e| Error::io(&tmp_path, e))?;
        file.sync_all().await.map_err(|e| Error::io(&tmp_path, e))?;
        drop(file);
        if size != object.size {
            return Err(Error::SizeMismatch {
                path: dest.to_owned(),
                oid: object.oid.clone(),
                expected: object.size,
                actual: size,
            });
        }
        let actual = crate::pointer::hex(&sha2::Digest::finalize(hasher));
        if actual != object.oid {
            return Err(Error::Corrupt { oid: object.oid.clone(), actual });
        }
        tmp_path.persist(dest).map_err(|e| Error::io(dest, e.error))?;
        progress.finish(&object.oid);
        Ok(())
    }
}

/// The sha256 and size of the file at `path` as an [`ObjectSpec`], hashed on a blocking
/// thread so an async caller is not stalled.
pub async fn object_for_file(path: &Path) -> Result<ObjectSpec, Error> {
    let owned = path.to_owned();
    let hashed = Error::joined(
        tokio::task::spawn_blocking(move || std::fs::File::open(&owned).and_then(sha256_reader))
            .await,
    )?;
    let (oid, size) = hashed.map_err(|e| Error::io(path, e))?;
    Ok(ObjectSpec { oid, size })
}
