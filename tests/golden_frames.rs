//! Golden frames: REGISTER_BROKER requests, GET_ROUTEINFO_BY_TOPIC responses and HEART_BEAT
//! requests in both header encodings, byte for byte as the wire reference lays them out
//! (§1.1 frame, §1.2 JSON header, §1.3 ROCKETMQ header, §3.3 route body, §3.6 heartbeat
//! body). The route responses are read raw off a real name server's socket.

mod common;

use common::*;
use ferrocket::protocol::code::request;
use ferrocket::protocol::header::namesrv::RegisterBrokerRequestHeader;
use ferrocket::protocol::{LanguageCode, RemotingCommand, SerializeType};
use ferrocket::remoting_client::RemotingClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// §1.1: length (4 + header + body), header word (type << 24 | header length), header, body.
fn frame(serialize_type: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    v.extend_from_slice(&(((serialize_type as u32) << 24) | header.len() as u32).to_be_bytes());
    v.extend_from_slice(header);
    v.extend_from_slice(body);
    v
}

/// §1.3: the 21 fixed bytes, the remark, then the ext-field map.
fn binary_header(
    code: i16,
    language: u8,
    version: i16,
    opaque: i32,
    flag: i32,
    ext: &[(&str, &str)],
) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&code.to_be_bytes());
    h.push(language);
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&opaque.to_be_bytes());
    h.extend_from_slice(&flag.to_be_bytes());
    h.extend_from_slice(&0i32.to_be_bytes());
    let mut map = Vec::new();
    for (k, v) in ext {
        map.extend_from_slice(&(k.len() as i16).to_be_bytes());
        map.extend_from_slice(k.as_bytes());
        map.extend_from_slice(&(v.len() as i32).to_be_bytes());
        map.extend_from_slice(v.as_bytes());
    }
    h.extend_from_slice(&(map.len() as i32).to_be_bytes());
    h.extend_from_slice(&map);
    h
}

const HEARTBEAT_BODY: &str = r#"{"clientID":"192.168.0.20@12345#1234567890123","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"TopicTest"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

fn heartbeat(serialize_type: SerializeType) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::HEART_BEAT);
    cmd.language = LanguageCode::JAVA;
    cmd.version = 479;
    cmd.opaque = 3;
    cmd.serialize_type = serialize_type;
    cmd.ext_fields = Some(Default::default()); // Java sends "extFields":{}
    cmd.body = HEARTBEAT_BODY.as_bytes().to_vec().into();
    cmd
}

#[test]
fn heart_beat_json_frame_is_byte_exact_both_ways() {
    let header = br#"{"code":34,"extFields":{},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let expected = frame(0, header, HEARTBEAT_BODY.as_bytes());
    let cmd = heartbeat(SerializeType::Json);
    assert_eq!(cmd.to_frame().as_ref(), expected.as_slice());
    assert_eq!(
        RemotingCommand::decode(expected[4..].to_vec().into()).unwrap(),
        cmd
    );
}

#[test]
fn heart_beat_rocketmq_frame_is_byte_exact_both_ways() {
    let expected = frame(
        1,
        &binary_header(34, 0, 479, 3, 0, &[]),
        HEARTBEAT_BODY.as_bytes(),
    );
    let cmd = heartbeat(SerializeType::RocketMq);
    assert_eq!(cmd.to_frame().as_ref(), expected.as_slice());
    let back = RemotingCommand::decode(expected[4..].to_vec().into()).unwrap();
    assert_eq!(
        (back.code, back.opaque, back.version, back.language),
        (34, 3, 479, LanguageCode::JAVA)
    );
    assert_eq!(back.body.as_ref(), HEARTBEAT_BODY.as_bytes());
}

const REGISTER_EXT: [(&str, &str); 9] = [
    ("bodyCrc32", "0"),
    ("brokerAddr", "192.168.0.10:10911"),
    ("brokerId", "0"),
    ("brokerName", "broker-a"),
    ("clusterName", "DefaultCluster"),
    ("compressed", "false"),
    ("enableActingMaster", "false"),
    ("haServerAddr", "192.168.0.10:10912"),
    ("heartbeatTimeoutMillis", "120000"),
];

fn register(serialize_type: SerializeType, body: &[u8]) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "192.168.0.10:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "192.168.0.10:10912".into(),
        broker_id: 0,
        heartbeat_timeout_millis: Some(120_000),
        enable_acting_master: Some(false),
        compressed: Some(false),
        body_crc32: Some(0),
    };
    let mut cmd =
        RemotingCommand::request_with(request::REGISTER_BROKER, &header).with_body(body.to_vec());
    cmd.language = LanguageCode::JAVA;
    cmd.version = 479;
    cmd.opaque = 11;
    cmd.serialize_type = serialize_type;
    cmd
}

