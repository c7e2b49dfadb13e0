//! Topic names RocketMQ reserves and the rules a topic name follows (Java's
//! `TopicValidator`), shared by the broker's send path and the client's producer.

pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// Topic of delayed messages (`TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`); its consume-queue
/// tag code is the delivery time, not a tag hash.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The topic timer messages wait in (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Message traces (`TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Any topic named with this prefix belongs to the broker (`TopicValidator.SYSTEM_TOPIC_PREFIX`).
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// Topics clients may not send to (RocketMQ's TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET).
pub fn send_forbidden(topic: &str) -> bool {
    matches!(
        topic,
        SCHEDULE_TOPIC
            | TRANS_HALF_TOPIC
            | TRANS_OP_HALF_TOPIC
            | TRANS_CHECK_MAX_TIME_TOPIC
            | SELF_TEST_TOPIC
            | OFFSET_MOVED_EVENT
            | TIMER_TOPIC
    )
}

/// Topics the broker owns, which admin requests may not create, update or delete (Java's
/// `TopicValidator.isSystemTopic`).
pub fn is_system_topic(topic: &str) -> bool {
    matches!(
        topic,
        AUTO_CREATE_TOPIC_KEY
            | SCHEDULE_TOPIC
            | BENCHMARK_TOPIC
            | TRANS_HALF_TOPIC
            | TRACE_TOPIC
            | TRANS_OP_HALF_TOPIC
            | TRANS_CHECK_MAX_TIME_TOPIC
            | SELF_TEST_TOPIC
            | OFFSET_MOVED_EVENT
    ) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// Checks a topic name the way RocketMQ's TopicValidator does; `Err` holds the remark.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("The specified topic is blank.".into());
    }
    let limit = if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
        || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    {
        255
    } else {
        127
    };
    if topic.len() > limit {
        return Err(format!(
            "The specified topic is longer than topic max length {limit}."
        ));
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'%' || b == b'|' || b == b'_' || b == b'-')
    {
        return Err(format!("The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn system_topics_are_those_java_names_and_the_rmq_sys_prefix() {
        for t in [
            "TBW102",
            "SCHEDULE_TOPIC_XXXX",
            "RMQ_SYS_TRACE_TOPIC",
            "rmq_sys_wheel_timer",
            "OFFSET_MOVED_EVENT",
        ] {
            assert!(super::is_system_topic(t), "{t}");
        }
        for t in ["TopicTest", "%RETRY%g", "RMQ_SYS", "rmq_systopic"] {
            assert!(!super::is_system_topic(t), "{t}");
        }
    }
}
