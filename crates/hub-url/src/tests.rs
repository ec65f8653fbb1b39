//! Table-driven and property tests of the URL rules (`docs/protocol/urls.md`: repo ids,
//! percent-encoding, the resolve URL and the other URLs, paths in a repo).

use proptest::prelude::*;

use crate::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// repo id, filename, revision, repo type, subfolder, expected URL.
type UrlCase<'a> = (&'a str, &'a str, Option<&'a str>, Option<RepoType>, Option<&'a str>, &'a str);

/// An id and a check of the rule its error names.
type IdCase<'a> = (&'a str, fn(&RepoIdError) -> bool);

#[test]
fn hf_hub_url_matches_the_python_library() -> TestResult {
    let cases: &[UrlCase<'_>] = &[
        // The seed README's example.
        (
            "julien-c/EsperBERTo-small",
            "pytorch_model.bin",
            None,
            None,
            None,
            "https://huggingface.co/julien-c/EsperBERTo-small/resolve/main/pytorch_model.bin",
        ),
        // A dataset, by type and by prefix.
        (
            "lhoestq/custom_squad",
            "custom_squad.py",
            None,
            Some(RepoType::Dataset),
            None,
            "https://huggingface.co/datasets/lhoestq/custom_squad/resolve/main/custom_squad.py",
        ),
        (
            "datasets/lhoestq/custom_squad",
            "custom_squad.py",
            None,
            None,
            None,
            "https://huggingface.co/datasets/lhoestq/custom_squad/resolve/main/custom_squad.py",
        ),
        (
            "acme/app",
            "app.py",
            None,
            Some(RepoType::Space),
            None,
            "https://huggingface.co/spaces/acme/app/resolve/main/app.py",
        ),
        // Special refs are encoded with no safe character.
        (
            "gpt2",
            "config.json",
            Some("refs/pr/1"),
            None,
            None,
            "https://huggingface.co/gpt2/resolve/refs%2Fpr%2F1/config.json",
        ),
        (
            "gpt2",
            "config.json",
            Some("refs/convert/parquet"),
            None,
            None,
            "https://huggingface.co/gpt2/resolve/refs%2Fconvert%2Fparquet/config.json",
        ),
        (
            "gpt2",
            "config.json",
            Some("v1.0"),
            None,
            None,
            "https://huggingface.co/gpt2/resolve/v1.0/config.json",
        ),
        (
            "gpt2",
            "config.json",
            Some("e7da7f221d5bf496a48136c0cd264e630fe9fcc8"),
            None,
            None,
            "https://huggingface.co/gpt2/resolve/e7da7f221d5bf496a48136c0cd264e630fe9fcc8/config.json",
        ),
        // Filenames keep '/', encode everything else that is reserved.
        (
            "a/b",
            "dir/my file#1?.bin",
            None,
            None,
            None,
            "https://huggingface.co/a/b/resolve/main/dir/my%20file%231%3F.bin",
        ),
        ("a/b", "é.txt", None, None, None, "https://huggingface.co/a/b/resolve/main/%C3%A9.txt"),
        ("a/b", "a+b~c", None, None, None, "https://huggingface.co/a/b/resolve/main/a%2Bb~c"),
        (
            "a/b",
            "données/été ünï.txt",
            None,
            None,
            None,
            "https://huggingface.co/a/b/resolve/main/donn%C3%A9es/%C3%A9t%C3%A9%20%C3%BCn%C3%AF.txt",
        ),
        // Subfolders join with '/', an empty one means none.
        (
            "a/b",
            "model.bin",
            None,
            None,
            Some("sub/folder"),
            "https://huggingface.co/a/b/resolve/main/sub/folder/model.bin",
        ),
        (
            "a/b",
            "model.bin",
            None,
            None,
            Some(""),
            "https://huggingface.co/a/b/resolve/main/model.bin",
        ),
    ];
    for (repo_id, filename, revision, repo_type, subfolder, expected) in cases {
        let url = hf_hub_url(repo_id, filename, *revision, *repo_type, *subfolder, None)?;
        assert_eq!(&url, expected, "{repo_id} {filename} {revision:?}");
    }
    Ok(())
}