#[test]
fn register_broker_json_frame_is_byte_exact_both_ways() {
    let body = register_body(3, &[("TopicTest", 4)]).encode();
    let ext: Vec<String> = REGISTER_EXT
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    let header = format!(
        "{{\"code\":103,\"extFields\":{{{}}},\"flag\":0,\"language\":\"JAVA\",\"opaque\":11,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":479}}",
        ext.join(",")
    );
    let expected = frame(0, header.as_bytes(), &body);
    let cmd = register(SerializeType::Json, &body);
    assert_eq!(cmd.to_frame().as_ref(), expected.as_slice());
    // Java writes extFields in HashMap order, not sorted: any order decodes the same.
    let mut shuffled: Vec<String> = ext.clone();
    shuffled.reverse();
    let java_order = header.replace(&ext.join(","), &shuffled.join(","));
    let decoded =
        RemotingCommand::decode(frame(0, java_order.as_bytes(), &body)[4..].to_vec().into())
            .unwrap();
    assert_eq!(decoded, cmd);
    let h: RegisterBrokerRequestHeader = decoded.decode_header().unwrap();
    assert_eq!(
        (h.broker_id, h.heartbeat_timeout_millis),
        (0, Some(120_000))
    );
}

#[test]
fn register_broker_rocketmq_frame_is_byte_exact_both_ways() {
    let body = register_body(3, &[("TopicTest", 4)]).encode();
    let expected = frame(1, &binary_header(103, 0, 479, 11, 0, &REGISTER_EXT), &body);
    let cmd = register(SerializeType::RocketMq, &body);
    assert_eq!(cmd.to_frame().as_ref(), expected.as_slice());
    assert_eq!(
        RemotingCommand::decode(expected[4..].to_vec().into()).unwrap(),
        cmd
    );
}

/// §3.3's standard example: a master and a slave of broker-a serving TopicTest.
const ROUTE_STANDARD: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.10:10911","1":"192.168.0.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

async fn raw_exchange(addr: &str, request: &[u8]) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut len = [0u8; 4];
    tokio::time::timeout(TIMEOUT, s.read_exact(&mut len))
        .await
        .unwrap()
        .unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    tokio::time::timeout(TIMEOUT, s.read_exact(&mut rest))
        .await
        .unwrap()
        .unwrap();
    [len.to_vec(), rest].concat()
}

/// The name server and the broker's connection, which must stay open: closing it removes
/// the broker.
async fn namesrv_with_broker_a() -> (TestNamesrv, RemotingClient) {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    call(
        &c,
        &ns.addr,
        register_request(
            "broker-a",
            "192.168.0.10:10911",
            0,
            &[("TopicTest", 4), ("TBW102", 8)],
        ),
    )
    .await;
    call(
        &c,
        &ns.addr,
        register_request(
            "broker-a",
            "192.168.0.11:10911",
            1,
            &[("TopicTest", 4), ("TBW102", 8)],
        ),
    )
    .await;
    (ns, c)
}

#[actix_rt::test]
async fn route_response_json_frames_are_byte_exact_for_new_and_old_clients() {
    let (ns, _broker) = namesrv_with_broker_a().await;
    let request = |version: i32| {
        let h = format!(
            r#"{{"code":105,"extFields":{{"topic":"TopicTest"}},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":{version}}}"#
        );
        frame(0, h.as_bytes(), b"")
    };
    let header = br#"{"code":0,"flag":1,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":409}"#;

    let got = raw_exchange(&ns.addr, &request(479)).await;
    assert_eq!(got, frame(0, header, ROUTE_STANDARD.as_bytes()));

    let legacy = ROUTE_STANDARD
        .replace(r#"{"0":"#, "{0:")
        .replace(r#","1":"#, ",1:");
    let got = raw_exchange(&ns.addr, &request(121)).await;
    assert_eq!(got, frame(0, header, legacy.as_bytes()));
}

#[actix_rt::test]
async fn route_response_rocketmq_frame_is_byte_exact() {
    let (ns, _broker) = namesrv_with_broker_a().await;
    let request = frame(
        1,
        &binary_header(105, 0, 479, 7, 0, &[("topic", "TopicTest")]),
        b"",
    );
    let got = raw_exchange(&ns.addr, &request).await;
    assert_eq!(
        got,
        frame(
            1,
            &binary_header(0, 0, 409, 7, 1, &[]),
            ROUTE_STANDARD.as_bytes()
        )
    );
}
