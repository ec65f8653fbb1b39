//! `hub-lfs` against the TestHub: the batch client, multipart uploads with many parts, failures
//! reported per object, and the agent driven with the messages git-lfs sends.

use std::path::Path;

use hub_api::NoProgress;
use hub_lfs::batch::{Action, BatchRequest, ObjectSpec, Operation};
use hub_lfs::{Agent, AgentError, LfsClient, Source, UploadOptions, object_for_file};
use hub_tests::seed;
use serde_json::{Value, json};

use crate::support::{CHUNK, Setup, TestResult, client, setup};

impl Setup {
    /// The upload actions the batch API gives for `files`, as git-lfs would pass them on.
    async fn actions(
        &self,
        files: &[&Path],
    ) -> Result<Vec<(ObjectSpec, Action)>, Box<dyn std::error::Error>> {
        let mut objects = Vec::new();
        for path in files {
            objects.push(object_for_file(path).await?);
        }
        let answer = self
            .lfs
            .batch(&self.repo, &BatchRequest::new(Operation::Upload, objects.clone()))
            .await?;
        let mut out = Vec::new();
        for (object, found) in objects.into_iter().zip(answer.objects) {
            let upload = found.actions.and_then(|a| a.upload).ok_or("no upload action")?;
            out.push((object, upload));
        }
        Ok(out)
    }

    /// The agent's client: no token, as `hub-cli lfs-multipart-upload` builds it.
    fn agent(&self) -> Result<Agent, Box<dyn std::error::Error>> {
        Ok(Agent::new(LfsClient::new(client(&self.hub, None)?, UploadOptions::default())))
    }
}

fn upload_message(path: &Path, object: &ObjectSpec, action: &Action) -> String {
    json!({"event": "upload", "oid": object.oid, "size": object.size, "path": path, "action": action})
        .to_string()
}

const INIT: &str = r#"{"event":"init","operation":"upload","remote":"origin","concurrent":true,"concurrenttransfers":3}"#;

/// Runs the agent on `lines` and returns its result and every line it wrote, parsed.
async fn serve(
    agent: &Agent,
    lines: &[String],
) -> Result<(Result<hub_lfs::Summary, AgentError>, Vec<Value>), Box<dyn std::error::Error>> {
    let input = lines.join("\n") + "\n";
    let mut output = Vec::new();
    let result = agent.serve(input.as_bytes(), &mut output).await;
    let text = String::from_utf8(output)?;
    let mut messages = Vec::new();
    for line in text.lines() {
        messages.push(serde_json::from_str(line)?);
    }
    Ok((result, messages))
}

/// The messages about `oid`.
fn about<'a>(messages: &'a [Value], oid: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["oid"] == oid).collect()
}

