//! ConsumerFilterManager: the compiled SQL92 selector of each consumer group on each
//! topic, as RocketMQ's `ConsumerFilterManager` keeps them. Heartbeats register a group's
//! non-TAG subscriptions, versioned by the client's subVersion (an older or equal version
//! never replaces a newer filter; a newer one that no longer compiles removes the old one,
//! so pulls answer FILTER_DATA_NOT_EXIST and the client reports its error). Pulls read
//! filters through the shared map without a hop, and compile the expressions that come
//! with a pull's subscription flag through a bounded cache instead of on every pull.
//! Nothing is persisted: consumers heartbeat every 30 s, and pulls need the heartbeat's
//! subscription anyway. There is no dispatch-time bitmap (ConsumeQueueExt): see
//! docs/performance.md for why it does not pay here.

use std::sync::Arc;

use dashmap::DashMap;

use crate::protocol::body::heartbeat::SubscriptionData;
use crate::protocol::filter::{self, Expr, ParseError, Properties};
use crate::protocol::message::{property, record_properties};
use crate::store::get_message::MessageFilter;

/// One group's compiled selector on one topic (RocketMQ's `ConsumerFilterData`).
#[derive(Debug)]
pub struct ConsumerFilterData {
    pub expression: String,
    pub expression_type: String,
    /// The subVersion of the heartbeat that registered it.
    pub client_version: i64,
    pub compiled: Arc<Expr>,
}

/// Distinct expressions a pull's subscription flag may bring before the cache is emptied.
/// Emptying costs one compile per expression still in use, which is cheap; a bound keeps
/// clients that send a new expression on every pull from growing the broker's memory.
const COMPILE_CACHE_CAPACITY: usize = 1024;

/// A compiled selector as a store filter: every tag code passes the consume queue, and
/// each record is evaluated on its properties, found by walking the record's header and
/// read in place (a record whose properties cannot be found is no match).
#[derive(Clone, Copy)]
pub struct SelectorFilter<'a>(pub &'a Expr);

/// An encoded property string as the selector evaluator reads it.
struct RecordProperties<'a>(&'a str);

impl Properties for RecordProperties<'_> {
    fn property(&self, name: &str) -> Option<&str> {
        property(self.0, name)
    }
}

impl MessageFilter for SelectorFilter<'_> {
    fn matches_tags_code(&self, _: i64) -> bool {
        true
    }

    fn matches_record(&self, record: &[u8]) -> bool {
        let Some(raw) = record_properties(record) else {
            return false;
        };
        self.0
            .matches(&RecordProperties(&String::from_utf8_lossy(raw)))
    }
}

#[derive(Debug, Default)]
pub struct ConsumerFilters {
    /// (topic, group) → filter.
    filters: DashMap<(String, String), Arc<ConsumerFilterData>>,
    /// (expression type, expression) → compiled, errors included, as RocketMQ's
    /// SelectorParser caches both.
    compiled: DashMap<(String, String), Result<Arc<Expr>, ParseError>>,
}

