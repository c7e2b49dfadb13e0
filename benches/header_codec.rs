//! Header encode and decode, JSON and ROCKETMQ, on a SEND_MESSAGE_V2-shaped request (the
//! broker's hottest header) and a small route request; and the message codec: a 1 KiB
//! stored record encoded and decoded, and a 32-record pull body decoded as the client does.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use ferrocket::protocol::code::request;
use ferrocket::protocol::message::MessageToStore;
use ferrocket::protocol::{RemotingCommand, SerializeType};

fn send_v2(serialize_type: SerializeType) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2);
    cmd.serialize_type = serialize_type;
    cmd.opaque = 123_456;
    for (k, v) in [
        ("a", "please_rename_unique_group_name"),
        ("b", "BenchmarkTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "3"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", "TAGS\u{1}TagA\u{2}KEYS\u{1}key-1\u{2}UNIQ_KEY\u{1}7F000001000018B4AAC2520D5E4D0000\u{2}WAIT\u{1}true\u{2}"),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
    ] {
        cmd.put_ext(k, v);
    }
    cmd.body = Bytes::from(vec![b'x'; 1024]);
    cmd
}

fn bench(c: &mut Criterion) {
    for (name, st) in [
        ("json", SerializeType::Json),
        ("rocketmq", SerializeType::RocketMq),
    ] {
        let cmd = send_v2(st);
        let frame = cmd.to_frame();
        let payload = frame.slice(4..);
        c.bench_function(&format!("encode_send_v2_{name}"), |b| {
            b.iter(|| black_box(&cmd).to_frame())
        });
        c.bench_function(&format!("decode_send_v2_{name}"), |b| {
            b.iter(|| RemotingCommand::decode(black_box(payload.clone())).map(|c| c.opaque))
        });
        let mut route = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
        route.serialize_type = st;
        route.put_ext("topic", "TopicTest");
        let payload = route.to_frame().slice(4..);
        c.bench_function(&format!("decode_route_request_{name}"), |b| {
            b.iter(|| RemotingCommand::decode(black_box(payload.clone())).map(|c| c.opaque))
        });
    }
}

fn record() -> MessageToStore {
    MessageToStore {
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:10911".parse().unwrap(),
        ..MessageToStore::new(
            "BenchmarkTest",
            3,
            vec![b'x'; 1024],
            "TAGS\u{1}TagA\u{2}KEYS\u{1}key-1\u{2}UNIQ_KEY\u{1}7F000001000018B4AAC2520D5E4D0000\u{2}WAIT\u{1}true\u{2}",
        )
    }
}

fn message_codec(c: &mut Criterion) {
    let m = record();
    let mut buf = vec![0u8; m.encoded_len()];
    let mut g = c.benchmark_group("message_codec_1KiB");
    g.bench_function("encode_record", |b| {
        b.iter(|| {
            m.encode_into(black_box(&mut buf), 7, 4096, 1_700_000_000_001)
                .unwrap()
        })
    });
    let encoded = Bytes::from(buf.clone());
    g.bench_function("decode_record", |b| {
        b.iter(|| ferrocket::protocol::message::decode_record_shared(black_box(&encoded)).unwrap())
    });
    let pull_body = Bytes::from(encoded.repeat(32));
    g.bench_function("client_decode_32_record_pull_body", |b| {
        b.iter(|| ferrocket::client::message::decode_messages(black_box(&pull_body)).len())
    });
    g.finish();
}

criterion_group!(benches, bench, message_codec);
criterion_main!(benches);
