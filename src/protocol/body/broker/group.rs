//! Subscription groups: one [`SubscriptionGroupConfig`] per consumer group (body of
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 200) and the [`SubscriptionGroupWrapper`] holding all
//! of them (GET_ALL_SUBSCRIPTIONGROUP_CONFIG, 201, and the broker's `subscriptionGroup.json`).
//!
//! The 5.x shape is written. 4.9 peers and files carry a subset of the fields; anything
//! missing reads as Java's field initialiser, and members 4.9 does not know are ignored by it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::protocol::body::fastjson::{null_as_default, JsonBody};
use crate::protocol::body::register::DataVersion;

/// `MixAll.MASTER_ID`.
const MASTER_ID: i64 = 0;

// Fields are declared in alphabetical order because serde writes them in declaration order
// and fastjson sorts bean properties alphabetically.

/// Retry delays given as a list, one per attempt (5.x).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomizedRetryPolicy {
    /// Milliseconds before each retry; the last one repeats.
    #[serde(deserialize_with = "null_as_default")]
    pub next: Vec<i64>,
}

/// Java's default list: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h.
impl Default for CustomizedRetryPolicy {
    fn default() -> Self {
        const SECOND: i64 = 1000;
        const MINUTE: i64 = 60 * SECOND;
        const HOUR: i64 = 60 * MINUTE;
        CustomizedRetryPolicy {
            next: vec![
                SECOND,
                5 * SECOND,
                10 * SECOND,
                30 * SECOND,
                MINUTE,
                2 * MINUTE,
                3 * MINUTE,
                4 * MINUTE,
                5 * MINUTE,
                6 * MINUTE,
                7 * MINUTE,
                8 * MINUTE,
                9 * MINUTE,
                10 * MINUTE,
                20 * MINUTE,
                30 * MINUTE,
                HOUR,
                2 * HOUR,
            ],
        }
    }
}

/// Retry delays growing exponentially (5.x).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExponentialRetryPolicy {
    #[serde(deserialize_with = "null_as_default")]
    pub initial: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub max: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub multiplier: i64,
}

/// Java's defaults: 5 s doubling up to 2 h.
impl Default for ExponentialRetryPolicy {
    fn default() -> Self {
        ExponentialRetryPolicy {
            initial: 5_000,
            max: 7_200_000,
            multiplier: 2,
        }
    }
}

/// How a group's retries are delayed (5.x). `type` selects the policy; the selected one
/// falls back to the default customized list when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupRetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_retry_policy: Option<CustomizedRetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_retry_policy: Option<ExponentialRetryPolicy>,
    /// `CUSTOMIZED` or `EXPONENTIAL`.
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub policy_type: String,
}

impl Default for GroupRetryPolicy {
    fn default() -> Self {
        GroupRetryPolicy {
            customized_retry_policy: None,
            exponential_retry_policy: None,
            policy_type: "CUSTOMIZED".to_owned(),
        }
    }
}

/// A subscription a 5.x group config may pin (`SimpleSubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimpleSubscriptionData {
    #[serde(deserialize_with = "null_as_default")]
    pub expression: String,
    #[serde(deserialize_with = "null_as_default")]
    pub expression_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub topic: String,
    #[serde(deserialize_with = "null_as_default")]
    pub version: i64,
}

/// How the broker treats one consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    /// 5.x stored attributes.
    #[serde(deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, String>,
    /// Broker the group reads from normally (0: the master).
    #[serde(deserialize_with = "null_as_default")]
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    /// 5.x.
    #[serde(deserialize_with = "null_as_default")]
    pub consume_message_orderly: bool,
    /// 5.x; push consumers only.
    pub consume_timeout_minute: i32,
    #[serde(deserialize_with = "null_as_default")]
    pub group_name: String,
    /// 5.x.
    pub group_retry_policy: GroupRetryPolicy,
    /// 5.x.
    #[serde(deserialize_with = "null_as_default")]
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    /// Reconsume attempts before a message goes to the DLQ.
    pub retry_max_times: i32,
    /// Queues of the group's `%RETRY%` topic; 0 or less disables send-back.
    pub retry_queue_nums: i32,
    /// 5.x; written only when set, as Java leaves it null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<BTreeSet<SimpleSubscriptionData>>,
    /// Broker suggested to a consumer that falls behind.
    pub which_broker_when_consume_slowly: i64,
}

