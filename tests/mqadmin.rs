//! `mqadmin` as a process against a real name server and broker: each sub-command's
//! printed layout (RocketMQ 4.9.8's), `--json`, and the errors and exit codes when the
//! name server, the topic or the broker is missing.

mod common;

use std::time::Duration;

use common::broker::*;
use common::client::{recording_consumer, started_producer, wait_count, Seen};
use common::TIMEOUT;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `mqadmin` with `args` (and `-n ns` when given), bounded by a timeout.
async fn mqadmin(ns: Option<&str>, args: &[&str]) -> Run {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_mqadmin"));
    c.args(args).env_remove("NAMESRV_ADDR").kill_on_drop(true);
    if let Some(ns) = ns {
        c.arg("-n").arg(ns);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), c.output())
        .await
        .expect("mqadmin finishes")
        .expect("mqadmin runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and insists on success.
async fn ok(ns: &str, args: &[&str]) -> String {
    let r = mqadmin(Some(ns), args).await;
    assert_eq!(
        r.code, 0,
        "mqadmin {args:?} failed: {}{}",
        r.stdout, r.stderr
    );
    r.stdout
}

async fn json(ns: &str, args: &[&str]) -> serde_json::Value {
    let mut with = args.to_vec();
    with.push("--json");
    serde_json::from_str(&ok(ns, &with).await).expect("--json prints JSON")
}

async fn registered(ns: &str) {
    let up = wait_until(TIMEOUT, || async {
        mqadmin(Some(ns), &["clusterList"])
            .await
            .stdout
            .contains("broker-a")
    })
    .await;
    assert!(up, "the broker registers with the name server");
}

async fn routed(ns: &str, topic: &str, present: bool) {
    let done = wait_until(Duration::from_secs(10), || async {
        (mqadmin(Some(ns), &["topicRoute", "-t", topic]).await.code == 0) == present
    })
    .await;
    assert!(done, "route of {topic} present={present}");
}

#[actix_rt::test]
async fn topic_sub_commands_print_rocketmqs_layout() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    registered(ns).await;

    let out = ok(
        ns,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            "AdmT",
            "-r",
            "4",
            "-w",
            "4",
        ],
    )
    .await;
    assert!(
        out.contains(&format!("create topic to {} success.\n", b.addr)),
        "{out}"
    );
    assert!(out.contains("TopicConfig [topicName=AdmT, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false]"), "{out}");
    routed(ns, "AdmT", true).await;
    // -u / -s set the unit flags of topicSysFlag, as TopicSysFlag.buildSysFlag does.
    let unit = ok(
        ns,
        &[
            "updateTopic",
            "-b",
            &b.addr,
            "-t",
            "AdmUnitT",
            "-u",
            "true",
            "-s",
            "true",
        ],
    )
    .await;
    assert!(unit.contains("topicSysFlag=3,"), "{unit}");

    let list = ok(ns, &["topicList"]).await;
    assert!(list.lines().any(|l| l == "AdmT"), "{list}");
    let listed = json(ns, &["topicList"]).await;
    assert!(listed["topicList"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "AdmT"));
    let by_cluster = ok(ns, &["topicList", "-c"]).await;
    assert!(
        by_cluster.starts_with("#Cluster Name         #Topic"),
        "{by_cluster}"
    );
    assert!(
        by_cluster
            .lines()
            .any(|l| l.starts_with("DefaultCluster") && l.contains("AdmT")),
        "{by_cluster}"
    );

    let route = ok(ns, &["topicRoute", "-t", "AdmT"]).await;
    assert!(route.contains("\"brokerName\":\"broker-a\""), "{route}");
    assert!(route.contains("\"readQueueNums\":4"), "{route}");
    let route_list = ok(ns, &["topicRoute", "-t", "AdmT", "-l"]).await;
    assert!(route_list.starts_with("#ClusterName"), "{route_list}");
    assert!(
        route_list
            .lines()
            .any(|l| l.starts_with("Total:") && l.contains(" 4 ")),
        "{route_list}"
    );

    let status = ok(ns, &["topicStatus", "-t", "AdmT"]).await;
    let mut lines = status.lines();
    assert_eq!(
        lines.next().unwrap(),
        "#Broker Name                      #QID  #Min Offset           #Max Offset             #Last Updated"
    );
    assert_eq!(
        lines.filter(|l| l.starts_with("broker-a")).count(),
        4,
        "{status}"
    );

    assert_eq!(
        ok(ns, &["topicClusterList", "-t", "AdmT"]).await,
        "DefaultCluster\n"
    );

    let perm = ok(
        ns,
        &["updateTopicPerm", "-b", &b.addr, "-t", "AdmT", "-p", "4"],
    )
    .await;
    assert!(
        perm.contains(&format!(
            "update topic perm from 6 to 4 in {} success.",
            b.addr
        )),
        "{perm}"
    );
    let narrowed = wait_until(Duration::from_secs(10), || async {
        ok(ns, &["topicRoute", "-t", "AdmT"])
            .await
            .contains("\"perm\":4")
    })
    .await;
    assert!(narrowed, "the route shows the new permission");

    let refused = mqadmin(
        Some(ns),
        &["updateTopic", "-b", &b.addr, "-t", "SCHEDULE_TOPIC_XXXX"],
    )
    .await;
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic."),
        "{}",
        refused.stderr
    );

    let del = ok(ns, &["deleteTopic", "-t", "AdmT", "-c", "DefaultCluster"]).await;
    assert_eq!(
        del,
        "delete topic [AdmT] from cluster [DefaultCluster] success.\ndelete topic [AdmT] from NameServer success.\n"
    );
    let gone = mqadmin(Some(ns), &["topicRoute", "-t", "AdmT"]).await;
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr
            .contains("No topic route info in name server for the topic: AdmT"),
        "{}",
        gone.stderr
    );
    let usage = mqadmin(Some(ns), &["updateTopic", "-t", "NoTarget"]).await;
    assert_eq!(
        usage.code, 2,
        "neither -b nor -c is a usage error: {}",
        usage.stderr
    );
}

