//! The default seed (see `tests/README.md`): users, tokens and repositories, and the manifest
//! describing them, computed from the bytes the seeder wrote.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    repo::{Repo, RepoType},
    state::{CommitSpec, FileContent, Parent, RepoOptions, State, TokenRole, WrittenFile},
};

/// Write token of `julien-c`.
pub const JULIEN_C: &str = "hf_testhubJulienCWriteToken0000000001";
/// Write token of `alice` (member of `acme`).
pub const ALICE: &str = "hf_testhubAliceWriteToken000000000002";
/// Read token of `alice`.
pub const ALICE_READ: &str = "hf_testhubAliceReadToken0000000000003";
/// Write token of `bob` (no orgs).
pub const BOB: &str = "hf_testhubBobWriteToken00000000000004";
/// Read token of `carol` (granted access to `acme/gated-model`).
pub const CAROL: &str = "hf_testhubCarolReadToken0000000000005";

/// The seed's tokens by name, as printed by the `testhub` binary.
pub fn tokens() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("alice", ALICE),
        ("alice_read", ALICE_READ),
        ("bob", BOB),
        ("carol", CAROL),
        ("julien-c", JULIEN_C),
    ])
}

/// The size of `weights.bin` in the tiny repos (1.5 MiB).
pub const TINY_WEIGHTS_SIZE: usize = 1536 * 1024;

/// `len` deterministic pseudo-random bytes derived from `label` (a sha256 counter chain).
pub fn deterministic_bytes(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let mut hasher = Sha256::new();
        hasher.update(label.as_bytes());
        hasher.update(counter.to_le_bytes());
        out.extend_from_slice(&hasher.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// The block size of [`DeterministicReader`].
const GENERATED_BLOCK: usize = 1024 * 1024;

/// A reader of `len` deterministic pseudo-random bytes derived from `label`, generated on the fly
/// for files too large to hold in memory, at memory-copy speed (even in debug builds).
///
/// The stream is made of 1 MiB blocks. A 1 MiB pool is filled once by xoshiro256++ seeded with
/// the sha256 of `label`; block `k` is the pool rotated left by `(k * 4099 * 8) mod 1 MiB` bytes,
/// with its first 8 bytes replaced by `k` (little endian), so no two blocks are equal.
/// Not the same bytes as [`deterministic_bytes`].
#[derive(Debug, Clone)]
pub struct DeterministicReader {
    pool: Vec<u8>,
    block: Vec<u8>,
    /// The index of the block in `block`.
    block_index: u64,
    /// Bytes of `block` already handed out.
    block_pos: usize,
    remaining: u64,
}

impl DeterministicReader {
    /// `len` bytes derived from `label`.
    pub fn new(label: &str, len: u64) -> DeterministicReader {
        let digest = Sha256::digest(label.as_bytes());
        let mut state = [0u64; 4];
        for (word, chunk) in state.iter_mut().zip(digest.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_le_bytes(bytes);
        }
        if state == [0; 4] {
            state[0] = 1; // xoshiro must not start from all zeros
        }
        let mut pool = vec![0u8; GENERATED_BLOCK];
        for chunk in pool.chunks_exact_mut(8) {
            let s = &mut state;
            let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
            let t = s[1] << 17;
            s[2] ^= s[0];
            s[3] ^= s[1];
            s[1] ^= s[2];
            s[0] ^= s[3];
            s[2] ^= t;
            s[3] = s[3].rotate_left(45);
            chunk.copy_from_slice(&result.to_le_bytes());
        }
        let mut reader = DeterministicReader {
            pool,
            block: vec![0u8; GENERATED_BLOCK],
            block_index: 0,
            block_pos: 0,
            remaining: len,
        };
        reader.fill_block();
        reader
    }

    fn fill_block(&mut self) {
        let k = self.block_index;
        let shift = ((k.wrapping_mul(4099 * 8)) % GENERATED_BLOCK as u64) as usize;
        let (head, tail) = self.pool.split_at(shift);
        self.block[..tail.len()].copy_from_slice(tail);
        self.block[tail.len()..].copy_from_slice(head);
        self.block[..8].copy_from_slice(&k.to_le_bytes());
        self.block_pos = 0;
    }
}

impl std::io::Read for DeterministicReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written < buf.len() && self.remaining > 0 {
            if self.block_pos == GENERATED_BLOCK {
                self.block_index += 1;
                self.fill_block();
            }
            let n = (GENERATED_BLOCK - self.block_pos)
                .min(buf.len() - written)
                .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            buf[written..written + n]
                .copy_from_slice(&self.block[self.block_pos..self.block_pos + n]);
            self.block_pos += n;
            written += n;
            self.remaining -= n as u64;
        }
        Ok(written)
    }
}

