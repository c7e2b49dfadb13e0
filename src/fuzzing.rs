//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that replays their
//! saved corpus on stable Rust (`tests/fuzz_corpus.rs`). Each takes arbitrary bytes, must
//! never panic, and checks the properties its decoder promises.

use bytes::Bytes;

use crate::protocol::body::{kv, register, route};
use crate::protocol::{RemotingCommand, SerializeType};

/// Frames and headers: decode every frame; whatever decodes must survive a re-encode in
/// its own header encoding unchanged.
pub fn frame_header(data: &[u8]) {
    // The fast JSON header reader agrees with serde on everything it accepts.
    if let Some(fast) = crate::protocol::json_header::decode(data) {
        match crate::protocol::command::decode_json_header_general(data) {
            Ok(general) => assert_eq!(fast, general, "fast and general JSON readers differ"),
            Err(e) => panic!("the fast JSON reader accepted what serde refuses: {e}"),
        }
    }
    for cmd in crate::protocol::frame::decode_all(data, 1 << 20)
        .into_iter()
        .flatten()
    {
        let fits_binary = i16::try_from(cmd.code).is_ok() && i16::try_from(cmd.version).is_ok();
        if cmd.serialize_type == SerializeType::RocketMq && !fits_binary {
            continue;
        }
        let frame = cmd.to_frame();
        let back = RemotingCommand::decode(Bytes::copy_from_slice(&frame[4..]));
        match back {
            Ok(back) => assert_eq!(back, cmd, "re-encoded command differs"),
            Err(e) => panic!("a decoded command failed to decode after re-encoding: {e}"),
        }
    }
}

/// The name server's JSON and compressed bodies: no input may panic, and what decodes
/// must encode again.
pub fn namesrv_bodies(data: &[u8]) {
    if let Ok(r) = route::TopicRouteData::decode(data) {
        let _ = route::TopicRouteData::decode(&r.encode(false));
        let _ = r.encode(true);
    }
    if let Ok(c) = route::ClusterInfo::decode(data) {
        let _ = c.encode();
    }
    for compressed in [false, true] {
        for version in [0, 121, 409, 479] {
            if let Ok(b) = register::RegisterBrokerBody::decode(data, compressed, version) {
                let _ = b.encode();
            }
        }
    }
    let _ = crate::protocol::body::fastjson::from_json::<kv::KvTable>(data);
    let _ = crate::protocol::body::fastjson::from_json::<register::DataVersion>(data);
}

/// Stored-message records and batch bodies (the store's decoders): whatever the record
/// checker accepts must decode, with the same size.
pub fn stored_record(data: &[u8]) {
    use crate::protocol::message::{check_record, decode_batch, decode_record, RecordCheck};
    for crc in [false, true] {
        if let RecordCheck::Record(info) = check_record(data, crc) {
            match decode_record(data) {
                Ok(m) => assert_eq!(
                    m.total_size, info.total_size,
                    "checker and decoder disagree on size"
                ),
                Err(e) => panic!("a record the checker accepts fails to decode: {e}"),
            }
        }
    }
    // A stored record as the ScheduleService re-stores it, and its properties as a put with
    // DELAY rewrites them (the producer's property string is client input); the same record
    // as a half message: rewritten, committed, checked back, and its body read as an op.
    if let Ok(m) = decode_record(data) {
        use crate::actors::broker::features::transaction::check_request;
        use crate::store::schedule::{from_schedule_topic, to_schedule_topic};
        use crate::store::transaction;
        let _ = from_schedule_topic(&m);
        let msg = crate::protocol::message::MessageToStore::from_stored(&m);
        for levels in [0, 1, 18] {
            let mut copy = msg.clone();
            if to_schedule_topic(&mut copy, levels) {
                assert!(copy.queue_id >= 0 && copy.queue_id < levels as i32);
            }
        }
        let mut half = msg.clone();
        transaction::to_half_topic(&mut half);
        assert_eq!(half.queue_id, 0);
        let _ = transaction::committed_message(&m);
        let _ = check_request(&m, "broker-a");
        let _ = transaction::op_offsets(&m.body);
        // The timer rewrite on the same client input, and a due record's delivery.
        use crate::store::timer::{from_timer_topic, to_timer_topic, TimerRules, TIMER_TOPIC};
        for rules in [
            TimerRules {
                enabled: true,
                max_delay_ms: 259_200_000,
                precision_ms: 1000,
            },
            TimerRules {
                enabled: true,
                max_delay_ms: i64::MAX,
                precision_ms: 7,
            },
        ] {
            let mut copy = msg.clone();
            if let Ok(true) = to_timer_topic(&mut copy, &rules, m.born_timestamp) {
                assert_eq!((copy.topic.as_str(), copy.queue_id), (TIMER_TOPIC, 0));
                let out: i64 = crate::protocol::message::property(&copy.properties, "TIMER_OUT_MS")
                    .and_then(|t| t.parse().ok())
                    .expect("a rewritten timer carries TIMER_OUT_MS");
                assert_eq!(out % rules.precision_ms, 0, "rounded to the precision");
            }
        }
        let _ = from_timer_topic(&m, false, Some(m.store_timestamp), m.born_timestamp);
        let _ = from_timer_topic(&m, true, None, m.born_timestamp);
    }
    let _ = decode_batch(&Bytes::copy_from_slice(data));
    // The client's view of a PULL body: records back to back, compressed bodies inflated.
    let _ = crate::client::message::decode_messages(&Bytes::copy_from_slice(data));
}