#[tokio::test]
async fn the_agent_uploads_a_thirteen_part_object_and_a_small_one() -> TestResult {
    let s = setup().await?;
    // 12.5 chunks: 13 parts, so a string sort of the part numbers would scramble it.
    let large = s.file("large.bin", 12 * CHUNK + CHUNK / 2)?;
    let small = s.file("small.bin", 1000)?;
    let actions = s.actions(&[&large, &small]).await?;
    let (large_obj, large_action) = &actions[0];
    let (small_obj, small_action) = &actions[1];
    assert_eq!(large_action.header.len(), 14, "chunk_size + 13 part URLs");

    let lines = vec![
        INIT.to_owned(),
        upload_message(&large, large_obj, large_action),
        upload_message(&small, small_obj, small_action),
        r#"{"event":"terminate"}"#.to_owned(),
    ];
    let (result, messages) = serve(&s.agent()?, &lines).await?;
    assert_eq!(result?, hub_lfs::Summary { completed: 2, failed: 0 });
    assert_eq!(messages[0], json!({}));
    for object in [large_obj, small_obj] {
        let mine = about(&messages, &object.oid);
        assert_eq!(mine[0]["event"], "progress", "progress announced at once");
        assert_eq!(mine[0]["bytesSoFar"], 1, "> 0, or git-lfs holds its other workers");
        assert_eq!(mine[0]["bytesSinceLast"], 0);
        let last = mine.len() - 1;
        assert_eq!(*mine[last], json!({"event": "complete", "oid": object.oid}));
        assert_eq!(mine[last - 1]["bytesSoFar"], object.size, "exact byte counts");
        let since: u64 = mine.iter().filter_map(|m| m["bytesSinceLast"].as_u64()).sum();
        assert_eq!(since, object.size);
        assert_eq!(s.hub.lfs_object_size(&object.oid), Some(object.size));
    }
    assert_eq!(about(&messages, &large_obj.oid).len(), 1 + 13 + 1, "one progress per part");
    let stats = s.hub.stats();
    assert_eq!(stats.auth_leaks, 0, "no token on presigned URLs");

    // The Hub now has both: the batch API gives no action, and a download round-trips.
    let answer = s
        .lfs
        .batch(&s.repo, &BatchRequest::new(Operation::Upload, vec![large_obj.clone()]))
        .await?;
    assert!(answer.objects[0].actions.is_none());
    let download = s
        .lfs
        .batch(&s.repo, &BatchRequest::new(Operation::Download, vec![large_obj.clone()]))
        .await?;
    let action = download.objects[0].actions.as_ref().and_then(|a| a.download.clone());
    let dest = s.dir.path().join("back.bin");
    s.lfs.download(large_obj, &action.ok_or("no download action")?, &dest, &NoProgress).await?;
    assert_eq!(std::fs::read(&dest)?, std::fs::read(&large)?);
    Ok(())
}

#[tokio::test]
async fn a_failing_part_fails_its_object_only_and_a_flaky_one_is_retried() -> TestResult {
    let s = setup().await?;
    let first = s.file("first.bin", 5 * CHUNK)?;
    let second = s.file("second.bin", 6 * CHUNK)?;
    let actions = s.actions(&[&first, &second]).await?;
    s.hub.faults().fail_part(3, None, 500);
    let agent = s.agent()?;
    let lines = vec![INIT.to_owned(), upload_message(&first, &actions[0].0, &actions[0].1)];
    let (result, messages) = serve(&agent, &lines).await?;
    assert_eq!(result?, hub_lfs::Summary { completed: 0, failed: 1 });
    let last = messages.last().ok_or("no output")?;
    assert_eq!(last["event"], "complete");
    assert_eq!(last["error"]["code"], 500);
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("part 3 of 5"), "{message}");
    assert!(!message.contains("sig="), "no signed URL in messages: {message}");
    assert_eq!(s.hub.faults().refused_part_puts(3), 3, "the first attempt and 2 retries");
    assert_eq!(s.hub.lfs_object_size(&actions[0].0.oid), None, "not stored");

    // The next object, in the same session, with a part that fails once: retried, stored.
    s.hub.faults().clear();
    s.hub.faults().fail_part(2, Some(1), 503);
    let lines = vec![
        INIT.to_owned(),
        upload_message(&first, &actions[0].0, &actions[0].1),
        upload_message(&second, &actions[1].0, &actions[1].1),
    ];
    let (result, messages) = serve(&agent, &lines).await?;
    assert_eq!(result?, hub_lfs::Summary { completed: 2, failed: 0 }, "{messages:?}");
    assert_eq!(s.hub.faults().refused_part_puts(2), 1);
    assert_eq!(s.hub.lfs_object_size(&actions[1].0.oid), Some(6 * CHUNK));
    Ok(())
}