#[actix_rt::test]
async fn cluster_broker_and_namesrv_sub_commands() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    registered(ns).await;

    let cluster = ok(ns, &["clusterList"]).await;
    let mut lines = cluster.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("#Cluster Name     #Broker Name            #BID  #Addr"),
        "{header}"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("DefaultCluster    broker-a                0     "),
        "{row}"
    );
    assert!(row.contains(&b.addr) && row.contains("V4_9_8"), "{row}");
    let brokers = json(ns, &["clusterList"]).await;
    assert_eq!(brokers["brokers"][0]["addr"], b.addr.as_str());

    let status = ok(ns, &["brokerStatus", "-b", &b.addr]).await;
    let version = format!("{:<32}: V4_9_8", "brokerVersionDesc");
    assert!(status.lines().any(|l| l == version), "{status}");
    assert!(status.contains("putTps") && status.contains("msgPutTotalTodayNow"));
    let by_cluster = ok(ns, &["brokerStatus", "-c", "DefaultCluster"]).await;
    assert!(
        by_cluster.lines().all(|l| l.starts_with(&b.addr)),
        "{by_cluster}"
    );

    let config = ok(ns, &["getBrokerConfig", "-b", &b.addr]).await;
    assert!(
        config.starts_with(&format!("============{}============\n", b.addr)),
        "{config}"
    );
    assert!(
        config.contains(&format!("{:<50}=  broker-a\n", "brokerName")),
        "{config}"
    );
    let updated = ok(
        ns,
        &[
            "updateBrokerConfig",
            "-b",
            &b.addr,
            "-k",
            "waitTimeMillsInSendQueue",
            "-v",
            "321",
        ],
    )
    .await;
    assert_eq!(
        updated,
        format!("update broker config success, {}\n", b.addr)
    );
    let config = ok(ns, &["getBrokerConfig", "-c", "DefaultCluster"]).await;
    assert!(
        config.starts_with(&format!("============Master: {}============\n", b.addr)),
        "{config}"
    );
    assert!(config.contains("=  321\n"), "{config}");
    let refused = mqadmin(
        Some(ns),
        &[
            "updateBrokerConfig",
            "-b",
            &b.addr,
            "-k",
            "brokerConfigPath",
            "-v",
            "/tmp/x",
        ],
    )
    .await;
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("Can not update config in black list."),
        "{}",
        refused.stderr
    );

    let wiped = ok(ns, &["wipeWritePerm", "-b", "broker-a"]).await;
    assert!(
        wiped.starts_with(&format!(
            "wipe write perm of broker[broker-a] in name server[{ns}] OK, "
        )),
        "{wiped}"
    );
    let added = ok(ns, &["addWritePerm", "-b", "broker-a"]).await;
    assert!(
        added.starts_with(&format!(
            "add write perm of broker[broker-a] in name server[{ns}] OK, "
        )),
        "{added}"
    );

    assert_eq!(
        ok(
            ns,
            &[
                "updateKvConfig",
                "-s",
                "ORDER_TOPIC_CONFIG",
                "-k",
                "OrdT",
                "-v",
                "broker-a:4"
            ]
        )
        .await,
        "create or update kv config to namespace success.\n"
    );
    assert_eq!(
        ok(
            ns,
            &["deleteKvConfig", "-s", "ORDER_TOPIC_CONFIG", "-k", "OrdT"]
        )
        .await,
        "delete kv config from namespace success.\n"
    );

    let no_ns = mqadmin(None, &["clusterList"]).await;
    assert_eq!(no_ns.code, 1);
    assert!(
        no_ns.stderr.contains("no name server address"),
        "{}",
        no_ns.stderr
    );
    let dead_ns = mqadmin(Some("127.0.0.1:1"), &["clusterList"]).await;
    assert_eq!(dead_ns.code, 1);
    assert!(
        dead_ns.stderr.contains("connect to 127.0.0.1:1 failed"),
        "{}",
        dead_ns.stderr
    );
    let dead_broker = mqadmin(Some(ns), &["brokerStatus", "-b", "127.0.0.1:1"]).await;
    assert_eq!(dead_broker.code, 1);
    assert!(
        dead_broker.stderr.contains("connect to 127.0.0.1:1 failed"),
        "{}",
        dead_broker.stderr
    );
    let as_json = mqadmin(Some("127.0.0.1:1"), &["topicList", "--json"]).await;
    assert_eq!(as_json.code, 1);
    let err: serde_json::Value = serde_json::from_str(&as_json.stdout).unwrap();
    assert!(err["error"].as_str().unwrap().contains("127.0.0.1:1"));
}

