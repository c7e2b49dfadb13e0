//! The name server's routing state as plain data: topics, brokers, clusters, broker
//! liveness and filter servers, with the operations Apache RocketMQ's `RouteInfoManager`
//! performs on them (5.x semantics unless noted). No actix here: the
//! [`RouteInfoManager`](super::route_info_manager::RouteInfoManager) actor owns one table
//! and is the only one to touch it, so there are no locks. Time comes in as an argument so
//! expiry is testable without sleeping.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::protocol::body::register::{DataVersion, TopicConfigSerializeWrapper};
use crate::protocol::body::route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};

/// Broker id of a master.
pub const MASTER_ID: i64 = 0;
pub use crate::protocol::flag::perm::{PERM_READ, PERM_WRITE};

/// Liveness is tracked per (cluster, broker address), as in RocketMQ 5.x.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddrInfo {
    pub cluster: String,
    pub addr: String,
}

#[derive(Debug, Clone)]
pub struct BrokerLiveInfo {
    pub last_update: Instant,
    pub timeout: Duration,
    pub data_version: DataVersion,
    /// The connection the broker registered on; its close unregisters the broker.
    pub connection: Option<u64>,
    pub ha_server_addr: String,
}

/// One REGISTER_BROKER, already decoded.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub cluster: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    pub zone_name: Option<String>,
    pub timeout: Option<Duration>,
    /// `None` for brokers older than 5.0, which do not send the field.
    pub enable_acting_master: Option<bool>,
    pub topics: Option<TopicConfigSerializeWrapper>,
    /// `None` when the broker sent no list (pre-3.0.11); empty clears the entry.
    pub filter_server_list: Option<Vec<String>>,
    pub connection: Option<u64>,
}

/// What a slave learns from registering: its live master's addresses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterResult {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// A single-topic registration from a broker id that has not registered in full yet.
    #[error("register broker failed")]
    Failed,
}

/// A broker to unregister (UNREGISTER_BROKER, a closed connection, or expiry).
#[derive(Debug, Clone, PartialEq)]
pub struct Unregistration {
    pub cluster: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
}

/// The routing tables.
#[derive(Debug, Default)]
pub struct RouteTable {
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: HashMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server_table: HashMap<BrokerAddrInfo, Vec<String>>,
    /// Expiry used when a broker does not send `heartbeatTimeoutMillis`.
    default_timeout: Duration,
}

impl RouteTable {
    pub fn new(default_timeout: Duration) -> Self {
        RouteTable {
            default_timeout,
            ..Default::default()
        }
    }

    pub fn register_broker(
        &mut self,
        reg: Registration,
        now: Instant,
    ) -> Result<RegisterResult, RegisterError> {
        self.cluster_addr_table
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut register_first = false;
        let broker = self
            .broker_addr_table
            .entry(reg.broker_name.clone())
            .or_insert_with(|| {
                register_first = true;
                BrokerData {
                    cluster: reg.cluster.clone(),
                    broker_name: reg.broker_name.clone(),
                    ..Default::default()
                }
            });
        broker.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        broker.zone_name = reg.zone_name.clone();

        // One ip:port has one id: a slave promoted to master (or the reverse) re-registers
        // under its new id and the old entry goes.
        broker
            .broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);

        let topic_count = reg
            .topics
            .as_ref()
            .map(|t| t.topic_config_table.len())
            .unwrap_or(0);
        if !broker.broker_addrs.contains_key(&reg.broker_id) && topic_count == 1 {
            return Err(RegisterError::Failed);
        }
        let old = broker
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= old.as_deref().is_none_or(str::is_empty);

        let is_master = reg.broker_id == MASTER_ID;
        let min_id = broker.broker_addrs.keys().next().copied();
        let is_prime_slave =
            reg.enable_acting_master.is_some() && !is_master && min_id == Some(reg.broker_id);
        let acting_master = broker.enable_acting_master;