/// One file in a [`RevisionManifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileManifest {
    /// Size of the real content (for LFS files: of the object, not the pointer).
    pub size: u64,
    /// sha256 of the real content (for LFS files: the LFS oid).
    pub sha256: String,
    /// The git blob id (for LFS files: of the pointer).
    pub git_oid: String,
    /// Whether the file is stored in LFS.
    pub lfs: bool,
}

/// One revision of a seeded repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionManifest {
    /// The commit the revision points at.
    pub commit: String,
    /// Every file at that commit.
    pub files: BTreeMap<String, FileManifest>,
}

/// One seeded repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoManifest {
    /// `model`, `dataset` or `space`.
    pub repo_type: RepoType,
    /// `namespace/name`.
    pub repo_id: String,
    /// Whether it is private.
    pub private: bool,
    /// Whether it is gated.
    pub gated: bool,
    /// Its tags (listings filter on them; the library name is one).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Revisions by name (`main`, `v1.0`, `dev`, `refs/pr/1`).
    pub revisions: BTreeMap<String, RevisionManifest>,
}

/// A rename: `from` answers 307 redirects to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenamedRepo {
    /// `model`, `dataset` or `space`.
    pub repo_type: RepoType,
    /// The old id.
    pub from: String,
    /// The new id.
    pub to: String,
}

/// What [`crate::TestHub::seed_default`] created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedManifest {
    /// Every seeded repository.
    pub repos: Vec<RepoManifest>,
    /// Renamed repositories.
    pub renamed: Vec<RenamedRepo>,
}

impl SeedManifest {
    /// The manifest of `repo_id` of type `repo_type`.
    pub fn repo(&self, repo_type: RepoType, repo_id: &str) -> Option<&RepoManifest> {
        self.repos.iter().find(|r| r.repo_type == repo_type && r.repo_id == repo_id)
    }
}

type Files = BTreeMap<String, FileManifest>;

fn apply(files: &mut Files, written: &[WrittenFile]) {
    for f in written {
        files.insert(
            f.path.clone(),
            FileManifest {
                size: f.size,
                sha256: f.sha256.clone(),
                git_oid: f.git_oid.clone(),
                lfs: f.lfs,
            },
        );
    }
}

const GITATTRIBUTES: &str = "*.bin filter=lfs diff=lfs merge=lfs -text\n";

fn revision(commit: &str, files: &Files) -> RevisionManifest {
    RevisionManifest { commit: commit.to_owned(), files: files.clone() }
}