#[actix_rt::test]
async fn message_sub_commands_find_what_sendmessage_sent() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    registered(ns).await;
    b.call(create_topic("MsgT", 2)).await;
    routed(ns, "MsgT", true).await;

    let sent = ok(
        ns,
        &[
            "sendMessage",
            "-t",
            "MsgT",
            "-p",
            "hello ferrocket",
            "-k",
            "order-42",
            "-c",
            "TagA",
        ],
    )
    .await;
    let mut lines = sent.lines();
    assert_eq!(
        lines.next().unwrap(),
        "#Broker Name                      #QID  #Send Result            #MsgId"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("broker-a") && row.contains("SEND_OK"),
        "{row}"
    );
    let msg_id = row.split_whitespace().last().unwrap().to_owned();
    let sent = json(
        ns,
        &[
            "sendMessage",
            "-t",
            "MsgT",
            "-p",
            "second",
            "-b",
            "broker-a",
            "-i",
            "1",
        ],
    )
    .await;
    assert_eq!(sent["queueId"], 1);
    let offset_id = sent["offsetMsgId"].as_str().unwrap().to_owned();
    assert!(b.broker.store.wait_dispatched(TIMEOUT).await);

    let by_key = ok(ns, &["queryMsgByKey", "-t", "MsgT", "-k", "order-42"]).await;
    assert!(by_key.starts_with("#Message ID"), "{by_key}");
    assert!(
        by_key.lines().nth(1).unwrap().starts_with(&msg_id),
        "{by_key}"
    );

    let unique = ok(ns, &["queryMsgByUniqueKey", "-i", &msg_id, "-t", "MsgT"]).await;
    assert!(
        unique.contains(&format!("{:<20} MsgT\n", "Topic:")),
        "{unique}"
    );
    assert!(
        unique.contains(&format!("{:<20} [TagA]\n", "Tags:")),
        "{unique}"
    );
    assert!(
        unique.contains(&format!("{:<20} [order-42]\n", "Keys:")),
        "{unique}"
    );

    let by_id = ok(ns, &["queryMsgById", "-i", &offset_id]).await;
    assert!(
        by_id.starts_with(&format!("{:<20} {offset_id}\n", "OffsetID:")),
        "{by_id}"
    );
    assert!(
        by_id.contains(&format!("{:<20} 1\n", "Queue ID:")),
        "{by_id}"
    );
    let path = by_id
        .lines()
        .find_map(|l| l.strip_prefix("Message Body Path:"))
        .unwrap()
        .trim();
    assert_eq!(std::fs::read_to_string(path).unwrap(), "second");

    let by_offset = ok(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            "MsgT",
            "-b",
            "broker-a",
            "-i",
            "1",
            "-o",
            "0",
        ],
    )
    .await;
    assert!(
        by_offset.contains(&format!("{:<20} {offset_id}\n", "OffsetID:")),
        "{by_offset}"
    );
    let missing = mqadmin(
        Some(ns),
        &[
            "queryMsgByOffset",
            "-t",
            "MsgT",
            "-b",
            "broker-a",
            "-i",
            "1",
            "-o",
            "99",
        ],
    )
    .await;
    assert_eq!(missing.code, 1);

    let printed = ok(ns, &["printMsg", "-t", "MsgT"]).await;
    assert!(printed.contains("BODY: hello ferrocket"), "{printed}");
    assert!(printed.contains("BODY: second"), "{printed}");
    assert!(
        printed.contains(
            "minOffset=0, maxOffset=1, MessageQueue [topic=MsgT, brokerName=broker-a, queueId=1]"
        ),
        "{printed}"
    );
    assert!(printed.ends_with("--------------------------------------------------------\n"));
    let quiet = ok(ns, &["printMsg", "-t", "MsgT", "-d", "false"]).await;
    assert!(quiet.contains("BODY: NOT PRINT BODY") && !quiet.contains("BODY: second"));

    let unknown = mqadmin(Some(ns), &["queryMsgByKey", "-t", "NoSuchTopic", "-k", "x"]).await;
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("No topic route info"),
        "{}",
        unknown.stderr
    );
}

