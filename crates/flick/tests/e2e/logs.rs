//! `log.format: json`: one JSON object per line, and the request and job spans carry the video's id, so an
//! operator can follow one video through every process's log.

use std::time::Duration;

use crate::common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_follow_a_video_through_its_request_and_its_job() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data = temp.path().join("data");
    let log_path = temp.path().join("flick.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let env = [("FLICK_LOG__FORMAT", "json"), ("RUST_LOG", "info")];
    let mut server = Server::start_logging_to(&["serve"], &data, &env, log);
    let (code, body) = upload(&server, &fixture("h264_aac_faststart.mp4"), "clip.mp4").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let v = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "{v}");
    let _ = status(&server, &id).await;
    // Logs name the storage id (requests by a share link included: the span is given the id once it is known).
    let id = storage_id(&server.data_dir, &id);
    server.kill9();

    let text = std::fs::read_to_string(&log_path).expect("read the log");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() > 5, "too few log lines:\n{text}");
    for line in &lines {
        assert!(line["timestamp"].is_string() && line["level"].is_string(), "{line}");
    }
    // Every span a line was written in, by name.
    let in_span = |name: &str| {
        lines
            .iter()
            .filter(|l| {
                let spans = l["spans"].as_array().into_iter().flatten().chain(l.get("span"));
                spans.into_iter().any(|s| s["name"] == name && s["video_id"].as_str() == Some(id.as_str()))
            })
            .count()
    };
    assert!(in_span("request") > 0, "no request line carries video_id {id}:\n{text}");
    assert!(in_span("job") > 0, "no job line carries video_id {id}:\n{text}");
}