/// Seeds one "tiny" repo at `repo` (whose final id is `final_id`).
fn seed_tiny(
    state: &State,
    repo: &Repo,
    final_id: &str,
) -> anyhow::Result<BTreeMap<String, RevisionManifest>> {
    let name = final_id.rsplit('/').next().unwrap_or(final_id);
    let weights = deterministic_bytes(
        &format!("{}/{final_id}/weights.bin", repo.repo_type.as_str()),
        TINY_WEIGHTS_SIZE,
    );
    let first = CommitSpec::new("main", "Initial commit")
        .parent(Parent::Root)
        .regular(".gitattributes", GITATTRIBUTES)
        .regular("README.md", format!("# {name}\n\nA tiny test repository served by TestHub.\n"))
        .regular("config.json", r#"{"revision": "v1.0"}"#)
        .lfs("weights.bin", weights)
        .regular("nested/deep/file.txt", "a file in a nested directory\n")
        .regular("unicode/café ü ñ.txt", "unicode path: café ü ñ\n");
    let mut revisions = BTreeMap::new();
    let mut files = Files::new();
    let (v1, written) = state.commit_files(repo, first)?;
    apply(&mut files, &written);
    state.create_ref(repo, "refs/tags/v1.0", &v1)?;
    revisions.insert("v1.0".to_owned(), revision(&v1, &files));

    let (main, written) = state.commit_files(
        repo,
        CommitSpec::new("main", "Update config").regular("config.json", r#"{"revision": "main"}"#),
    )?;
    apply(&mut files, &written);
    revisions.insert("main".to_owned(), revision(&main, &files));

    let mut dev_files = files.clone();
    let dev_spec = CommitSpec::new("dev", "Add dev-only file")
        .parent(Parent::Of(main.clone()))
        .regular("dev-only.txt", "only on dev\n");
    let (dev, written) = state.commit_files(repo, dev_spec)?;
    apply(&mut dev_files, &written);
    revisions.insert("dev".to_owned(), revision(&dev, &dev_files));

    let mut pr_files = files.clone();
    let pr_spec = CommitSpec::new("refs/pr/1", "Change config in a PR")
        .parent(Parent::Of(main))
        .regular("config.json", r#"{"revision": "refs/pr/1"}"#);
    let (pr, written) = state.commit_files(repo, pr_spec)?;
    apply(&mut pr_files, &written);
    revisions.insert("refs/pr/1".to_owned(), revision(&pr, &pr_files));
    Ok(revisions)
}

fn seed_simple(
    state: &State,
    repo: &Repo,
    options: RepoOptions,
    files: Vec<(&str, FileContent)>,
) -> anyhow::Result<RepoManifest> {
    let (private, gated, tags) = (options.private, options.gated, options.tags.clone());
    state.create_repo(repo, &options)?;
    let mut spec = CommitSpec::new("main", "Initial commit")
        .parent(Parent::Root)
        .regular(".gitattributes", GITATTRIBUTES);
    for (path, content) in files {
        spec.files.push((path.to_owned(), content));
    }
    let (commit, written) = state.commit_files(repo, spec)?;
    let mut manifest = Files::new();
    apply(&mut manifest, &written);
    Ok(RepoManifest {
        repo_type: repo.repo_type,
        repo_id: repo.repo_id.clone(),
        private,
        gated,
        tags,
        revisions: BTreeMap::from([("main".to_owned(), revision(&commit, &manifest))]),
    })
}

fn tags_of(tags: &[&str]) -> Vec<String> {
    tags.iter().map(|t| (*t).to_owned()).collect()
}

/// A model whose first tag is its library name.
fn model_options(tags: &[&str], pipeline: &str, downloads: u64, likes: u64) -> RepoOptions {
    RepoOptions {
        tags: tags_of(tags),
        library_name: tags.first().map(|t| (*t).to_owned()),
        pipeline_tag: (!pipeline.is_empty()).then(|| pipeline.to_owned()),
        downloads,
        likes,
        ..RepoOptions::default()
    }
}

pub(crate) fn seed_default(state: &State) -> anyhow::Result<SeedManifest> {
    state.create_user("julien-c", &[]);
    state.create_user("alice", &["acme"]);
    state.create_user("bob", &[]);
    state.create_user("carol", &[]);
    state.add_token("julien-c", JULIEN_C, TokenRole::Write)?;
    state.add_token("alice", ALICE, TokenRole::Write)?;
    state.add_token("alice", ALICE_READ, TokenRole::Read)?;
    state.add_token("bob", BOB, TokenRole::Write)?;
    state.add_token("carol", CAROL, TokenRole::Read)?;

    let mut repos = Vec::new();
    // The model is created under its old name and renamed, so the old id redirects.
    let old = Repo::model("acme/old-tiny-model");
    let options =
        model_options(&["asteroid", "pytorch", "audio-to-audio"], "audio-to-audio", 100, 3);
    let tags = options.tags.clone();
    state.create_repo(&old, &options)?;
    let revisions = seed_tiny(state, &old, "acme/tiny-model")?;
    state.rename_repo(&old, &Repo::model("acme/tiny-model"))?;
    repos.push(RepoManifest {
        repo_type: RepoType::Model,
        repo_id: "acme/tiny-model".to_owned(),
        private: false,
        gated: false,
        tags,
        revisions,
    });
    let dataset = RepoOptions {
        tags: tags_of(&[
            "task_categories:text-classification",
            "language:en",
            "size_categories:n<1K",
        ]),
        downloads: 40,
        likes: 2,
        ..RepoOptions::default()
    };
    let space = RepoOptions {
        tags: tags_of(&["static"]),
        sdk: Some("static".to_owned()),
        likes: 1,
        ..RepoOptions::default()
    };
    for (repo, options) in
        [(Repo::dataset("acme/tiny-dataset"), dataset), (Repo::space("acme/tiny-space"), space)]
    {
        let tags = options.tags.clone();
        state.create_repo(&repo, &options)?;
        let revisions = seed_tiny(state, &repo, &repo.repo_id)?;
        repos.push(RepoManifest {
            repo_type: repo.repo_type,
            repo_id: repo.repo_id.clone(),
            private: false,
            gated: false,
            tags,
            revisions,
        });
    }

    repos.push(seed_simple(
        state,
        &Repo::model("julien-c/EsperBERTo-small"),
        model_options(
            &["transformers", "pytorch", "roberta", "fill-mask", "eo"],
            "fill-mask",
            1000,
            10,
        ),
        vec![
            (
                "config.json",
                FileContent::Regular(
                    br#"{"architectures": ["RobertaForMaskedLM"], "vocab_size": 52000}"#.to_vec(),
                ),
            ),
            (
                "merges.txt",
                FileContent::Regular(b"#version: 0.2\n\xc4\xa0 t\n\xc4\xa0 a\n".to_vec()),
            ),
            (
                "vocab.json",
                FileContent::Regular(br#"{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}"#.to_vec()),
            ),
            (
                "README.md",
                FileContent::Regular(b"# EsperBERTo-small\n\nThe seed's example model.\n".to_vec()),
            ),
            (
                "pytorch_model.bin",
                FileContent::Lfs(deterministic_bytes(
                    "model/julien-c/EsperBERTo-small/pytorch_model.bin",
                    1_048_583,
                )),
            ),
        ],
    )?);
    repos.push(seed_simple(
        state,
        &Repo::model("acme/private-model"),
        RepoOptions { private: true, ..model_options(&["pytorch"], "", 5, 0) },
        vec![
            ("config.json", FileContent::Regular(br#"{"private": true}"#.to_vec())),
            (
                "weights.bin",
                FileContent::Lfs(deterministic_bytes(
                    "model/acme/private-model/weights.bin",
                    65_543,
                )),
            ),
        ],
    )?);
    let gated = Repo::model("acme/gated-model");
    repos.push(seed_simple(
        state,
        &gated,
        RepoOptions {
            gated: true,
            ..model_options(
                &["transformers", "pytorch", "text-generation"],
                "text-generation",
                50,
                1,
            )
        },
        vec![
            ("config.json", FileContent::Regular(br#"{"gated": true}"#.to_vec())),
            (
                "weights.bin",
                FileContent::Lfs(deterministic_bytes("model/acme/gated-model/weights.bin", 65_551)),
            ),
        ],
    )?);
    state.grant_gated_access(&gated, "carol")?;

    Ok(SeedManifest {
        repos,
        renamed: vec![RenamedRepo {
            repo_type: RepoType::Model,
            from: "acme/old-tiny-model".to_owned(),
            to: "acme/tiny-model".to_owned(),
        }],
    })
}