impl ConsumerFilters {
    /// A heartbeat's subscriptions for `group` (RocketMQ's `register(group, subList)`).
    pub fn register<'a>(
        &self,
        group: &str,
        subscriptions: impl IntoIterator<Item = &'a SubscriptionData>,
    ) {
        for sub in subscriptions {
            if sub.is_tag_type() || sub.sub_string.is_empty() {
                continue;
            }
            self.register_one(group, sub);
        }
    }

    fn register_one(&self, group: &str, sub: &SubscriptionData) {
        let key = (sub.topic.clone(), group.to_owned());
        let old = self.filters.get(&key).map(|f| f.value().clone());
        if let Some(old) = &old {
            if sub.sub_version <= old.client_version {
                return;
            }
            if old.expression == sub.sub_string && old.expression_type == sub.expression_type {
                self.filters.insert(
                    key,
                    Arc::new(ConsumerFilterData {
                        expression: old.expression.clone(),
                        expression_type: old.expression_type.clone(),
                        client_version: sub.sub_version,
                        compiled: old.compiled.clone(),
                    }),
                );
                return;
            }
        }
        match self.compile(&sub.expression_type, &sub.sub_string) {
            Ok(compiled) => {
                self.filters.insert(
                    key,
                    Arc::new(ConsumerFilterData {
                        expression: sub.sub_string.clone(),
                        expression_type: sub.expression_type.clone(),
                        client_version: sub.sub_version,
                        compiled,
                    }),
                );
            }
            Err(e) => {
                tracing::warn!(group, topic = %sub.topic, expression = %sub.sub_string, "consumer filter does not compile: {e}");
                self.filters.remove(&key);
            }
        }
    }

    pub fn get(&self, topic: &str, group: &str) -> Option<Arc<ConsumerFilterData>> {
        self.filters
            .get(&(topic.to_owned(), group.to_owned()))
            .map(|f| f.value().clone())
    }

    /// Compiles a non-TAG expression, from the cache when it was seen before.
    pub fn compile(
        &self,
        expression_type: &str,
        expression: &str,
    ) -> Result<Arc<Expr>, ParseError> {
        let key = (expression_type.to_owned(), expression.to_owned());
        if let Some(hit) = self.compiled.get(&key) {
            return hit.value().clone();
        }
        let result = filter::compile(expression_type, expression).map(Arc::new);
        if self.compiled.len() >= COMPILE_CACHE_CAPACITY {
            self.compiled.clear();
        }
        self.compiled.insert(key, result.clone());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(topic: &str, expression: &str, version: i64) -> SubscriptionData {
        SubscriptionData {
            topic: topic.into(),
            sub_string: expression.into(),
            expression_type: "SQL92".into(),
            sub_version: version,
            ..Default::default()
        }
    }

    #[test]
    fn newer_versions_replace_and_older_ones_are_ignored() {
        let f = ConsumerFilters::default();
        f.register("G", [&sql("T", "a = 1", 10)]);
        assert_eq!(f.get("T", "G").unwrap().expression, "a = 1");
        f.register("G", [&sql("T", "a = 2", 9)]);
        assert_eq!(f.get("T", "G").unwrap().expression, "a = 1");
        f.register("G", [&sql("T", "a = 2", 11)]);
        let now = f.get("T", "G").unwrap();
        assert_eq!((now.expression.as_str(), now.client_version), ("a = 2", 11));
        f.register("G", [&sql("T", "a = 2", 12)]);
        assert_eq!(f.get("T", "G").unwrap().client_version, 12);
    }

    #[test]
    fn a_newer_expression_that_does_not_compile_removes_the_filter() {
        let f = ConsumerFilters::default();
        f.register("G", [&sql("T", "a = 1", 1)]);
        f.register("G", [&sql("T", "a = = 1", 2)]);
        assert!(f.get("T", "G").is_none());
    }

    fn record(properties: &str) -> Vec<u8> {
        let m = crate::protocol::message::MessageToStore::new(
            "T",
            0,
            b"body".to_vec(),
            properties.to_owned(),
        );
        let mut buf = vec![0; m.encoded_len()];
        m.encode_into(&mut buf, 0, 0, 0).unwrap();
        buf
    }

    #[test]
    fn selector_filters_read_the_stored_record_properties() {
        let expr = filter::parse("a > 2 AND TAGS = 'T1'").unwrap();
        let f = SelectorFilter(&expr);
        assert!(
            f.matches_tags_code(12345),
            "the consume queue cannot decide SQL92"
        );
        assert!(f.matches_record(&record("TAGS\u{1}T1\u{2}a\u{1}3\u{2}")));
        assert!(!f.matches_record(&record("TAGS\u{1}T1\u{2}a\u{1}2\u{2}")));
        assert!(!f.matches_record(&record("a\u{1}3\u{2}")));
        assert!(!f.matches_record(b"not a record"));
    }

    #[test]
    fn tag_subscriptions_register_nothing() {
        let f = ConsumerFilters::default();
        let tag = SubscriptionData {
            topic: "T".into(),
            sub_string: "*".into(),
            ..Default::default()
        };
        f.register("G", [&tag]);
        assert!(f.get("T", "G").is_none());
    }

    #[test]
    fn compiles_are_cached_errors_included() {
        let f = ConsumerFilters::default();
        let a = f.compile("SQL92", "a > 1").unwrap();
        let b = f.compile("SQL92", "a > 1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(f.compile("SQL92", "a >").is_err());
        assert!(f.compile("SQL92", "a >").is_err());
        for i in 0..COMPILE_CACHE_CAPACITY + 10 {
            f.compile("SQL92", &format!("a > {i}")).unwrap();
        }
        assert!(f.compiled.len() <= COMPILE_CACHE_CAPACITY);
    }
}