#[test]
fn hf_hub_url_uses_the_given_endpoint() -> TestResult {
    let endpoint = Endpoint::new("http://127.0.0.1:8080/")?;
    let url = hf_hub_url("acme/m", "w.bin", None, None, None, Some(&endpoint))?;
    assert_eq!(url, "http://127.0.0.1:8080/acme/m/resolve/main/w.bin");
    let mirror = Endpoint::new("https://mirror.example.org/hf")?;
    let url = hf_hub_url("acme/m", "w.bin", None, None, None, Some(&mirror))?;
    assert_eq!(url, "https://mirror.example.org/hf/acme/m/resolve/main/w.bin");
    Ok(())
}

#[test]
fn hf_hub_url_refuses_paths_that_escape_the_repo() {
    let bad = [
        "",
        "/etc/passwd",
        "../secret",
        "a/../../b",
        "..\\..\\secret",
        "a\\..\\b",
        "C:\\x",
        "c:x",
        "a//b",
        "./a",
        "a/",
        "\\\\server\\share",
    ];
    for filename in bad {
        let res = hf_hub_url("a/b", filename, None, None, None, None);
        assert!(matches!(res, Err(Error::Path(_))), "{filename:?} was accepted: {res:?}");
    }
    let err = RepoPath::new("../x").map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("'..'"), "{err}");
}

#[test]
fn repo_ids_follow_the_hub_rules() {
    let long = "a".repeat(96);
    let too_long = "a".repeat(97);
    let ok =
        ["a", "1", "a.b", "a/b", "A.B-C_d", "_a", "a_", long.as_str(), "julien-c/EsperBERTo-small"];
    for id in ok {
        assert!(RepoId::new(id).is_ok(), "{id} was refused");
    }
    let long_ns = format!("{long}/{long}");
    assert!(RepoId::new(&long_ns).is_ok());
    let cases: &[IdCase<'_>] = &[
        ("", |e| matches!(e, RepoIdError::Empty { .. })),
        ("a/", |e| matches!(e, RepoIdError::Empty { .. })),
        ("/a", |e| matches!(e, RepoIdError::Empty { .. })),
        ("a/b/c", |e| matches!(e, RepoIdError::TooManyParts { .. })),
        ("café", |e| matches!(e, RepoIdError::InvalidChar { ch: 'é', .. })),
        ("a b", |e| matches!(e, RepoIdError::InvalidChar { ch: ' ', .. })),
        ("org-/name", |e| matches!(e, RepoIdError::BadBoundary { .. })),
        ("o/-n", |e| matches!(e, RepoIdError::BadBoundary { .. })),
        (".a", |e| matches!(e, RepoIdError::BadBoundary { .. })),
        ("a.", |e| matches!(e, RepoIdError::BadBoundary { .. })),
        (too_long.as_str(), |e| matches!(e, RepoIdError::TooLong { .. })),
        ("a--b", |e| matches!(e, RepoIdError::Reserved { .. })),
        ("a..b", |e| matches!(e, RepoIdError::Reserved { .. })),
        ("x.git", |e| matches!(e, RepoIdError::EndsWithGit { .. })),
    ];
    for (id, is_expected) in cases {
        match RepoId::new(id) {
            Ok(_) => panic!("{id:?} was accepted"),
            Err(e) => {
                assert!(is_expected(&e), "{id:?}: wrong rule: {e}");
                assert!(
                    e.to_string().contains(&format!("'{id}'")),
                    "the message names the id: {e}"
                );
            }
        }
    }
}

#[test]
fn repo_types_and_prefixed_ids_parse() -> TestResult {
    assert_eq!("model".parse::<RepoType>()?, RepoType::Model);
    assert_eq!("datasets".parse::<RepoType>()?, RepoType::Dataset);
    assert_eq!("space".parse::<RepoType>()?, RepoType::Space);
    assert!("kernel".parse::<RepoType>().is_err());
    assert_eq!(RepoType::Space.url_prefix(), "spaces/");
    assert_eq!(RepoType::Model.url_prefix(), "");
    assert_eq!(RepoType::Dataset.plural(), "datasets");

    let cases = [
        ("gpt2", RepoType::Model, "gpt2"),
        ("org/m", RepoType::Model, "org/m"),
        ("models/org/m", RepoType::Model, "org/m"),
        ("datasets/org/d", RepoType::Dataset, "org/d"),
        ("datasets/squad", RepoType::Dataset, "squad"),
        ("spaces/org/s", RepoType::Space, "org/s"),
    ];
    for (input, repo_type, id) in cases {
        let repo: Repo = input.parse()?;
        assert_eq!((repo.repo_type(), repo.id().as_str()), (repo_type, id), "{input}");
    }
    assert!("datasets/a/b/c".parse::<Repo>().is_err());
    let repo: Repo = "datasets/nyu-mll/glue".parse()?;
    assert_eq!(repo.cache_folder_name(), "datasets--nyu-mll--glue");
    assert_eq!(Repo::model(RepoId::new("gpt2")?).cache_folder_name(), "models--gpt2");
    Ok(())
}

