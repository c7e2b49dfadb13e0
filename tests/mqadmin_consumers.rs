//! `mqadmin` sub-commands that reach a consumer through the broker, against a real broker
//! and a fake Java consumer (a remoting client that heartbeats and answers what the broker
//! forwards with the bodies a 4.9.8 Java push consumer writes):
//! `queryMsgById -g -d` (CONSUME_MESSAGE_DIRECTLY) and `consumerProgress -s true` (which
//! client holds each queue, from GET_CONSUMER_RUNNING_INFO). Also `queryMsgById -s true`
//! (resend) and `sendMessage -m true` (message trace).

mod common;

use std::time::Duration;

use common::broker::*;
use common::TIMEOUT;
use ferrocket::actors::broker::plugins::builtin::PluginEntry;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::{ClientConfig, RemotingClient, ServerRequestHandler};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

const CLIENT_ID: &str = "127.0.0.1@fake-java";

/// Answers as a Java push consumer holding queue 1 of `topic`: its ConsumerRunningInfo,
/// and a direct consume whose remark quotes the body it was given.
struct FakeJavaConsumer {
    topic: String,
}

impl ServerRequestHandler for FakeJavaConsumer {
    fn handle(&self, req: RemotingCommand, _: &str) -> BoxFuture<'static, Option<RemotingCommand>> {
        let answer = match req.code {
            request::GET_CONSUMER_RUNNING_INFO => {
                let body = format!(
                    r#"{{"jstack":null,"mqTable":{{{{"brokerName":"broker-a","queueId":1,"topic":"{t}"}}:{{"cachedMsgCount":0,"commitOffset":2,"droped":false,"locked":false}}}},"properties":{{"PROP_CLIENT_VERSION":"V4_9_8","PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"}},"statusTable":{{}},"subscriptionSet":[]}}"#,
                    t = self.topic
                );
                Some(RemotingCommand::success().with_body(body.into_bytes()))
            }
            request::CONSUME_MESSAGE_DIRECTLY => {
                let body = ferrocket::protocol::message::decode_record(&req.body)
                    .map(|m| String::from_utf8_lossy(&m.body).into_owned())
                    .unwrap_or_else(|_| "no message".into());
                let result = format!(
                    r#"{{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"remark":"got {body} from {}","spentTimeMills":2}}"#,
                    req.ext("brokerName").unwrap_or("?")
                );
                Some(RemotingCommand::success().with_body(result.into_bytes()))
            }
            _ => None,
        };
        futures_util::future::ready(answer).boxed()
    }
}

async fn fake_java_consumer(b: &TestBroker, group: &str, topic: &str) -> RemotingClient {
    let client = RemotingClient::new(
        ClientConfig::default(),
        Some(std::sync::Arc::new(FakeJavaConsumer {
            topic: topic.to_owned(),
        })),
    );
    let r = client
        .invoke(
            &b.addr,
            heartbeat(CLIENT_ID, Some(group), None, topic),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    client
}

async fn mqadmin(ns: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mqadmin"))
            .args(args)
            .arg("-n")
            .arg(ns)
            .env_remove("NAMESRV_ADDR")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mqadmin finishes")
    .expect("mqadmin runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn ok(ns: &str, args: &[&str]) -> String {
    let (code, out, err) = mqadmin(ns, args).await;
    assert_eq!(code, 0, "mqadmin {args:?}: {out}{err}");
    out
}

/// Waits until the name server routes `topic` (the broker registers new topics at once).
async fn routed(ns: &str, topic: &str) {
    let found = wait_until(Duration::from_secs(15), || async {
        mqadmin(ns, &["topicRoute", "-t", topic]).await.0 == 0
    })
    .await;
    assert!(found, "{topic} is routed");
}

fn sent_id(r: &RemotingCommand) -> String {
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    r.ext("msgId").unwrap().to_owned()
}

#[actix_rt::test]
async fn direct_consume_and_queue_holders_reach_the_consumer_through_the_broker() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    b.call(create_topic("HoldT", 2)).await;
    let _consumer = fake_java_consumer(&b, "HoldG", "HoldT").await;
    let id = sent_id(
        &b.call(send_v2("HoldT", 1, b"hello", "A", "k1", "u-hold-1"))
            .await,
    );
    b.call(send_v2("HoldT", 0, b"other", "A", "k2", "u-hold-2"))
        .await;
    assert!(b.broker.store.wait_dispatched(TIMEOUT).await);
    for q in 0..2 {
        let r = b
            .call(cmd(
                request::UPDATE_CONSUMER_OFFSET,
                &[
                    ("consumerGroup", "HoldG"),
                    ("topic", "HoldT"),
                    ("queueId", &q.to_string()),
                    ("commitOffset", "0"),
                ],
            ))
            .await;
        assert_eq!(r.code, response::SUCCESS);
    }
    routed(ns, "%RETRY%HoldG").await;

    let direct = ok(
        ns,
        &["queryMsgById", "-i", &id, "-g", "HoldG", "-d", CLIENT_ID],
    )
    .await;
    assert_eq!(
        direct,
        "ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS, remark=got hello from broker-a, spentTimeMills=2]\n"
    );
    // By unique key, as queryMsgByUniqueKey -g -d does it.
    let by_key = ok(
        ns,
        &[
            "queryMsgByUniqueKey",
            "-t",
            "HoldT",
            "-i",
            "u-hold-2",
            "-g",
            "HoldG",
            "-d",
            CLIENT_ID,
        ],
    )
    .await;
    assert_eq!(
        by_key,
        "ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS, remark=got other from broker-a, spentTimeMills=2]\n"
    );
    let (code, _, err) = mqadmin(
        ns,
        &[
            "queryMsgById",
            "-i",
            &id,
            "-g",
            "HoldG",
            "-d",
            "127.0.0.1@nobody",
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("The Consumer <HoldG> <127.0.0.1@nobody> not online"),
        "{err}"
    );

    let progress = ok(ns, &["consumerProgress", "-g", "HoldG", "-s", "true"]).await;
    let mut lines = progress.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  {}",
            "#Topic",
            "#Broker Name",
            "#QID",
            "#Broker Offset",
            "#Consumer Offset",
            "#Client IP",
            "#Diff",
            "#LastTime"
        )
    );
    let rows: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
    let row = |q: i32| {
        rows.iter()
            .find(|r| {
                r.starts_with("HoldT ") && r.split_whitespace().nth(2) == Some(&q.to_string())
            })
            .unwrap_or_else(|| panic!("queue {q} in {progress}"))
            .to_string()
    };
    // Queue 1 is the one the consumer's running info says it holds; nobody reports queue 0.
    assert_eq!(
        row(1).split_whitespace().nth(5),
        Some("127.0.0.1"),
        "{progress}"
    );
    assert_eq!(row(0).split_whitespace().nth(5), Some("N/A"), "{progress}");
    assert_eq!(
        row(1),
        format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  {}",
            "HoldT", "broker-a", 1, 1, 0, "127.0.0.1", 1, "N/A"
        )
    );
    // Without -s true the column is left out, as in RocketMQ.
    let plain = ok(ns, &["consumerProgress", "-g", "HoldG", "-s", "false"]).await;
    assert!(!plain.contains("#Client IP"), "{plain}");
}