/// On-disk timer data (`timerlog/` units and blanks, `timerwheel` slots,
/// `config/timercheck`): decoding never panics, and a decoded unit or checkpoint encodes
/// back to the same bytes.
pub fn timer_log(data: &[u8]) {
    use crate::store::timer::{
        decode_entry, decode_slot, latest_due, LogEntry, TimerCheckpoint, TimerUnit, SLOT_SIZE,
        UNIT_SIZE,
    };
    for (i, chunk) in data.chunks(UNIT_SIZE).enumerate() {
        if let LogEntry::Unit(u) = decode_entry(chunk, data.len() - i * UNIT_SIZE) {
            let mut back = [0u8; UNIT_SIZE];
            u.encode(&mut back);
            let again = TimerUnit::decode(&back).expect("an encoded unit decodes");
            assert_eq!(again, u, "unit round trip");
            let _ = u.delayed_ms();
        }
    }
    // The file scan that decides whether a timer-log file may be deleted: never below a
    // unit it read.
    if let Some(latest) = latest_due(data) {
        if let LogEntry::Unit(u) = decode_entry(data, data.len()) {
            assert!(
                latest >= u.delayed_ms(),
                "latest due below the first unit's"
            );
        }
    }
    for chunk in data.chunks_exact(SLOT_SIZE) {
        let s = decode_slot(chunk, 1000);
        let _ = (s.time_ms, s.first_pos);
    }
    if let Some(ck) = TimerCheckpoint::decode(data) {
        if data.len() >= 56 {
            assert_eq!(&ck.encode()[..], &data[..56], "checkpoint round trip");
        }
    }
}

/// Broker requests: every frame that decodes is read with each broker header type, and
/// its body with each broker body decoder. Nothing may panic.
pub fn broker_requests(data: &[u8]) {
    use crate::protocol::body::broker::{
        ConsumeStats, ConsumerOffsetWrapper, DelayOffsetWrapper, LockBatchRequestBody,
        SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicStatsTable,
    };
    use crate::protocol::body::fastjson::JsonBody;
    use crate::protocol::body::heartbeat::HeartbeatData;
    use crate::protocol::header::broker::*;
    let mut bodies: Vec<Bytes> = vec![Bytes::copy_from_slice(data)];
    for cmd in crate::protocol::frame::decode_all(data, 1 << 20)
        .into_iter()
        .flatten()
    {
        let _ = SendMessageRequestHeader::from_request(&cmd);
        let _ = cmd.decode_header::<SendMessageRequestHeaderV2>();
        let _ = cmd.decode_header::<PullMessageRequestHeader>();
        let _ = cmd.decode_header::<QueryConsumerOffsetRequestHeader>();
        let _ = cmd.decode_header::<UpdateConsumerOffsetRequestHeader>();
        let _ = cmd.decode_header::<SearchOffsetRequestHeader>();
        let _ = cmd.decode_header::<QueryMessageRequestHeader>();
        let _ = cmd.decode_header::<CreateTopicRequestHeader>();
        let _ = cmd.decode_header::<ConsumerSendMsgBackRequestHeader>();
        let _ = cmd.decode_header::<EndTransactionRequestHeader>();
        bodies.push(cmd.body.clone());
    }
    for body in bodies {
        let _ = HeartbeatData::decode(&body);
        let _ = SubscriptionGroupConfig::decode(&body);
        let _ = SubscriptionGroupWrapper::decode(&body);
        let _ = LockBatchRequestBody::decode(&body);
        let _ = ConsumerOffsetWrapper::decode(&body);
        let _ = DelayOffsetWrapper::decode(&body);
        let _ = ConsumeStats::decode(&body);
        let _ = TopicStatsTable::decode(&body);
        let _ = crate::protocol::message::decode_batch(&body);
    }
}

