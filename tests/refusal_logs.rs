//! What an operator reads when the broker refuses requests: the log line names the
//! client's address, the request, the topic, the group and the response code, at WARN; a
//! refusal storm logs a bounded number of lines; answers that are the protocol's normal
//! course (nothing to pull yet) are not WARN. The log is captured from the process's one
//! tracing subscriber, so this file holds a single test.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::broker::*;
use ferrocket::actors::refusal_log::LINES_PER_WINDOW;
use ferrocket::protocol::code::{request, response};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[actix_rt::test]
async fn refusals_name_client_topic_and_group_and_a_storm_is_rate_limited() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let b = start_broker().await;
    // A read-only topic: sends are refused with NO_PERMISSION.
    b.call(cmd(
        request::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", "LogT"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "1"),
            ("writeQueueNums", "1"),
            ("perm", "4"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ],
    ))
    .await;
    const STORM: usize = 300;
    for i in 0..STORM {
        let mut send = send_v2("LogT", 0, b"x", "T", "k", &format!("u-log-{i}"));
        send.put_ext("a", "LogPG");
        let r = b.call(send).await;
        assert_eq!(r.code, response::NO_PERMISSION);
    }
    // A pull from a group the broker does not know is refused, naming group and topic.
    let r = b.call(pull("LogCG", "LogT", 0, 0, 0, 0, None)).await;
    assert_eq!(r.code, response::SUBSCRIPTION_NOT_EXIST);
    // A pull that carries its subscription and finds nothing is the normal course.
    for _ in 0..5 {
        let r = b
            .call(pull("LogCG", "LogT", 0, 0, FLAG_SUBSCRIPTION, 0, Some("*")))
            .await;
        assert!(
            matches!(
                r.code,
                response::PULL_NOT_FOUND
                    | response::PULL_OFFSET_MOVED
                    | response::PULL_RETRY_IMMEDIATELY
            ),
            "{} {:?}",
            r.code,
            r.remark
        );
    }

    let lines = log.lines();
    let refused: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("request refused") && l.contains("NO_PERMISSION"))
        .collect();
    assert!(
        !refused.is_empty(),
        "no refusal logged:\n{}",
        lines.join("\n")
    );
    let first = refused[0];
    assert!(first.contains("WARN"), "{first}");
    assert!(first.contains("client=127.0.0.1:"), "{first}");
    assert!(first.contains("SEND_MESSAGE_V2"), "{first}");
    assert!(
        first.contains("topic=\"LogT\"") && first.contains("group=\"LogPG\""),
        "{first}"
    );
    assert!(
        first.contains("the topic[LogT] sending message is forbidden"),
        "{first}"
    );
    // 300 refusals within seconds: at most one window's lines, or two if the run straddles
    // a window's end.
    assert!(
        refused.len() <= 2 * LINES_PER_WINDOW as usize,
        "{} lines for {STORM} refusals",
        refused.len()
    );
    let pulls: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("PULL_MESSAGE"))
        .collect();
    assert_eq!(
        pulls.len(),
        1,
        "only the refused pull is logged:\n{}",
        lines.join("\n")
    );
    assert!(
        pulls[0].contains("WARN")
            && pulls[0].contains("group=\"LogCG\"")
            && pulls[0].contains("topic=\"LogT\"")
            && pulls[0].contains("SUBSCRIPTION_NOT_EXIST"),
        "{}",
        pulls[0]
    );
}