/// Java's field initialisers, which is also what a member missing from JSON reads as.
impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: MASTER_ID,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: GroupRetryPolicy::default(),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl SubscriptionGroupConfig {
    /// The defaults for `group_name`, as the broker auto-creates a group.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            ..SubscriptionGroupConfig::default()
        }
    }
}

impl JsonBody for SubscriptionGroupConfig {}

/// Every subscription group of a broker with the table's version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub data_version: DataVersion,
    /// 5.x: group → topic → forbidden bits.
    #[serde(deserialize_with = "null_as_default")]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    #[serde(deserialize_with = "null_as_default")]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl JsonBody for SubscriptionGroupWrapper {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §3.9 (5.x).
    const GROUP_CONFIG: &str = r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"cg1","groupRetryPolicy":{"customizedRetryPolicy":{"next":[1000,5000,10000,30000,60000,120000,180000,240000,300000,360000,420000,480000,540000,600000,1200000,1800000,3600000,7200000]},"type":"CUSTOMIZED"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;

    #[test]
    fn group_config_matches_reference_bytes() {
        let config = SubscriptionGroupConfig {
            group_retry_policy: GroupRetryPolicy {
                customized_retry_policy: Some(CustomizedRetryPolicy::default()),
                ..GroupRetryPolicy::default()
            },
            ..SubscriptionGroupConfig::new("cg1")
        };
        assert_eq!(std::str::from_utf8(&config.encode()).unwrap(), GROUP_CONFIG);
        assert_eq!(
            SubscriptionGroupConfig::decode(GROUP_CONFIG.as_bytes()).unwrap(),
            config
        );
    }

    #[test]
    fn a_new_group_is_written_like_a_new_java_config() {
        let json = SubscriptionGroupConfig::new("g").encode();
        let text = std::str::from_utf8(&json).unwrap();
        assert!(
            text.contains(r#""groupRetryPolicy":{"type":"CUSTOMIZED"}"#),
            "{text}"
        );
        assert!(!text.contains("subscriptionDataSet"));
    }

    #[test]
    fn a_4_9_group_config_reads_with_5_x_defaults() {
        let json = br#"{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":false,"consumeFromMinEnable":true,"groupName":"old","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;
        let config = SubscriptionGroupConfig::decode(json).unwrap();
        assert!(!config.consume_enable);
        assert_eq!(config.retry_max_times, 3);
        assert_eq!(config.consume_timeout_minute, 15);
        assert_eq!(config.group_retry_policy, GroupRetryPolicy::default());
        assert_eq!(
            SubscriptionGroupConfig::decode(b"{}").unwrap(),
            SubscriptionGroupConfig::default()
        );
    }

    #[test]
    fn wrapper_round_trips_and_reads_a_4_9_file() {
        let wrapper = SubscriptionGroupWrapper {
            data_version: DataVersion {
                counter: 2,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            forbidden_table: BTreeMap::new(),
            subscription_group_table: BTreeMap::from([(
                "cg1".to_owned(),
                SubscriptionGroupConfig::new("cg1"),
            )]),
        };
        let json = wrapper.encode();
        assert!(json.starts_with(
            br#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1700000000000},"forbiddenTable":{},"subscriptionGroupTable":{"cg1":{"attributes":{}"#
        ));
        assert_eq!(SubscriptionGroupWrapper::decode(&json).unwrap(), wrapper);

        let old = b"{\n\t\"dataVersion\":{\n\t\t\"counter\":2,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"subscriptionGroupTable\":{\n\t\t\"cg1\":{\n\t\t\t\"groupName\":\"cg1\"\n\t\t}\n\t}\n}";
        assert_eq!(SubscriptionGroupWrapper::decode(old).unwrap(), wrapper);
    }

    #[test]
    fn group_decoders_never_panic() {
        let alphabet = br#"{}[]:,"\-0123456789 groupNamesubscriptionGroupTablenull"#;
        for input in crate::protocol::body::arbitrary_inputs(500, alphabet) {
            let _ = SubscriptionGroupConfig::decode(&input);
            let _ = SubscriptionGroupWrapper::decode(&input);
        }
    }
}
