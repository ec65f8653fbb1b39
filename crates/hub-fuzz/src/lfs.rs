//! `lfs`: LFS pointer files, the git-lfs custom transfer agent's messages (one JSON object a
//! line) and the LFS batch API's answer with the multipart plans in its upload actions.

use hub_lfs::batch::{self, BatchRequest};
use hub_lfs::protocol::{self, ProtocolError, Request};
use hub_lfs::{MAX_POINTER_SIZE, MultipartPlan, Pointer};

use crate::is_lower_hex;

/// The `lfs` target.
pub fn lfs(data: &[u8]) {
    pointer(data);
    for line in data.split(|&b| b == b'\n') {
        agent_message(line);
    }
    agent_message(data);
    batch_response(data);
    batch_request(data);
}

fn pointer(data: &[u8]) {
    let parsed = Pointer::parse(data);
    assert_eq!(Pointer::detect(data), parsed.clone().ok());
    let Ok(pointer) = parsed else { return };
    assert!(data.len() < MAX_POINTER_SIZE);
    assert!(is_lower_hex(pointer.oid(), &[64]), "{:?}", pointer.oid());
    let text = pointer.to_string();
    assert_eq!(Pointer::parse(text.as_bytes()).as_ref(), Ok(&pointer), "{text:?}");
    assert_eq!(Pointer::new(pointer.oid(), pointer.size()).as_ref(), Ok(&pointer));
}

fn agent_message(line: &[u8]) {
    match protocol::parse_request(line) {
        Ok(Request::Upload(t) | Request::Download(t)) => {
            let again =
                serde_json::to_value(&t).map(serde_json::from_value::<hub_lfs::protocol::Transfer>);
            assert!(matches!(again, Ok(Ok(ref u)) if *u == t), "{t:?} does not round-trip");
        }
        Ok(Request::Unknown { event }) => {
            assert!(!matches!(event.as_str(), "init" | "upload" | "download" | "terminate"));
        }
        Ok(_) => (),
        Err(ProtocolError::Malformed { line: shown, .. }) => {
            // The line is shown to the person pushing, cut to 200 bytes.
            assert!(shown.len() <= 200 + '…'.len_utf8(), "{} bytes shown", shown.len());
        }
        Err(_) => (),
    }
}

fn batch_response(data: &[u8]) {
    let Ok(response) = batch::parse_response(data) else { return };
    let again = serde_json::to_vec(&response).map(|json| batch::parse_response(&json));
    assert!(matches!(again, Ok(Ok(ref r)) if *r == response), "{response:?} does not round-trip");
    for object in &response.objects {
        let Some(upload) = object.actions.as_ref().and_then(|a| a.upload.as_ref()) else {
            continue;
        };
        if let Ok(Some(plan)) = MultipartPlan::from_header(&object.oid, object.size, &upload.header)
        {
            multipart(&plan, object.size);
        }
    }
}

/// The parts of a plan cover the object exactly, in order, each at most one chunk.
fn multipart(plan: &MultipartPlan, size: u64) {
    let mut offset = 0;
    for (i, part) in plan.parts().iter().enumerate() {
        assert_eq!(u64::from(part.number), i as u64 + 1);
        assert_eq!(part.offset, offset);
        assert!(part.len > 0 && part.len <= plan.chunk_size(), "{part:?}");
        offset += part.len;
    }
    assert_eq!(offset, size, "the parts do not cover the object");
}

fn batch_request(data: &[u8]) {
    let Ok(request) = serde_json::from_slice::<BatchRequest>(data) else { return };
    let again = serde_json::from_slice::<BatchRequest>(&batch::encode_request(&request));
    assert_eq!(again.ok().as_ref(), Some(&request));
}
