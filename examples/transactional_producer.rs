//! A transactional producer: each message is stored as a half message, the local
//! transaction runs, and the outcome commits or rolls it back. (The broker's side of
//! transactions, which makes committed messages visible, arrives with a later issue.)
//! NAMESRV_ADDR overrides 127.0.0.1:9876.

use ferrocket::client::message::MessageExt;
use ferrocket::client::*;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

struct Bank;

impl TransactionListener for Bank {
    fn execute(&self, msg: &Message, arg: &str) -> BoxFuture<'static, TransactionState> {
        println!(
            "local transaction for {:?} with arg {arg}",
            String::from_utf8_lossy(&msg.body)
        );
        let state = if arg == "ok" {
            TransactionState::Commit
        } else {
            TransactionState::Rollback
        };
        futures_util::future::ready(state).boxed()
    }

    fn check(&self, msg: &MessageExt) -> BoxFuture<'static, TransactionState> {
        println!("broker asks about {}", msg.msg_id());
        futures_util::future::ready(TransactionState::Commit).boxed()
    }
}

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: namesrv,
        ..Default::default()
    });
    let producer = TransactionProducer::new(
        ProducerConfig {
            group: "TxExampleGroup".into(),
            ..Default::default()
        },
        client,
        Bank,
    );
    producer.start();
    for (i, arg) in ["ok", "fail", "ok"].iter().enumerate() {
        let r = producer
            .send_in_transaction(
                &Message::new("TxExampleTopic", format!("transfer {i}")),
                arg,
            )
            .await?;
        println!("half message {} -> {:?}", r.send.msg_id, r.state);
    }
    producer.shutdown().await;
    Ok(())
}