#[actix_rt::test]
async fn consumer_sub_commands_follow_a_live_group_and_reset_it() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    registered(ns).await;
    b.call(create_topic("GrpT", 1)).await;
    routed(ns, "GrpT", true).await;
    let producer = started_producer(ns);
    for i in 0..5 {
        producer
            .send(&ferrocket::client::Message::new("GrpT", format!("m{i}")))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let consumer = recording_consumer(ns, "GrpG", "GrpT", seen.clone(), true, 16, dir.path());
    consumer.start().await.unwrap();
    assert!(
        wait_count(&seen, 5, Duration::from_secs(20)).await,
        "the group consumes"
    );
    routed(ns, "%RETRY%GrpG", true).await;
    let caught_up = wait_until(Duration::from_secs(10), || async {
        ok(ns, &["consumerProgress", "-g", "GrpG"])
            .await
            .contains("Diff Total: 0\n")
    })
    .await;
    assert!(caught_up, "the committed offsets reach the end");

    let progress = ok(ns, &["consumerProgress", "-g", "GrpG"]).await;
    let mut lines = progress.lines();
    assert!(lines.next().unwrap().starts_with(
        "#Topic                                                            #Broker Name"
    ));
    let row = lines
        .find(|l| l.starts_with("GrpT "))
        .expect("a row for the topic");
    assert!(row.contains("broker-a"), "{row}");
    assert_eq!(
        row.split_whitespace().nth(3),
        Some("5"),
        "broker offset: {row}"
    );
    assert!(progress.contains("Consume TPS: "), "{progress}");
    // -s true: the Rust consumer answers GET_CONSUMER_RUNNING_INFO, so its queue shows its IP.
    let holders = ok(ns, &["consumerProgress", "-g", "GrpG", "-s", "true"]).await;
    let row = holders
        .lines()
        .find(|l| l.starts_with("GrpT "))
        .expect("a row for the topic");
    assert_eq!(
        row.split_whitespace().nth(5),
        Some("127.0.0.1"),
        "{holders}"
    );
    let all = ok(ns, &["consumerProgress"]).await;
    let group_row = all
        .lines()
        .find(|l| l.starts_with("GrpG "))
        .expect("the group is listed");
    assert!(
        group_row.contains("PUSH") && group_row.contains("CLUSTERING"),
        "{group_row}"
    );

    let conn = ok(ns, &["consumerConnection", "-g", "GrpG"]).await;
    assert!(conn.starts_with("#ClientId"), "{conn}");
    assert!(
        conn.contains("\nBelow is subscription:\n#Topic               #SubExpression\n"),
        "{conn}"
    );
    assert!(conn.contains("\nGrpT                 *\n"), "{conn}");
    assert!(
        conn.contains("ConsumeType: CONSUME_PASSIVELY\nMessageModel: CLUSTERING\n"),
        "{conn}"
    );

    let heartbeat = wait_until(Duration::from_secs(10), || async {
        mqadmin(Some(ns), &["producerConnection", "-g", "PG", "-t", "GrpT"])
            .await
            .code
            == 0
    })
    .await;
    assert!(heartbeat, "the producer's heartbeat registers it");
    let pc = ok(ns, &["producerConnection", "-g", "PG", "-t", "GrpT"]).await;
    assert!(pc.starts_with("0001  ") && pc.contains("RUST"), "{pc}");

    let stats = ok(ns, &["statsAll", "-t", "GrpT"]).await;
    let row = stats
        .lines()
        .find(|l| l.starts_with("GrpT "))
        .expect("a row for the topic");
    assert!(row.contains("GrpG"), "{row}");
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[2], "0", "accumulation: {row}");
    assert_eq!(fields[5], "5", "in 24 h: {row}");

    // Live consumer: the broker resets and tells it.
    let reset = ok(
        ns,
        &["resetOffsetByTime", "-g", "GrpG", "-t", "GrpT", "-s", "0"],
    )
    .await;
    assert!(reset.starts_with("rollback consumer offset by specified group[GrpG], topic[GrpT], force[true], timestamp(string)[0], timestamp(long)[0]\n"), "{reset}");
    assert!(
        reset
            .lines()
            .any(|l| l.starts_with("broker-a") && l.split_whitespace().nth(2) == Some("0")),
        "{reset}"
    );

    consumer.shutdown().await;
    let offline = wait_until(Duration::from_secs(10), || async {
        mqadmin(Some(ns), &["consumerConnection", "-g", "GrpG"])
            .await
            .code
            != 0
    })
    .await;
    assert!(offline, "the group goes offline");
    // Offline: the tool rewrites the committed offsets itself.
    let skipped = ok(ns, &["skipAccumulatedMessage", "-g", "GrpG", "-t", "GrpT"]).await;
    assert!(
        skipped.starts_with("#brokerName           #queueId"),
        "{skipped}"
    );
    assert!(skipped.contains("#rollbackOffset"), "{skipped}");
    let progress = ok(ns, &["consumerProgress", "-g", "GrpG"]).await;
    assert!(progress.contains("Diff Total: 0\n"), "{progress}");

    let sub = ok(
        ns,
        &[
            "updateSubGroup",
            "-c",
            "DefaultCluster",
            "-g",
            "SubG",
            "-r",
            "3",
        ],
    )
    .await;
    assert!(
        sub.contains(&format!(
            "create subscription group to {} success.\n",
            b.addr
        )),
        "{sub}"
    );
    assert!(sub.contains("SubscriptionGroupConfig [groupName=SubG, consumeEnable=true, consumeFromMinEnable=true, consumeBroadcastEnable=false, retryQueueNums=1, retryMaxTimes=3,"), "{sub}");
    assert_eq!(
        b.broker.context.groups.get("SubG").unwrap().retry_max_times,
        3
    );
    let del = ok(ns, &["deleteSubGroup", "-b", &b.addr, "-g", "SubG"]).await;
    assert_eq!(
        del,
        format!(
            "delete subscription group [SubG] from broker [{}] success.\n",
            b.addr
        )
    );
    assert!(b.broker.context.groups.get("SubG").is_none());
    producer.shutdown().await;
}