#[actix_rt::test]
async fn resend_by_id_and_traced_send() {
    let b = start_broker_with(|c| {
        c.plugins = vec![PluginEntry::with_config("trace", r#"{"flushIntervalMs": 20}"#).unwrap()];
    })
    .await;
    let ns = b.ns.addr.as_str();
    b.call(create_topic("ReT", 1)).await;
    routed(ns, "ReT").await;
    let id = sent_id(
        &b.call(send_v2("ReT", 0, b"again", "A", "rk", "u-re-1"))
            .await,
    );

    let resent = ok(ns, &["queryMsgById", "-i", &id, "-s", "true"]).await;
    let prefix =
        format!("prepare resend msg. originalMsgId={id}SendResult [sendStatus=SEND_OK, msgId=");
    assert!(resent.starts_with(&prefix), "{resent}");
    assert!(
        resent.contains(", messageQueue=MessageQueue [topic=ReT, brokerName=broker-a, queueId=0], queueOffset=1]"),
        "{resent}"
    );
    // The resent copy is stored beside the original: same body and key, new unique key.
    // The index takes the copy when the dispatcher reaches it: wait for it, bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let copies = loop {
        let by_key = b.call(query_by_key("ReT", "rk")).await;
        let copies = records(&by_key.body);
        if copies.len() >= 2 || std::time::Instant::now() > deadline {
            break copies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(copies.len(), 2, "{resent}");
    assert!(copies.iter().all(|m| &m.body[..] == b"again"));
    assert_ne!(
        copies[0].property("UNIQ_KEY"),
        copies[1].property("UNIQ_KEY")
    );

    // sendMessage -m true writes the Pub trace record a Java client with trace on writes.
    routed(ns, "RMQ_SYS_TRACE_TOPIC").await;
    let sent = ok(
        ns,
        &[
            "sendMessage",
            "-t",
            "ReT",
            "-p",
            "traced",
            "-k",
            "tk",
            "-c",
            "TagT",
            "-m",
            "true",
        ],
    )
    .await;
    let msg_id = sent
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_owned();
    // The broker's own trace plug-in writes one Pub record for the send; the client-side
    // trace mqadmin writes is a second.
    let found = wait_until(Duration::from_secs(10), || async {
        let r = b.call(query_by_key("RMQ_SYS_TRACE_TOPIC", &msg_id)).await;
        pub_records_for(&r, &msg_id) >= 2
    })
    .await;
    let r = b.call(query_by_key("RMQ_SYS_TRACE_TOPIC", &msg_id)).await;
    assert!(
        found,
        "two Pub trace records for {msg_id}: {:?}",
        String::from_utf8_lossy(&r.body)
    );
}

fn query_by_key(topic: &str, key: &str) -> RemotingCommand {
    cmd(
        request::QUERY_MESSAGE,
        &[
            ("topic", topic),
            ("key", key),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", &i64::MAX.to_string()),
        ],
    )
}

/// Pub trace records (TraceDataEncoder's layout: fields split by \u0001, records ended by
/// \u0002) whose msgId field is `msg_id`, in the trace messages of `r`.
fn pub_records_for(r: &RemotingCommand, msg_id: &str) -> usize {
    if r.code != response::SUCCESS {
        return 0;
    }
    records(&r.body)
        .iter()
        .flat_map(|m| {
            String::from_utf8_lossy(&m.body)
                .split('\u{2}')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|rec| {
            let f: Vec<&str> = rec.split('\u{1}').collect();
            f.first() == Some(&"Pub") && f.get(5) == Some(&msg_id) && f.get(4) == Some(&"ReT")
        })
        .count()
}