#[test]
fn revisions_are_classified_and_checked() -> TestResult {
    assert_eq!(Revision::default().as_str(), "main");
    let commit = "e7da7f221d5bf496a48136c0cd264e630fe9fcc8";
    assert_eq!(Revision::new(commit)?.kind(), RevisionKind::Commit);
    assert_eq!(Revision::new(&commit.to_uppercase())?.kind(), RevisionKind::Named);
    assert_eq!(Revision::new("refs/pr/12")?.kind(), RevisionKind::PullRequest(12));
    assert_eq!(Revision::new("refs/convert/parquet")?.kind(), RevisionKind::Convert("parquet"));
    assert_eq!(Revision::new("v1.0")?.kind(), RevisionKind::Named);
    assert_eq!(Revision::new("feature/x")?.kind(), RevisionKind::Named);
    for bad in [
        "", "..", "../x", "a/../b", "/main", "main/", "a//b", ".hidden", "x.lock", "a b", "a\nb",
        "a:b", "a\\b", "@", "a@{1}", "a.",
    ] {
        assert!(Revision::new(bad).is_err(), "{bad:?} was accepted");
    }
    Ok(())
}

#[test]
fn endpoints_and_origins() -> TestResult {
    assert_eq!(Endpoint::default().as_str(), "https://huggingface.co");
    assert_eq!(Endpoint::new("https://hub.example//")?.as_str(), "https://hub.example");
    for bad in [
        "",
        "huggingface.co",
        "ftp://x",
        "https://",
        "https://user:pw@host",
        "https://h/?q",
        "http://h:notaport",
    ] {
        assert!(Endpoint::new(bad).is_err(), "{bad:?} was accepted");
    }
    let hub = Endpoint::new("http://127.0.0.1:8080")?;
    assert_eq!(Origin::parse("http://127.0.0.1:8080/x/y?z").as_ref(), Some(hub.origin()));
    assert_ne!(Origin::parse("http://127.0.0.2:8080/x").as_ref(), Some(hub.origin()));
    assert_ne!(Origin::parse("https://127.0.0.1:8080/x").as_ref(), Some(hub.origin()));
    assert_eq!(
        Origin::parse("HTTPS://HuggingFace.CO/x"),
        Origin::parse("https://huggingface.co:443")
    );
    assert_eq!(Origin::parse("http://[::1]:9/x").map(|o| o.port()), Some(9));
    assert_eq!(Origin::parse("/relative/path"), None);
    Ok(())
}