#[tokio::test]
async fn bad_requests_are_answered_or_refused_clearly() -> TestResult {
    let s = setup().await?;
    let agent = s.agent()?;
    let file = s.file("a.bin", 5 * CHUNK)?;
    let actions = s.actions(&[&file]).await?;
    let (object, action) = &actions[0];

    // A file whose size is not the object's, and an upload without a path: object errors.
    let wrong_size = ObjectSpec { size: object.size + 1, ..object.clone() };
    let no_path =
        json!({"event": "upload", "oid": object.oid, "size": object.size, "action": action});
    let lines = vec![
        INIT.to_owned(),
        upload_message(&file, &wrong_size, action),
        no_path.to_string(),
        r#"{"event":"terminate"}"#.to_owned(),
        "never read".to_owned(),
    ];
    let (result, messages) = serve(&agent, &lines).await?;
    assert_eq!(result?, hub_lfs::Summary { completed: 0, failed: 2 });
    let errors: Vec<&str> =
        messages.iter().filter_map(|m| m["error"]["message"].as_str()).collect();
    assert_eq!(errors.len(), 2, "{messages:?}");
    assert!(errors[0].contains("bytes"), "{}", errors[0]);
    assert!(errors[1].contains("no path"), "{}", errors[1]);

    // A first message that is not init: an init error, then the agent stops.
    let (result, messages) = serve(&agent, &[upload_message(&file, object, action)]).await?;
    assert!(matches!(result, Err(AgentError::NoInit(_))), "{result:?}");
    assert_eq!(
        messages,
        vec![json!({"error": {"code": 32, "message": "Wrong lfs init operation"}})]
    );

    // Malformed lines and unknown events stop the agent with a message that names them.
    let (result, _) = serve(&agent, &[INIT.to_owned(), "{oops".to_owned()]).await?;
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("malformed message") && message.contains("{oops"), "{message}");
    let (result, _) =
        serve(&agent, &[INIT.to_owned(), r#"{"event":"lock","id":"1"}"#.to_owned()]).await?;
    assert!(matches!(result, Err(AgentError::UnexpectedEvent(e)) if e == "lock"));
    assert_eq!(s.hub.lfs_object_size(&object.oid), None);
    Ok(())
}

/// git-lfs is told the status of the answer that failed an object, whichever error of the Hub
/// it was mapped to (here a missing repo, which the Hub answers with a 401), and why.
#[tokio::test]
async fn a_failed_object_is_reported_with_the_status_of_its_answer() -> TestResult {
    let s = setup().await?;
    let agent = s.agent()?;
    let href = format!("{}/acme/no-such-repo/resolve/main/w.bin", s.hub.endpoint());
    let download = json!({
        "event": "download", "oid": "ab".repeat(32), "size": 3, "action": {"href": href},
    });
    let lines = vec![INIT.replace("upload", "download"), download.to_string()];
    let (result, messages) = serve(&agent, &lines).await?;
    assert_eq!(result?, hub_lfs::Summary { completed: 0, failed: 1 });
    let last = messages.last().ok_or("no output")?;
    assert_eq!(last["error"]["code"], 401, "{last}");
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("repository not found"), "{message}");
    Ok(())
}

#[tokio::test]
async fn upload_files_sends_only_what_the_hub_lacks_and_verifies() -> TestResult {
    let s = setup().await?;
    let small = s.file("small.bin", 100)?;
    let large = s.file("large.bin", 4 * CHUNK + 1)?;
    let files = vec![
        (Source::File(small.clone()), object_for_file(&small).await?),
        (Source::File(large.clone()), object_for_file(&large).await?),
    ];
    let sent = s.lfs.upload_files(&s.repo, Some("main"), &files, &NoProgress).await?;
    assert_eq!(sent.len(), 2);
    for (_, object) in &files {
        assert_eq!(s.hub.lfs_object_size(&object.oid), Some(object.size));
    }
    let again = s.lfs.upload_files(&s.repo, Some("main"), &files, &NoProgress).await?;
    assert!(again.is_empty(), "nothing left to send");

    // Without a write token the batch call itself is refused with the Hub's error.
    let reader = LfsClient::new(client(&s.hub, Some(seed::ALICE_READ))?, UploadOptions::default());
    let other = s.file("other.bin", 10)?;
    let files = vec![(Source::File(other.clone()), object_for_file(&other).await?)];
    let err = reader.upload_files(&s.repo, None, &files, &NoProgress).await.err();
    assert!(err.is_some_and(|e| e.to_string().contains("forbidden")));
    Ok(())
}
