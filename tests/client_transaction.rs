//! The transactional producer against a fake broker that records what it is sent (the real
//! broker's side is tests/broker_transaction.rs): half messages carry PREPARED, TRAN_MSG and PGROUP; the local outcome
//! ends the transaction with END_TRANSACTION; a CHECK_TRANSACTION_STATE from the broker is
//! answered with the check listener's outcome.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::actors::remoting::connection::Invoke;
use ferrocket::actors::remoting::{ConnectionInfo, RemotingServer, RequestProcessor, ServerConfig};
use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use ferrocket::protocol::code::{request, response};
use ferrocket::protocol::header::broker::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, SendMessageRequestHeader,
};
use ferrocket::protocol::message::{offset_msg_id, property, MessageToStore};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

#[derive(Default)]
struct Recorded {
    sends: Vec<SendMessageRequestHeader>,
    ends: Vec<EndTransactionRequestHeader>,
    producer_conn: Option<ConnectionInfo>,
}

struct FakeBroker {
    rec: Arc<Mutex<Recorded>>,
    port: Arc<Mutex<u16>>,
}

impl RequestProcessor for FakeBroker {
    fn process(
        &self,
        req: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let (rec, port) = (self.rec.clone(), *self.port.lock().unwrap());
        async move {
            match req.code {
                request::SEND_MESSAGE_V2 => {
                    let h = SendMessageRequestHeader::from_request(&req).unwrap();
                    let mut r = rec.lock().unwrap();
                    let n = r.sends.len() as i64;
                    r.sends.push(h);
                    r.producer_conn = Some(conn);
                    let mut resp = RemotingCommand::success();
                    resp.put_ext(
                        "msgId",
                        offset_msg_id(&format!("127.0.0.1:{port}").parse().unwrap(), 1000 + n),
                    );
                    resp.put_ext("queueId", "0");
                    resp.put_ext("queueOffset", n.to_string());
                    Some(resp)
                }
                request::END_TRANSACTION => {
                    rec.lock().unwrap().ends.push(req.decode_header().unwrap());
                    None
                }
                _ => Some(RemotingCommand::success()),
            }
        }
        .boxed()
    }
}

struct Listener;

impl TransactionListener for Listener {
    fn execute(&self, _: &Message, arg: &str) -> BoxFuture<'static, TransactionState> {
        let state = match arg {
            "commit" => TransactionState::Commit,
            "rollback" => TransactionState::Rollback,
            _ => TransactionState::Unknown,
        };
        futures_util::future::ready(state).boxed()
    }

    fn check(&self, msg: &MessageExt) -> BoxFuture<'static, TransactionState> {
        let state = if msg.body.as_ref() == b"checked" {
            TransactionState::Commit
        } else {
            TransactionState::Rollback
        };
        futures_util::future::ready(state).boxed()
    }
}

#[actix_rt::test]
async fn half_messages_end_with_the_local_outcome_and_checks_are_answered() {
    let ns = start_namesrv().await;
    let rec = Arc::new(Mutex::new(Recorded::default()));
    let port = Arc::new(Mutex::new(0));
    let fake = RemotingServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        Arc::new(FakeBroker {
            rec: rec.clone(),
            port: port.clone(),
        }),
        MetricsRegistry::new(),
        "fake",
    )
    .await
    .unwrap();
    *port.lock().unwrap() = fake.local_addr().port();
    let registrar = RemotingClient::default();
    let reg = register_request(
        "fake-broker",
        &fake.local_addr().to_string(),
        0,
        &[("TxT", 1), ("Other", 1)],
    );
    assert_eq!(
        call(&registrar, &ns.addr, reg).await.code,
        response::SUCCESS
    );

    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: ns.addr.clone(),
        ..Default::default()
    });
    let producer = TransactionProducer::new(
        ProducerConfig {
            group: "TXG".into(),
            ..Default::default()
        },
        client,
        Listener,
    );
    producer.start();
    let mut states = Vec::new();
    for arg in ["commit", "rollback", "unknown"] {
        states.push(
            producer
                .send_in_transaction(&Message::new("TxT", arg), arg)
                .await
                .unwrap()
                .state,
        );
    }
    assert_eq!(
        states,
        vec![
            TransactionState::Commit,
            TransactionState::Rollback,
            TransactionState::Unknown
        ]
    );
    let ended = eventually(Duration::from_secs(3), || async {
        rec.lock().unwrap().ends.len() == 3
    })
    .await;
    assert!(ended);
    {
        let r = rec.lock().unwrap();
        for s in &r.sends {
            assert_eq!(s.sys_flag & 0xC, 0x4, "the half message is PREPARED");
            let props = s.properties.clone().unwrap_or_default();
            assert_eq!(property(&props, "TRAN_MSG"), Some("true"));
            assert_eq!(property(&props, "PGROUP"), Some("TXG"));
        }
        let codes: Vec<i32> = r.ends.iter().map(|e| e.commit_or_rollback).collect();
        assert_eq!(codes, vec![8, 12, 0]);
        assert_eq!(
            (
                r.ends[1].tran_state_table_offset,
                r.ends[1].commit_log_offset
            ),
            (1, 1001)
        );
        assert!(r
            .ends
            .iter()
            .all(|e| e.from_transaction_check == Some(false)));
    }

    // The broker asks about a half message; the check listener commits it.
    let record = MessageToStore {
        topic: "TxT".into(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from_static(b"checked"),
        properties: "PGROUP\u{1}TXG\u{2}UNIQ_KEY\u{1}ABC\u{2}TRAN_MSG\u{1}true\u{2}".into(),
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:1".parse().unwrap(),
        store_host: fake.local_addr(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    let mut body = vec![0u8; record.encoded_len()];
    record.encode_into(&mut body, 7, 2000, 5).unwrap();
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: 7,
        commit_log_offset: 2000,
        msg_id: Some("ABC".into()),
        transaction_id: Some("ABC".into()),
        ..Default::default()
    };
    let mut check =
        RemotingCommand::request_with(request::CHECK_TRANSACTION_STATE, &header).with_body(body);
    check.mark_oneway();
    let conn = rec.lock().unwrap().producer_conn.clone().unwrap();
    conn.addr
        .send(Invoke {
            command: check,
            timeout: Duration::from_secs(2),
        })
        .await
        .unwrap()
        .unwrap();
    let answered = eventually(Duration::from_secs(3), || async {
        rec.lock().unwrap().ends.len() == 4
    })
    .await;
    assert!(answered, "the check is answered with END_TRANSACTION");
    let r = rec.lock().unwrap();
    let last = r.ends.last().unwrap();
    assert_eq!(
        (last.commit_or_rollback, last.from_transaction_check),
        (8, Some(true))
    );
    assert_eq!(
        (
            last.tran_state_table_offset,
            last.commit_log_offset,
            last.msg_id.as_str()
        ),
        (7, 2000, "ABC")
    );
}
