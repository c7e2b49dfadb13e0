//! Topic churn must not wedge the broker: every create/delete pair over the wire gives back
//! the mailbox slots it used, so after 20,000 cycles (twice the writer's mailbox capacity)
//! sends still succeed and the CommitLogWriter's mailbox is empty. Before the runtime owned
//! mailbox accounting, RemoveTopic leaked a slot per deletion and every send answered
//! SYSTEM_BUSY [REJECTREQUEST] after 10,000.

mod common;

use std::time::Duration;

use common::broker::*;
use ferrocket::protocol::code::{request, response};
use futures_util::stream::{self, StreamExt};

const CYCLES: usize = 20_000;
/// Cycles in flight at once: pipelining keeps the test fast on two busy cores.
const IN_FLIGHT: usize = 64;

#[actix_rt::test]
async fn twenty_thousand_topic_create_delete_cycles_leave_sends_working_and_the_writer_idle() {
    let b = start_broker().await;
    let writer = b
        .broker
        .context
        .registry
        .actor("broker/Store/CommitLogWriter")
        .expect("the writer reports to the registry");
    assert!(
        CYCLES > writer.mailbox_capacity(),
        "the test must churn past the writer's capacity to prove nothing leaks"
    );
    let failures = stream::iter(0..CYCLES)
        .map(|i| {
            let b = &b;
            async move {
                let topic = format!("churn-{i}");
                let created = b.call(create_topic(&topic, 4)).await;
                let deleted = b
                    .call(cmd(request::DELETE_TOPIC_IN_BROKER, &[("topic", &topic)]))
                    .await;
                usize::from(created.code != response::SUCCESS || deleted.code != response::SUCCESS)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .fold(0, |n, failed| async move { n + failed })
        .await;
    assert_eq!(failures, 0, "every create and delete succeeds");

    // Deletions reach the writer asynchronously; its mailbox drains to empty.
    assert!(
        wait_until(Duration::from_secs(30), || async {
            writer.mailbox_depth() == 0
        })
        .await,
        "writer mailbox depth stuck at {}",
        writer.mailbox_depth()
    );
    assert_eq!(
        b.call(create_topic("after-churn", 4)).await.code,
        response::SUCCESS
    );
    for i in 0..20 {
        let sent = b
            .call(send_v2(
                "after-churn",
                i % 4,
                b"still here",
                "t",
                "k",
                &format!("u{i}"),
            ))
            .await;
        assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
    }
    let text = b.broker.context.registry.render_prometheus();
    assert!(
        text.contains("rocketmq_actor_mailbox_depth{actor=\"broker/Store/CommitLogWriter\"} 0"),
        "{}",
        text.lines()
            .filter(|l| l.contains("CommitLogWriter"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
