//! Repository types and ids: [`RepoType`], [`RepoId`] and the pair of them, [`Repo`].

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, RepoIdError, RepoTypeError};

/// The three kinds of repository on the Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum RepoType {
    /// A model (the default, as in the Python library).
    #[default]
    Model,
    /// A dataset.
    Dataset,
    /// A space (an app).
    Space,
}

impl RepoType {
    /// All repo types, in a stable order.
    pub const ALL: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

    /// The singular name: `model`, `dataset` or `space`.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// The plural used in API paths and cache folder names: `models`, `datasets`, `spaces`.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// The prefix of web, git and resolve URLs: empty for models, `datasets/`, `spaces/`.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    /// The type whose [`plural`](RepoType::plural) is `s` (`models`, `datasets`, `spaces`).
    pub fn from_plural(s: &str) -> Option<RepoType> {
        RepoType::ALL.into_iter().find(|t| t.plural() == s)
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RepoType {
    type Err = RepoTypeError;

    /// Parses `model`, `dataset` or `space` (the plurals are accepted too).
    fn from_str(s: &str) -> Result<RepoType, RepoTypeError> {
        RepoType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .or_else(|| RepoType::from_plural(s))
            .ok_or_else(|| RepoTypeError(s.to_owned()))
    }
}

/// A validated repository id: `name` or `namespace/name`, with the Hub's rules.
///
/// Each part is 1 to 96 ASCII letters, digits, `-`, `_` or `.`, starts and ends with a letter,
/// digit or `_`; the id contains neither `--` (the cache's separator) nor `..`, and does not end
/// with `.git`.
///
/// ```
/// use hub_url::RepoId;
///
/// let id: RepoId = "julien-c/EsperBERTo-small".parse().unwrap();
/// assert_eq!(id.namespace(), Some("julien-c"));
/// assert_eq!(id.name(), "EsperBERTo-small");
/// assert!("org/../etc".parse::<RepoId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId(String);

const MAX_PART_LEN: usize = 96;

impl RepoId {
    /// Validates `id` with the Hub's rules.
    pub fn new(id: &str) -> Result<RepoId, RepoIdError> {
        let err_id = || id.to_owned();
        if id.is_empty() {
            return Err(RepoIdError::Empty { id: err_id() });
        }
        let parts: Vec<&str> = id.split('/').collect();
        if parts.len() > 2 {
            return Err(RepoIdError::TooManyParts { id: err_id() });
        }
        for part in &parts {
            if part.is_empty() {
                return Err(RepoIdError::Empty { id: err_id() });
            }
            if let Some(ch) =
                part.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            {
                return Err(RepoIdError::InvalidChar { id: err_id(), ch });
            }
            if part.len() > MAX_PART_LEN {
                return Err(RepoIdError::TooLong { id: err_id() });
            }
            let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
            let bytes = part.as_bytes();
            if !is_word(bytes[0]) || !is_word(bytes[bytes.len() - 1]) {
                return Err(RepoIdError::BadBoundary { id: err_id() });
            }
        }
        if id.contains("--") || id.contains("..") {
            return Err(RepoIdError::Reserved { id: err_id() });
        }
        if id.ends_with(".git") {
            return Err(RepoIdError::EndsWithGit { id: err_id() });
        }
        Ok(RepoId(id.to_owned()))
    }

    /// The id as written: `namespace/name` or `name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The user or organization, when there is one.
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once('/').map(|(ns, _)| ns)
    }

    /// The repository's own name.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or(self.0.as_str(), |(_, name)| name)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepoId {
    type Err = RepoIdError;

    fn from_str(s: &str) -> Result<RepoId, RepoIdError> {
        RepoId::new(s)
    }
}

impl AsRef<str> for RepoId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A repository: its type and its id.
///
/// ```
/// use hub_url::{Repo, RepoType};
///
/// let repo: Repo = "datasets/lhoestq/custom_squad".parse().unwrap();
/// assert_eq!(repo.repo_type(), RepoType::Dataset);
/// assert_eq!(repo.id().as_str(), "lhoestq/custom_squad");
/// assert_eq!(repo.to_string(), "datasets/lhoestq/custom_squad");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repo {
    repo_type: RepoType,
    id: RepoId,
}

impl Repo {
    /// A repository of the given type.
    pub fn new(repo_type: RepoType, id: RepoId) -> Repo {
        Repo { repo_type, id }
    }

    /// A model repository.
    pub fn model(id: RepoId) -> Repo {
        Repo::new(RepoType::Model, id)
    }

    /// A dataset repository.
    pub fn dataset(id: RepoId) -> Repo {
        Repo::new(RepoType::Dataset, id)
    }

    /// A space repository.
    pub fn space(id: RepoId) -> Repo {
        Repo::new(RepoType::Space, id)
    }

    /// Parses an id that may carry a type prefix (`datasets/org/name`, `spaces/org/name`,
    /// `models/org/name`); without a prefix the repo is of `default_type`.
    ///
    /// A prefix is recognised as the Python library does: on a three-part id, or on a
    /// two-part id whose first part is `datasets`, `spaces` or `models`.
    pub fn parse_with_default(s: &str, default_type: RepoType) -> Result<Repo, Error> {
        if let Some((first, rest)) = s.split_once('/')
            && let Some(repo_type) = RepoType::from_plural(first)
        {
            let id = RepoId::new(rest)?;
            // `models/datasets/x` would be shown, and sent to the Hub, as the dataset `x`.
            if repo_type == RepoType::Model
                && id.namespace().and_then(RepoType::from_plural).is_some()
            {
                return Err(RepoIdError::TooManyParts { id: s.to_owned() }.into());
            }
            return Ok(Repo::new(repo_type, id));
        }
        Ok(Repo::new(default_type, RepoId::new(s)?))
    }

    /// The repository type.
    pub fn repo_type(&self) -> RepoType {
        self.repo_type
    }

    /// The repository id.
    pub fn id(&self) -> &RepoId {
        &self.id
    }

    /// The folder name of this repository in the cache: `models--org--name`.
    pub fn cache_folder_name(&self) -> String {
        let mut name = self.repo_type.plural().to_owned();
        for part in self.id.as_str().split('/') {
            name.push_str("--");
            name.push_str(part);
        }
        name
    }
}

impl fmt::Display for Repo {
    /// Formats as the URL path of the repo: `org/name`, `datasets/org/name`, `spaces/org/name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.repo_type.url_prefix(), self.id)
    }
}

impl FromStr for Repo {
    type Err = Error;

    /// Parses `org/name` (a model), `datasets/org/name` or `spaces/org/name`.
    fn from_str(s: &str) -> Result<Repo, Error> {
        Repo::parse_with_default(s, RepoType::Model)
    }
}