        let key = BrokerAddrInfo {
            cluster: reg.cluster.clone(),
            addr: reg.broker_addr.clone(),
        };
        if let Some(wrapper) = &reg.topics {
            if is_master || is_prime_slave {
                let version_changed = self
                    .broker_live_table
                    .get(&key)
                    .is_none_or(|live| live.data_version != wrapper.data_version);
                for (topic, config) in &wrapper.topic_config_table {
                    let queues = self.topic_queue_table.get(topic);
                    let missing = queues.is_none_or(|q| !q.contains_key(&reg.broker_name));
                    if register_first || version_changed || missing {
                        let mut perm = config.perm;
                        if is_prime_slave && acting_master {
                            perm &= !PERM_WRITE;
                        }
                        let data = QueueData {
                            broker_name: reg.broker_name.clone(),
                            read_queue_nums: config.read_queue_nums,
                            write_queue_nums: config.write_queue_nums,
                            perm,
                            topic_sys_flag: config.topic_sys_flag,
                        };
                        self.topic_queue_table
                            .entry(topic.clone())
                            .or_default()
                            .insert(reg.broker_name.clone(), data);
                    }
                }
            }
        }

        self.broker_live_table.insert(
            key.clone(),
            BrokerLiveInfo {
                last_update: now,
                timeout: reg.timeout.unwrap_or(self.default_timeout),
                data_version: reg
                    .topics
                    .as_ref()
                    .map(|t| t.data_version)
                    .unwrap_or_default(),
                connection: reg.connection,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        match reg.filter_server_list {
            Some(list) if list.is_empty() => {
                self.filter_server_table.remove(&key);
            }
            Some(list) => {
                self.filter_server_table.insert(key, list);
            }
            None => {}
        }

        let mut result = RegisterResult::default();
        if !is_master {
            let master = self
                .broker_addr_table
                .get(&reg.broker_name)
                .and_then(|b| b.broker_addrs.get(&MASTER_ID).cloned());
            if let Some(master_addr) = master {
                let master_key = BrokerAddrInfo {
                    cluster: reg.cluster.clone(),
                    addr: master_addr.clone(),
                };
                if let Some(live) = self.broker_live_table.get(&master_key) {
                    result.ha_server_addr = Some(live.ha_server_addr.clone());
                    result.master_addr = Some(master_addr);
                }
            }
        }
        Ok(result)
    }

    /// Removes a broker address (by address, as 5.x does), its broker entry once it has
    /// no address left, and that broker's queue data from every topic.
    pub fn unregister_broker(&mut self, un: &Unregistration) {
        let key = BrokerAddrInfo {
            cluster: un.cluster.clone(),
            addr: un.broker_addr.clone(),
        };
        self.broker_live_table.remove(&key);
        self.filter_server_table.remove(&key);
        let mut removed_name = None;
        if let Some(broker) = self.broker_addr_table.get_mut(&un.broker_name) {
            broker
                .broker_addrs
                .retain(|_, addr| *addr != un.broker_addr);
            if broker.broker_addrs.is_empty() {
                self.broker_addr_table.remove(&un.broker_name);
                removed_name = Some(un.broker_name.clone());
                if let Some(names) = self.cluster_addr_table.get_mut(&un.cluster) {
                    names.remove(&un.broker_name);
                    if names.is_empty() {
                        self.cluster_addr_table.remove(&un.cluster);
                    }
                }
            }
        }
        match removed_name {
            Some(name) => self.remove_queue_data_of(&name),
            None => {
                // A master left an acting-master group: its slaves' queues lose write.
                if let Some(broker) = self.broker_addr_table.get(&un.broker_name) {
                    if broker.enable_acting_master && !broker.broker_addrs.contains_key(&MASTER_ID)
                    {
                        for queues in self.topic_queue_table.values_mut() {
                            if let Some(q) = queues.get_mut(&un.broker_name) {
                                q.perm &= !PERM_WRITE;
                            }
                        }
                    }
                }
            }
        }
    }

    fn remove_queue_data_of(&mut self, broker_name: &str) {
        self.topic_queue_table.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }

    /// The brokers that registered on `connection`, to unregister when it closes.
    pub fn brokers_on_connection(&self, connection: u64) -> Vec<Unregistration> {
        self.broker_live_table
            .iter()
            .filter(|(_, live)| live.connection == Some(connection))
            .filter_map(|(key, _)| self.unregistration_for(key))
            .collect()
    }

    /// Brokers whose last heartbeat is older than their timeout.
    pub fn expired_brokers(&self, now: Instant) -> Vec<Unregistration> {
        self.broker_live_table
            .iter()
            .filter(|(_, live)| now.saturating_duration_since(live.last_update) > live.timeout)
            .filter_map(|(key, _)| self.unregistration_for(key))
            .collect()
    }

    fn unregistration_for(&self, key: &BrokerAddrInfo) -> Option<Unregistration> {
        self.broker_addr_table
            .values()
            .filter(|b| b.cluster == key.cluster)
            .find_map(|b| {
                b.broker_addrs
                    .iter()
                    .find(|(_, addr)| **addr == key.addr)
                    .map(|(id, _)| Unregistration {
                        cluster: key.cluster.clone(),
                        broker_addr: key.addr.clone(),
                        broker_name: b.broker_name.clone(),
                        broker_id: *id,
                    })
            })
            .or_else(|| {
                // Live entry without broker data: still remove the live entry.
                Some(Unregistration {
                    cluster: key.cluster.clone(),
                    broker_addr: key.addr.clone(),
                    broker_name: String::new(),
                    broker_id: -1,
                })
            })
    }

    /// Refreshes liveness (BROKER_HEARTBEAT); unknown brokers are ignored.
    pub fn heartbeat(&mut self, cluster: &str, addr: &str, now: Instant) {
        let key = BrokerAddrInfo {
            cluster: cluster.to_owned(),
            addr: addr.to_owned(),
        };
        if let Some(live) = self.broker_live_table.get_mut(&key) {
            live.last_update = now;
        }
    }

    /// QUERY_DATA_VERSION: whether the broker's topics changed since it last registered,
    /// and the version the name server holds. Refreshes liveness.
    pub fn query_data_version(
        &mut self,
        cluster: &str,
        addr: &str,
        version: Option<&DataVersion>,
        now: Instant,
    ) -> (bool, Option<DataVersion>) {
        let key = BrokerAddrInfo {
            cluster: cluster.to_owned(),
            addr: addr.to_owned(),
        };
        match self.broker_live_table.get_mut(&key) {
            Some(live) => {
                live.last_update = now;
                let changed = version.is_none_or(|v| *v != live.data_version);
                (changed, Some(live.data_version))
            }
            None => (true, None),
        }
    }

    pub fn pickup_topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queue_table.get(topic)?;
        let mut route = TopicRouteData {
            queue_datas: queues.values().cloned().collect(),
            ..Default::default()
        };
        for name in queues.keys() {
            if let Some(broker) = self.broker_addr_table.get(name) {
                route.broker_datas.push(broker.clone());
                for addr in broker.broker_addrs.values() {
                    let key = BrokerAddrInfo {
                        cluster: broker.cluster.clone(),
                        addr: addr.clone(),
                    };
                    if let Some(list) = self.filter_server_table.get(&key) {
                        route.filter_server_table.insert(addr.clone(), list.clone());
                    }
                }
            }
        }
        if route.broker_datas.is_empty() {
            None
        } else {
            Some(route)
        }
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.broker_addr_table.clone(),
            cluster_addr_table: self.cluster_addr_table.clone(),
        }
    }

    /// Clears the write bit of every topic's queues on `broker_name`; returns how many
    /// topics have queues there.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |perm| perm & !PERM_WRITE)
    }

    /// Gives every topic's queues on `broker_name` read and write permission (exactly 6, as
    /// RocketMQ does); returns how many topics have queues there.
    pub fn add_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |_| PERM_READ | PERM_WRITE)
    }

    fn update_perm(&mut self, broker_name: &str, f: impl Fn(i32) -> i32) -> i32 {
        let mut count = 0;
        for queues in self.topic_queue_table.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = f(q.perm);
                count += 1;
            }
        }
        count
    }

    /// Removes a topic everywhere, or only from the brokers of `cluster`.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster.filter(|c| !c.is_empty()) {
            None => {
                self.topic_queue_table.remove(topic);
            }
            Some(cluster) => {
                let Some(names) = self.cluster_addr_table.get(cluster) else {
                    return;
                };
                if let Some(queues) = self.topic_queue_table.get_mut(topic) {
                    for name in names {
                        queues.remove(name);
                    }
                    if queues.is_empty() {
                        self.topic_queue_table.remove(topic);
                    }
                }
            }
        }
    }

    /// REGISTER_TOPIC_IN_NAMESRV: merges queue data of known brokers into a topic.
    pub fn register_topic(&mut self, topic: &str, queue_datas: Vec<QueueData>) {
        if queue_datas.is_empty() {
            return;
        }
        for q in queue_datas {
            if !self.broker_addr_table.contains_key(&q.broker_name) {
                return;
            }
            self.topic_queue_table
                .entry(topic.to_owned())
                .or_default()
                .insert(q.broker_name.clone(), q);
        }
    }

    pub fn all_topics(&self) -> Vec<String> {
        self.topic_queue_table.keys().cloned().collect()
    }

    pub fn topics_by_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(names) = self.cluster_addr_table.get(cluster) else {
            return Vec::new();
        };
        self.topic_queue_table
            .iter()
            .filter(|(_, queues)| queues.keys().any(|n| names.contains(n)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Cluster and broker names (brokers create topics named after both), and the first
    /// broker address.
    pub fn system_topics(&self) -> (Vec<String>, Option<String>) {
        let mut topics: BTreeSet<String> = self.cluster_addr_table.keys().cloned().collect();
        topics.extend(self.cluster_addr_table.values().flatten().cloned());
        let addr = self
            .broker_addr_table
            .values()
            .find_map(|b| b.broker_addrs.values().next().cloned());
        (topics.into_iter().collect(), addr)
    }

    pub fn live_broker_count(&self) -> usize {
        self.broker_live_table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body::register::TopicConfig;

    fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                timestamp: 1,
                state_version: 0,
            },
            topic_config_table: topics
                .iter()
                .map(|(t, q)| {
                    (
                        t.to_string(),
                        TopicConfig {
                            topic_name: t.to_string(),
                            read_queue_nums: *q,
                            write_queue_nums: *q,
                            perm: 6,
                            topic_filter_type: "SINGLE_TAG".into(),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        }
    }

    fn reg(name: &str, id: i64, addr: &str, topics: &[(&str, i32)]) -> Registration {
        Registration {
            cluster: "DefaultCluster".into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            topics: Some(wrapper(1, topics)),
            filter_server_list: Some(vec![]),
            connection: Some(id as u64 + 100),
            ..Default::default()
        }
    }

    #[test]
    fn a_registered_master_serves_routes_for_its_topics() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        t.register_broker(
            reg("broker-a", 0, "127.0.0.1:10911", &[("T1", 4), ("T2", 8)]),
            now,
        )
        .unwrap();
        let route = t.pickup_topic_route("T2").unwrap();
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.queue_datas[0].write_queue_nums, 8);
        assert_eq!(
            route.broker_datas[0]
                .broker_addrs
                .get(&0)
                .map(String::as_str),
            Some("127.0.0.1:10911")
        );
        assert!(t.pickup_topic_route("nope").is_none());
        assert_eq!(
            t.topics_by_cluster("DefaultCluster"),
            vec!["T1".to_string(), "T2".to_string()]
        );
    }

    #[test]
    fn a_slave_learns_its_live_master_and_does_not_write_queue_data() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        t.register_broker(
            reg("broker-a", 0, "10.0.0.1:10911", &[("T", 4), ("U", 4)]),
            now,
        )
        .unwrap();
        let mut slave = reg("broker-a", 1, "10.0.0.2:10911", &[("T", 2), ("U", 2)]);
        slave.topics = Some(wrapper(9, &[("T", 2), ("U", 2)]));
        let r = t.register_broker(slave, now).unwrap();
        assert_eq!(r.master_addr.as_deref(), Some("10.0.0.1:10911"));
        assert_eq!(r.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
        let route = t.pickup_topic_route("T").unwrap();
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    }

    #[test]
    fn a_first_single_topic_registration_fails() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let err = t
            .register_broker(reg("b", 0, "a:1", &[("T", 4)]), Instant::now())
            .unwrap_err();
        assert_eq!(err, RegisterError::Failed);
    }

    #[test]
    fn expired_and_disconnected_brokers_leave_the_route() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let start = Instant::now();
        t.register_broker(reg("a", 0, "a:1", &[("T", 4), ("X", 1)]), start)
            .unwrap();
        t.register_broker(
            reg("b", 0, "b:1", &[("T", 4), ("X", 1)]),
            start + Duration::from_secs(100),
        )
        .unwrap();
        let expired = t.expired_brokers(start + Duration::from_secs(121));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].broker_name, "a");
        t.unregister_broker(&expired[0]);
        let route = t.pickup_topic_route("T").unwrap();
        assert_eq!(route.broker_datas.len(), 1);
        assert_eq!(route.broker_datas[0].broker_name, "b");

        let gone = t.brokers_on_connection(100);
        assert_eq!(gone.len(), 1);
        t.unregister_broker(&gone[0]);
        assert!(t.pickup_topic_route("T").is_none());
        assert!(t.cluster_info().cluster_addr_table.is_empty());
    }

    #[test]
    fn per_broker_timeouts_override_the_default() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let start = Instant::now();
        let mut r = reg("a", 0, "a:1", &[("T", 4), ("X", 1)]);
        r.timeout = Some(Duration::from_secs(2));
        t.register_broker(r, start).unwrap();
        assert!(t.expired_brokers(start + Duration::from_secs(1)).is_empty());
        t.heartbeat("DefaultCluster", "a:1", start + Duration::from_secs(1));
        assert!(t.expired_brokers(start + Duration::from_secs(2)).is_empty());
        assert_eq!(
            t.expired_brokers(start + Duration::from_millis(3100)).len(),
            1
        );
    }

    #[test]
    fn write_permission_can_be_wiped_and_restored() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        t.register_broker(reg("a", 0, "a:1", &[("T", 4), ("X", 1)]), Instant::now())
            .unwrap();
        assert_eq!(t.wipe_write_perm("a"), 2);
        assert_eq!(t.pickup_topic_route("T").unwrap().queue_datas[0].perm, 4);
        assert_eq!(t.add_write_perm("a"), 2);
        assert_eq!(t.pickup_topic_route("T").unwrap().queue_datas[0].perm, 6);
        assert_eq!(t.wipe_write_perm("nobody"), 0);
    }

    #[test]
    fn topics_can_be_deleted_everywhere_or_per_cluster() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        t.register_broker(reg("a", 0, "a:1", &[("T", 4), ("X", 1)]), now)
            .unwrap();
        let mut other = reg("b", 0, "b:1", &[("T", 4), ("X", 1)]);
        other.cluster = "Other".into();
        t.register_broker(other, now).unwrap();
        t.delete_topic("T", Some("Other"));
        assert_eq!(t.pickup_topic_route("T").unwrap().broker_datas.len(), 1);
        t.delete_topic("T", None);
        assert!(t.pickup_topic_route("T").is_none());
        assert_eq!(t.all_topics(), vec!["X".to_string()]);
    }

    #[test]
    fn data_version_queries_report_changes() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        t.register_broker(reg("a", 0, "a:1", &[("T", 4), ("X", 1)]), now)
            .unwrap();
        let same = wrapper(1, &[]).data_version;
        assert!(
            !t.query_data_version("DefaultCluster", "a:1", Some(&same), now)
                .0
        );
        let newer = wrapper(2, &[]).data_version;
        assert!(
            t.query_data_version("DefaultCluster", "a:1", Some(&newer), now)
                .0
        );
        assert_eq!(
            t.query_data_version("DefaultCluster", "zz:1", Some(&same), now),
            (true, None)
        );
    }

    /// RIP-29: a full registration split into parts of the same data version is merged;
    /// the name server ends up with every topic, and later parts do not undo earlier ones.
    #[test]
    fn a_split_registration_is_merged_into_one_route_table() {
        let mut t = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        let names: Vec<String> = (0..2_500).map(|i| format!("T{i:05}")).collect();
        let topics: Vec<(&str, i32)> = names.iter().map(|n| (n.as_str(), 8)).collect();
        let full = wrapper(3, &topics);
        for part in full.split(800) {
            let mut r = reg("broker-a", 0, "127.0.0.1:10911", &[]);
            r.topics = Some(part);
            t.register_broker(r, now).unwrap();
        }
        let mut all = t.all_topics();
        all.retain(|n| n.starts_with('T'));
        all.sort();
        assert_eq!(all, names);
        let last = t.pickup_topic_route("T02499").unwrap();
        assert_eq!(last.queue_datas[0].write_queue_nums, 8);
        // The next period's split registration (same version) changes nothing and loses
        // nothing; an incremental registration of one changed topic at a new version
        // updates it.
        for part in full.split(800) {
            let mut r = reg("broker-a", 0, "127.0.0.1:10911", &[]);
            r.topics = Some(part);
            t.register_broker(r, now).unwrap();
        }
        let mut r = reg("broker-a", 0, "127.0.0.1:10911", &[]);
        r.topics = Some(wrapper(4, &[("T01234", 16)]));
        t.register_broker(r, now).unwrap();
        assert_eq!(
            t.pickup_topic_route("T01234").unwrap().queue_datas[0].write_queue_nums,
            16
        );
        assert_eq!(
            t.all_topics().iter().filter(|n| n.starts_with('T')).count(),
            2_500
        );
    }
}