#[actix_rt::test]
async fn namesrv_config_is_read_and_changed_and_its_black_list_refused() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    registered(ns).await;

    let config = ok(ns, &["getNamesrvConfig"]).await;
    let mut lines = config.lines();
    assert_eq!(
        lines.next(),
        Some(format!("============{ns}============").as_str())
    );
    let shown: Vec<&str> = lines.collect();
    assert!(
        shown.contains(&format!("{:<50}=  false", "orderMessageEnable").as_str()),
        "{config}"
    );
    assert!(
        shown.contains(&format!("{:<50}=  true", "enableAllTopicList").as_str()),
        "{config}"
    );
    let kv_path = shown
        .iter()
        .find(|l| l.starts_with("kvConfigPath "))
        .expect("kvConfigPath is listed")
        .to_string();

    // A live switch changes at once: the topic list is refused while it is off.
    assert_eq!(
        ok(
            ns,
            &[
                "updateNamesrvConfig",
                "-k",
                "enableAllTopicList",
                "-v",
                "false"
            ]
        )
        .await,
        format!("update name server config success![{ns}]\nenableAllTopicList : false\n")
    );
    let disabled = mqadmin(Some(ns), &["topicList"]).await;
    assert_eq!(disabled.code, 1, "{}", disabled.stdout);
    assert!(disabled.stderr.contains("disable"), "{}", disabled.stderr);
    let after = json(ns, &["getNamesrvConfig"]).await;
    assert_eq!(after[ns]["enableAllTopicList"], "false");
    ok(
        ns,
        &[
            "updateNamesrvConfig",
            "-k",
            "enableAllTopicList",
            "-v",
            "true",
        ],
    )
    .await;
    assert!(ok(ns, &["topicList"]).await.lines().any(|l| l == "TBW102"));

    // The CVE-2023-33246 lesson: no remote write may choose a file the server writes.
    for key in [
        "kvConfigPath",
        "configStorePath",
        "configBlackList",
        "rocketmqHome",
    ] {
        let refused = mqadmin(
            Some(ns),
            &["updateNamesrvConfig", "-k", key, "-v", "/tmp/evil"],
        )
        .await;
        assert_eq!(refused.code, 1, "{key}: {}", refused.stdout);
        assert!(
            refused.stderr.contains("NO_PERMISSION")
                && refused
                    .stderr
                    .contains("Can not update config in black list."),
            "{key}: {}",
            refused.stderr
        );
    }
    let unchanged = ok(ns, &["getNamesrvConfig"]).await;
    assert!(unchanged.lines().any(|l| l == kv_path), "{unchanged}");
    assert!(!unchanged.contains("/tmp/evil"), "{unchanged}");
}