/// Admin requests and bodies (mqadmin's, the dashboard's, the exporter's): their headers,
/// reset-offset and statistics bodies (what decodes must re-encode and decode the same),
/// the Properties text of broker configs, and mqadmin's timestamps. Nothing may panic.
pub fn admin_bodies(data: &[u8]) {
    use crate::protocol::body::broker::{BrokerStatsData, ResetOffsetBody};
    use crate::protocol::header::broker::*;
    for cmd in crate::protocol::frame::decode_all(data, 1 << 20)
        .into_iter()
        .flatten()
    {
        let _ = cmd.decode_header::<ViewBrokerStatsDataRequestHeader>();
        let _ = cmd.decode_header::<QueryConsumeQueueRequestHeader>();
        let _ = cmd.decode_header::<ResetOffsetRequestHeader>();
        let _ = cmd.decode_header::<GetConsumerRunningInfoRequestHeader>();
        let _ = cmd.decode_header::<ConsumeMessageDirectlyResultRequestHeader>();
        let _ = cmd.decode_header::<DeleteSubscriptionGroupRequestHeader>();
        let _ = cmd.decode_header::<QueryTopicConsumeByWhoRequestHeader>();
        let _ = cmd.decode_header::<GetProducerConnectionListRequestHeader>();
    }
    if let Ok(body) = ResetOffsetBody::decode(data) {
        let again = ResetOffsetBody::decode(&body.encode());
        assert_eq!(
            again.ok(),
            Some(body),
            "a reset-offset body changed on re-encoding"
        );
    }
    if let Ok(stats) = crate::protocol::body::fastjson::from_json::<BrokerStatsData>(data) {
        let again = crate::protocol::body::fastjson::from_json::<BrokerStatsData>(&stats.encode());
        assert!(
            again.is_ok(),
            "a stats body failed to decode after re-encoding"
        );
    }
    // What mqadmin reads from consumers through the broker.
    if let Ok(info) = crate::protocol::body::broker::ConsumerRunningInfo::decode(data) {
        let again = crate::protocol::body::broker::ConsumerRunningInfo::decode(data).ok();
        assert_eq!(again, Some(info), "running info decodes differently twice");
    }
    if let Ok(r) = crate::protocol::body::fastjson::from_json::<
        crate::protocol::body::broker::ConsumeMessageDirectlyResult,
    >(data)
    {
        assert!(r.to_string().starts_with("ConsumeMessageDirectlyResult ["));
    }
    let text = String::from_utf8_lossy(data);
    let props = crate::protocol::body::kv::parse_properties(&text);
    for (k, _) in &props {
        assert!(!k.contains('\n'), "a property key spans lines");
    }
    // UPDATE_NAMESRV_CONFIG's body: a black-listed key changes nothing.
    use crate::actors::namesrv::config::{
        properties, LiveSettings, NamesrvConfig, CONFIG_BLACK_LIST,
    };
    let config = NamesrvConfig::default();
    let live = LiveSettings::new(&config);
    let before = properties(&config, &live);
    if live.update(&config, &props).is_err() {
        assert!(props
            .iter()
            .any(|(k, _)| CONFIG_BLACK_LIST.contains(&k.as_str())));
        assert_eq!(
            properties(&config, &live),
            before,
            "a refused update changed settings"
        );
    }
    let _ = crate::admin::parse_timestamp(&text);
}

