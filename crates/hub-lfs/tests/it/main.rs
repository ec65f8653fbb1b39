//! The integration tests of `hub-lfs` against a local TestHub (`hub-tests`, started
//! in-process): the batch client, multipart uploads, the custom transfer agent driven as
//! git-lfs drives it, and publishing over HTTP with `create_commit`.

mod agent;
mod commit;
mod support;
