//! The `multipart` transfer's plan, read from the batch API's upload action: the chunk size and
//! one presigned URL per part, sorted by part *number* (git-lfs sorts the keys as strings, so
//! `"10"` arrives before `"2"`), checked against `ceil(size / chunk_size)`. No I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Error;

/// The header key that holds the part size.
pub const CHUNK_SIZE_KEY: &str = "chunk_size";

/// One part to `PUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Part {
    /// Its number, from 1.
    pub number: u32,
    /// Its presigned URL (never send a token there).
    pub url: String,
    /// Where it starts in the file.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

/// A stored part, for the completion request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CompletedPart {
    /// Its number, from 1.
    pub part_number: u32,
    /// The `ETag` the storage answered.
    pub etag: String,
}

/// The completion request's body: `{"oid", "parts": [{"partNumber", "etag"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Completion {
    /// The object.
    pub oid: String,
    /// Every part, by number.
    pub parts: Vec<CompletedPart>,
}

/// The parts of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartPlan {
    chunk_size: u64,
    parts: Vec<Part>,
}

impl MultipartPlan {
    /// The plan in an upload action's `header`, or `None` when it has no `chunk_size` (a
    /// `basic` upload). Keys that are not numbers are not parts.
    pub fn from_header(
        oid: &str,
        size: u64,
        header: &BTreeMap<String, String>,
    ) -> Result<Option<MultipartPlan>, Error> {
        let Some(chunk) = header.get(CHUNK_SIZE_KEY) else {
            return Ok(None);
        };
        let invalid = |reason: String| Error::InvalidAction { oid: oid.to_owned(), reason };
        let chunk_size = chunk
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| invalid(format!("chunk_size {chunk:?} is not a positive number")))?;
        let mut numbered = Vec::new();
        for (key, url) in header {
            if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
                let number = key
                    .parse::<u32>()
                    .map_err(|_| invalid(format!("part number {key} is out of range")))?;
                numbered.push((number, url));
            }
        }
        numbered.sort_unstable_by_key(|(number, _)| *number);
        let expected = size.div_ceil(chunk_size);
        if numbered.len() as u64 != expected {
            return Err(invalid(format!(
                "{} part URLs for {size} bytes in chunks of {chunk_size}, expected {expected}",
                numbered.len()
            )));
        }
        let mut parts = Vec::with_capacity(numbered.len());
        for (index, (number, url)) in numbered.into_iter().enumerate() {
            if u64::from(number) != index as u64 + 1 {
                return Err(invalid(format!("part numbers must run from 1 to {expected}")));
            }
            let offset = index as u64 * chunk_size;
            parts.push(Part {
                number,
                url: url.clone(),
                offset,
                len: chunk_size.min(size - offset),
            });
        }
        Ok(Some(MultipartPlan { chunk_size, parts }))
    }

    /// The part size (the last part may be shorter).
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The parts, by number.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parts_are_numbered_as_numbers_not_strings() -> Result<(), Error> {
        let mut pairs: Vec<(String, String)> =
            (1..=12).map(|n| (n.to_string(), format!("https://s3/part{n}"))).collect();
        pairs.push(("chunk_size".into(), "10".into()));
        pairs.push(("X-Extra".into(), "not a part".into()));
        let header: BTreeMap<String, String> = pairs.into_iter().collect();
        // A string sort puts "10" second.
        assert_eq!(header.keys().nth(1).map(String::as_str), Some("10"));
        let plan = MultipartPlan::from_header("oid", 115, &header)?.ok_or(Error::Object {
            oid: "oid".into(),
            code: 0,
            message: "no plan".into(),
        })?;
        let numbers: Vec<u32> = plan.parts().iter().map(|p| p.number).collect();
        assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
        for part in plan.parts() {
            assert_eq!(part.url, format!("https://s3/part{}", part.number));
            assert_eq!(part.offset, u64::from(part.number - 1) * 10);
        }
        assert_eq!(plan.parts()[11].len, 5);
        assert_eq!(plan.parts().iter().map(|p| p.len).sum::<u64>(), 115);
        Ok(())
    }

    #[test]
    fn a_basic_action_has_no_plan() -> Result<(), Error> {
        assert_eq!(MultipartPlan::from_header("oid", 5, &header(&[("X-Amz", "1")]))?, None);
        Ok(())
    }

    #[test]
    fn inconsistent_plans_are_refused() {
        for (size, pairs) in [
            (20, vec![("chunk_size", "10"), ("1", "u1")]),
            (20, vec![("chunk_size", "10"), ("1", "u1"), ("2", "u2"), ("3", "u3")]),
            (20, vec![("chunk_size", "10"), ("1", "u1"), ("3", "u3")]),
            (20, vec![("chunk_size", "0"), ("1", "u1")]),
            (20, vec![("chunk_size", "ten"), ("1", "u1")]),
            (20, vec![("chunk_size", "10"), ("1", "u1"), ("99999999999", "u2")]),
        ] {
            let result = MultipartPlan::from_header("oid", size, &header(&pairs));
            assert!(
                matches!(result, Err(Error::InvalidAction { .. })),
                "{pairs:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn the_completion_body_is_what_the_hub_expects() {
        let body = Completion {
            oid: "abc".into(),
            parts: vec![CompletedPart { part_number: 1, etag: "\"e1\"".into() }],
        };
        assert_eq!(
            serde_json::to_string(&body).ok().as_deref(),
            Some(r#"{"oid":"abc","parts":[{"partNumber":1,"etag":"\"e1\""}]}"#)
        );
    }
}