#[actix_rt::test]
async fn cluster_list_more_stats_and_interval() {
    let b = start_broker().await;
    let ns = b.ns.addr.as_str();
    registered(ns).await;
    b.call(create_topic("MoreT", 1)).await;
    for i in 0..3 {
        let r = b
            .call(send_v2(
                "MoreT",
                0,
                b"x",
                "T",
                &format!("k{i}"),
                &format!("u-more-{i}"),
            ))
            .await;
        assert_eq!(r.code, ferrocket::protocol::code::response::SUCCESS);
    }

    let more = ok(ns, &["clusterList", "-m"]).await;
    let mut lines = more.lines();
    assert_eq!(
        lines.next(),
        Some("#Cluster Name     #Broker Name                       #InTotalYest  #OutTotalYest  #InTotalToday #OutTotalToday")
    );
    let row = lines.next().unwrap();
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[..2], ["DefaultCluster", "broker-a"], "{row}");
    // Today's puts count the three sends (and nothing else was sent).
    assert_eq!(fields[4], "3", "{more}");
    assert_eq!(
        row,
        format!(
            "{:<16}  {:<32} {:>14} {:>14} {:>14} {:>14}",
            "DefaultCluster", "broker-a", fields[2], fields[3], 3, fields[5]
        )
    );

    // -i repeats the table every interval; --count bounds it for scripts.
    let repeated = ok(ns, &["clusterList", "-i", "1", "--count", "2"]).await;
    assert_eq!(
        repeated
            .lines()
            .filter(|l| l.starts_with("#Cluster Name"))
            .count(),
        2,
        "{repeated}"
    );
    assert_eq!(
        repeated.lines().filter(|l| l.contains(&b.addr)).count(),
        2,
        "{repeated}"
    );
    let usage = mqadmin(Some(ns), &["clusterList", "--count", "2"]).await;
    assert_eq!(usage.code, 2, "--count needs -i: {}", usage.stderr);
}