#[test]
fn every_other_url() -> TestResult {
    let ep = Endpoint::new("https://hf.test")?;
    let model: Repo = "acme/m".parse()?;
    let data: Repo = "datasets/acme/d".parse()?;
    let pr = Revision::new("refs/pr/1")?;
    let main = Revision::main();
    let path = RepoPath::new("dir/a b.txt")?;
    let cases = [
        (ep.repo_url(&data), "https://hf.test/datasets/acme/d"),
        (ep.git_remote_url(&model), "https://hf.test/acme/m"),
        (
            ep.blob_url(&model, &pr, &path),
            "https://hf.test/acme/m/blob/refs%2Fpr%2F1/dir/a%20b.txt",
        ),
        (ep.commit_web_url(&model, "abc"), "https://hf.test/acme/m/commit/abc"),
        (ep.lfs_batch_url(&data), "https://hf.test/datasets/acme/d.git/info/lfs/objects/batch"),
        (ep.api_repo_url(&model, None), "https://hf.test/api/models/acme/m"),
        (
            ep.api_repo_url(&data, Some(&pr)),
            "https://hf.test/api/datasets/acme/d/revision/refs%2Fpr%2F1",
        ),
        (ep.tree_url(&model, &main, None), "https://hf.test/api/models/acme/m/tree/main"),
        (
            ep.tree_url(&model, &main, Some(&path)),
            "https://hf.test/api/models/acme/m/tree/main/dir%2Fa%20b.txt",
        ),
        (ep.paths_info_url(&model, &main), "https://hf.test/api/models/acme/m/paths-info/main"),
        (ep.refs_url(&data), "https://hf.test/api/datasets/acme/d/refs"),
        (ep.commits_url(&model, &pr), "https://hf.test/api/models/acme/m/commits/refs%2Fpr%2F1"),
        (ep.preupload_url(&model, &main), "https://hf.test/api/models/acme/m/preupload/main"),
        (ep.commit_url(&model, &pr), "https://hf.test/api/models/acme/m/commit/refs%2Fpr%2F1"),
        (ep.branch_url(&model, "feat/x"), "https://hf.test/api/models/acme/m/branch/feat%2Fx"),
        (ep.tag_url(&model, "v1.0"), "https://hf.test/api/models/acme/m/tag/v1.0"),
        (ep.settings_url(&model), "https://hf.test/api/models/acme/m/settings"),
        (ep.whoami_url(), "https://hf.test/api/whoami-v2"),
        (ep.repo_create_url(), "https://hf.test/api/repos/create"),
        (ep.repo_delete_url(), "https://hf.test/api/repos/delete"),
        (ep.repo_move_url(), "https://hf.test/api/repos/move"),
        (
            ep.list_url(
                RepoType::Model,
                &[("filter", "asteroid"), ("filter", "pytorch"), ("limit", "10")],
            ),
            "https://hf.test/api/models?filter=asteroid&filter=pytorch&limit=10",
        ),
        (ep.list_url(RepoType::Dataset, &[]), "https://hf.test/api/datasets"),
        (with_query("https://x/y?a=1".to_owned(), &[("b", "c&d")]), "https://x/y?a=1&b=c%26d"),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
    Ok(())
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

proptest! {
    #[test]
    fn encoded_paths_round_trip_and_stay_in_the_repo(path in "[a-zA-Z0-9 ._~/\\\\%#?+&=:@é中-]{1,40}") {
        if let Ok(repo_path) = RepoPath::new(&path) {
            let repo: Repo = "acme/m".parse().map_err(|e: Error| TestCaseError::fail(e.to_string()))?;
            let url = Endpoint::default().resolve_url(&repo, &Revision::main(), &repo_path);
            let prefix = "https://huggingface.co/acme/m/resolve/main/";
            prop_assert!(url.starts_with(prefix));
            let encoded = &url[prefix.len()..];
            // Only unreserved characters, '%' escapes and '/' separators remain.
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-~/%".contains(&b)));
            // Decoding gives back exactly the path.
            prop_assert_eq!(percent_decode(encoded), Some(path.clone()));
            // No segment can climb out of the repo, on Unix or Windows.
            for segment in encoded.split('/') {
                prop_assert!(segment != ".." && segment != "." && !segment.is_empty());
            }
            let joined = std::path::Path::new("/cache/snapshots/c").join(repo_path.as_str().replace('\\', "/"));
            prop_assert!(joined.components().all(|c| !matches!(c, std::path::Component::ParentDir)));
            prop_assert!(joined.starts_with("/cache/snapshots/c"));
        }
    }

    #[test]
    fn encoded_revisions_are_one_segment(rev in "[a-zA-Z0-9._/-]{1,30}") {
        if let Ok(revision) = Revision::new(&rev) {
            let encoded = encode_component(revision.as_str());
            prop_assert!(!encoded.contains('/'));
            prop_assert_eq!(percent_decode(&encoded), Some(rev.clone()));
            // A valid revision can always be a file name under `refs/`.
            let joined = std::path::Path::new("/cache/refs").join(revision.as_str());
            prop_assert!(joined.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::RootDir)));
        }
    }

    #[test]
    fn valid_repo_ids_never_touch_the_cache_separator(id in "[a-zA-Z0-9._-]{1,20}(/[a-zA-Z0-9._-]{1,20})?") {
        if let Ok(repo_id) = RepoId::new(&id) {
            let folder = Repo::model(repo_id.clone()).cache_folder_name();
            // The folder name splits back into exactly the type and the id's parts.
            let parts: Vec<&str> = folder.split("--").collect();
            prop_assert_eq!(parts[0], "models");
            prop_assert_eq!(parts[1..].join("/"), id.clone());
            prop_assert!(!id.contains(".."));
        }
    }
}