/// SQL92 selectors: no text may panic the parser; whatever parses prints as text that
/// parses to the same tree, and evaluates (against properties taken from the input too)
/// without panicking.
pub fn sql92_filter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(expr) = crate::protocol::filter::parse(&text) else {
        return;
    };
    let printed = expr.to_string();
    assert_eq!(
        crate::protocol::filter::parse(&printed).as_ref(),
        Ok(&expr),
        "{text:?} printed as {printed:?} does not read back"
    );
    let mut props = std::collections::HashMap::new();
    for (i, word) in text.split(|c: char| !c.is_alphanumeric()).enumerate() {
        props.insert(word.to_owned(), i.to_string());
        props.insert(format!("{word}{i}"), word.to_owned());
    }
    let _ = expr.matches(&props);
}

/// The HA streams (slave reports and master frames): fed in arbitrary pieces, the
/// decoders never panic, never yield a negative offset, never a body above their limit,
/// and what they yield re-encodes to the bytes it came from.
pub fn ha_stream(data: &[u8]) {
    use crate::protocol::ha::{ReportDecoder, TransferDecoder};
    use tokio_util::codec::{Decoder, Encoder};

    let split = data.first().map(|b| *b as usize % 17 + 1).unwrap_or(1);
    let mut reports = bytes::BytesMut::new();
    for piece in data.chunks(split) {
        reports.extend_from_slice(piece);
        match ReportDecoder.decode(&mut reports) {
            Ok(Some(o)) => assert!(o >= 0, "a negative offset was yielded"),
            Ok(None) => assert!(reports.len() < 8, "a whole report was left undecoded"),
            Err(_) => break,
        }
    }
    let limit = 4096;
    let mut codec = TransferDecoder::new(limit);
    let mut buf = bytes::BytesMut::new();
    let mut consumed = 0usize;
    'pieces: for piece in data.chunks(split) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.offset >= 0 && frame.body.len() <= limit);
                    let mut again = bytes::BytesMut::new();
                    let len = 12 + frame.body.len();
                    codec
                        .encode(frame, &mut again)
                        .expect("encoding cannot fail");
                    assert_eq!(&again[..], &data[consumed..consumed + len]);
                    consumed += len;
                }
                Ok(None) => break,
                Err(_) => break 'pieces,
            }
        }
    }
}

/// The web console's request input as its handlers decode it: a selector byte, then a JSON
/// body (topic create/update, offset reset, dead-letter resend) or a query string (message
/// lookup), each decoded and checked.
pub fn console_requests(data: &[u8]) {
    use crate::console::api::{Lookup, MessageQuery, ResendRequest, ResetRequest, TopicRequest};
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(r) = serde_json::from_slice::<TopicRequest>(rest) {
                if r.validate().is_ok() {
                    assert!((1..=1024).contains(&r.read_queue_nums));
                    assert!((1..=1024).contains(&r.write_queue_nums));
                    assert!(!r.topic.trim().is_empty() && !r.cluster_name.trim().is_empty());
                }
            }
        }
        1 => {
            if let Ok(r) = serde_json::from_slice::<ResetRequest>(rest) {
                let _ = r.validate();
            }
        }
        2 => {
            let _ = serde_json::from_slice::<ResendRequest>(rest);
        }
        _ => {
            if let Ok(q) = std::str::from_utf8(rest) {
                if let Ok(q) = actix_web::web::Query::<MessageQuery>::from_query(q) {
                    let filled = |s: &str| !s.is_empty() && s.trim() == s;
                    match q.lookup() {
                        Ok(Lookup::OffsetId(id)) => assert!(filled(&id)),
                        Ok(Lookup::UniqueKey { topic, id }) => {
                            assert!(filled(&topic) && filled(&id))
                        }
                        Ok(Lookup::Key { topic, key }) => assert!(filled(&topic) && filled(&key)),
                        Ok(Lookup::TimeRange { topic, begin, end }) => {
                            assert!(filled(&topic) && 0 <= begin && begin <= end)
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    }
}
