//! A cache laid out by hand as the Python library writes it: `blobs/<etag>`, relative symlinks
//! in `snapshots/<commit>/`, and refs (including `refs/refs/pr/1`).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The commits and etags of [`model_and_dataset`].
pub(crate) const C1: &str = "1111111111111111111111111111111111111111";
pub(crate) const C2: &str = "2222222222222222222222222222222222222222";
pub(crate) const D1: &str = "3333333333333333333333333333333333333333";
pub(crate) const SHARED: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub(crate) const OLD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
pub(crate) const NEW: &str = "cccccccccccccccccccccccccccccccccccccccc";
pub(crate) const DATA: &str = "dddddddddddddddddddddddddddddddddddddddd";

/// The folders of [`model_and_dataset`].
pub(crate) const MODEL_FOLDER: &str = "models--julien-c--EsperBERTo-small";
pub(crate) const DATASET_FOLDER: &str = "datasets--acme--squad";

/// One file of a snapshot: the relative symlink `snapshots/<commit>/<file>` → `blobs/<etag>`.
pub(crate) fn link(repo: &Path, commit: &str, file: &str, etag: &str) -> anyhow::Result<()> {
    let pointer = repo.join("snapshots").join(commit).join(file);
    std::fs::create_dir_all(pointer.parent().context("a parent")?)?;
    let target = format!("{}blobs/{etag}", "../".repeat(file.split('/').count() + 1));
    Ok(std::os::unix::fs::symlink(target, pointer)?)
}

/// `refs/<name>` of `repo` → `commit`.
pub(crate) fn write_ref(repo: &Path, name: &str, commit: &str) -> anyhow::Result<()> {
    let path = repo.join("refs").join(name);
    std::fs::create_dir_all(path.parent().context("a parent")?)?;
    Ok(std::fs::write(path, commit)?)
}

/// At `root`: a model with two revisions (`main` → C2, `refs/pr/1` → C1) sharing `README.md`
/// (100 B), each with its own `sub/config.json` (10 B, 20 B); a dataset with one revision
/// (5 B); and `.locks/`. Returns the folders of the model and of the dataset.
pub(crate) fn model_and_dataset(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let model = root.join(MODEL_FOLDER);
    std::fs::create_dir_all(model.join("blobs"))?;
    for (etag, size) in [(SHARED, 100), (OLD, 10), (NEW, 20)] {
        std::fs::write(model.join("blobs").join(etag), vec![b'x'; size])?;
    }
    for (commit, config) in [(C1, OLD), (C2, NEW)] {
        link(&model, commit, "README.md", SHARED)?;
        link(&model, commit, "sub/config.json", config)?;
    }
    write_ref(&model, "main", C2)?;
    write_ref(&model, "refs/pr/1", C1)?;

    let dataset = root.join(DATASET_FOLDER);
    std::fs::create_dir_all(dataset.join("blobs"))?;
    std::fs::write(dataset.join("blobs").join(DATA), b"12345")?;
    link(&dataset, D1, "data/train.csv", DATA)?;
    write_ref(&dataset, "main", D1)?;
    std::fs::create_dir_all(root.join(".locks"))?;
    Ok((model, dataset))
}
