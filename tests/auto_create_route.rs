//! A topic auto-created by a send is known to the name server before the send is
//! answered (RocketMQ 4.9.8's createTopicInSendMessageMethod → registerBrokerAll), so a
//! producer that asks for the topic's route right after its first send finds it. The
//! broker's periodic registration is set to an hour, so only the registration tied to the
//! creation can have told the name server.

mod common;

use common::broker::*;
use common::*;
use ferrocket::protocol::code::response;

#[actix_rt::test]
async fn a_topic_created_by_a_send_is_routable_as_soon_as_the_send_is_answered() {
    let b = start_broker_with(|c| c.register_name_server_period = 3_600_000).await;
    // The broker's first full registration (at start) is in; it carries TBW102.
    assert!(
        wait_until(std::time::Duration::from_secs(10), || async {
            call(&b.client, &b.ns.addr, route_request("TBW102", 399))
                .await
                .code
                == response::SUCCESS
        })
        .await
    );
    for i in 0..20 {
        let topic = format!("auto-{i}");
        let sent = b
            .call(send_v2(&topic, 0, b"first", "t", "k", &format!("u{i}")))
            .await;
        assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
        let route = call(&b.client, &b.ns.addr, route_request(&topic, 399)).await;
        assert_eq!(
            route.code,
            response::SUCCESS,
            "{topic} unknown to the name server right after its first send: {:?}",
            route.remark
        );
    }
}
