//! The small list bodies: `KVTable` (a namespace's key/value pairs, runtime info, and the
//! REGISTER_BROKER answer carrying order-topic config) and `TopicList` (every topic-list
//! query). Both are plain JSON in every client, so serde reads and writes them directly.
//! Also the `java.util.Properties` text broker configs travel in (GET/UPDATE_BROKER_CONFIG).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fastjson::{self, null_as_default};

/// `{"table":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    #[serde(deserialize_with = "null_as_default")]
    pub table: BTreeMap<String, String>,
}

impl fastjson::JsonBody for KvTable {}

/// `{"topicList":[…]}`, with `brokerAddr` when set (the system topic list names a broker).
/// Java holds the topics in a set; the order here carries no meaning either.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    // Declared before `topic_list` so the keys come out sorted, as fastjson writes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub topic_list: Vec<String>,
}

impl fastjson::JsonBody for TopicList {}

/// `java.util.Properties` text: `key=value` lines (`:` also separates), `#`/`!` comments.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| {
            let split = l.find(['=', ':']).unwrap_or(l.len());
            let (k, v) = l.split_at(split);
            let v = v.get(1..).unwrap_or("");
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::fastjson::JsonBody;

    #[test]
    fn properties_split_on_the_first_separator_and_skip_comments() {
        let p = parse_properties("# c\n a = b=c \n!x\nk:v\nflag\n");
        assert_eq!(
            p,
            vec![
                ("a".into(), "b=c".into()),
                ("k".into(), "v".into()),
                ("flag".into(), String::new())
            ]
        );
    }

    const KV_TABLE: &str = r#"{"table":{"brokerActive":"true","brokerVersionDesc":"V5_3_3"}}"#;
    const TOPIC_LIST: &str = r#"{"topicList":["TopicTest","TBW102"]}"#;

    #[test]
    fn kv_table_matches_reference_bytes() {
        let kv = KvTable {
            table: [("brokerVersionDesc", "V5_3_3"), ("brokerActive", "true")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert_eq!(&kv.encode()[..], KV_TABLE.as_bytes());
        assert_eq!(KvTable::decode(KV_TABLE.as_bytes()).unwrap(), kv);
    }

    #[test]
    fn empty_kv_table_is_an_empty_object() {
        assert_eq!(&KvTable::default().encode()[..], br#"{"table":{}}"#);
        assert_eq!(KvTable::decode(b"{}").unwrap(), KvTable::default());
    }

    #[test]
    fn topic_list_matches_reference_bytes() {
        let list = TopicList {
            topic_list: vec!["TopicTest".into(), "TBW102".into()],
            broker_addr: None,
        };
        assert_eq!(&list.encode()[..], TOPIC_LIST.as_bytes());
        assert_eq!(TopicList::decode(TOPIC_LIST.as_bytes()).unwrap(), list);
    }

    #[test]
    fn system_topic_list_names_its_broker_first() {
        let list = TopicList {
            topic_list: vec!["TBW102".into()],
            broker_addr: Some("10.0.0.1:10911".into()),
        };
        let json = list.encode();
        assert_eq!(
            &json[..],
            br#"{"brokerAddr":"10.0.0.1:10911","topicList":["TBW102"]}"#
        );
        assert_eq!(TopicList::decode(&json).unwrap(), list);
    }

    #[test]
    fn null_topic_list_from_go_decodes_as_empty() {
        assert_eq!(
            TopicList::decode(br#"{"topicList":null}"#).unwrap(),
            TopicList::default()
        );
    }

    #[test]
    fn kv_and_topic_list_decoders_never_panic() {
        for input in super::super::arbitrary_inputs(300, br#"{}[]:,"\-01 tablepicList"#) {
            let _ = KvTable::decode(&input);
            let _ = TopicList::decode(&input);
        }
    }
}
