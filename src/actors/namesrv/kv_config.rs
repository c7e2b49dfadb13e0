//! Name-server KV configuration: namespace → key → value, kept in `kvConfig.json`
//! (`{"configTable":{"ns":{"k":"v"}}}`, what RocketMQ writes). The [`KvConfig`] actor owns
//! the table; every change is written to disk before it is acknowledged and before the actor
//! takes its next message: the write runs on a blocking thread while the actor waits (`ctx.wait`), so the event
//! loop never blocks and writes land in order. The previous file is kept as `.bak` and the
//! new one replaces it by rename, so a crash mid-write leaves a whole file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use actix::prelude::*;
use serde::{Deserialize, Serialize};

use crate::actors::envelope::Admitted;
use crate::actors::panic_guard::catch_panics;
use crate::actors::runtime::{guarded, ActorError, Supervision};

/// The namespace whose entries become `orderTopicConf` in routes and the body of
/// REGISTER_BROKER responses.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KvTables {
    #[serde(default)]
    pub config_table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvTables {
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) {
        self.config_table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.config_table
            .get(namespace)?
            .get(key)
            .map(String::as_str)
    }

    /// Removes a key; the namespace stays even when empty, as in RocketMQ.
    pub fn delete(&mut self, namespace: &str, key: &str) {
        if let Some(ns) = self.config_table.get_mut(namespace) {
            ns.remove(key);
        }
    }

    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.config_table.get(namespace)
    }

    /// Reads the file (or its backup); a missing file is an empty table.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        crate::json_file::load(path, |b| {
            crate::protocol::body::fastjson::from_json(b).map_err(|e| e.to_string())
        })
        .map(Option::unwrap_or_default)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    }

    /// Writes the file atomically, keeping the previous one as `.bak`.
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::json_file::store(path, &json).map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// The actor owning the KV tables.
pub struct KvConfig {
    sup: Supervision,
    tables: KvTables,
    path: PathBuf,
}

impl KvConfig {
    pub fn new(sup: Supervision, tables: KvTables, path: PathBuf) -> Self {
        KvConfig { sup, tables, path }
    }

    /// Writes the tables on a blocking thread while the actor waits, then calls `done`.
    fn persist(&mut self, ctx: &mut Context<Self>, done: impl FnOnce() + 'static) {
        let snapshot = self.tables.clone();
        let path = self.path.clone();
        ctx.wait(catch_panics(
            async move {
                match tokio::task::spawn_blocking(move || snapshot.store(&path)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "persisting kvConfig.json failed"),
                    Err(e) => tracing::error!(error = %e, "kvConfig writer task failed"),
                }
            }
            .into_actor(self)
            .map(move |_, _, _| done()),
        ));
    }
}

impl Actor for KvConfig {
    type Context = Context<Self>;
}

crate::supervised_actor!(KvConfig);

/// Runs a closure on the KV tables inside the actor. `persist` says whether the closure
/// changes them, so they are written to disk before the next message.
pub struct WithKv<F> {
    pub persist: bool,
    pub f: F,
}

/// Reads the KV tables.
pub fn kv_read<F, R>(f: F) -> WithKv<F>
where
    F: FnOnce(&mut KvTables) -> R,
{
    WithKv { persist: false, f }
}

/// Changes the KV tables; they are on disk before the actor takes its next message.
pub fn kv_write<F, R>(f: F) -> WithKv<F>
where
    F: FnOnce(&mut KvTables) -> R,
{
    WithKv { persist: true, f }
}

impl<F, R> Message for WithKv<F>
where
    F: FnOnce(&mut KvTables) -> R,
    R: 'static,
{
    type Result = Result<R, ActorError>;
}

// Taken only through the Mailbox, so the handler takes the envelope (`admits!` is for
// non-generic messages).
impl<F, R> Handler<Admitted<WithKv<F>>> for KvConfig
where
    F: FnOnce(&mut KvTables) -> R,
    R: 'static,
{
    type Result = ResponseFuture<Result<R, ActorError>>;

    fn handle(&mut self, msg: Admitted<WithKv<F>>, ctx: &mut Context<Self>) -> Self::Result {
        let (msg, _slot) = msg.into_parts();
        let metrics = self.sup.metrics.clone();
        let tables = &mut self.tables;
        let Some(out) = guarded(&metrics, ctx, |_| (msg.f)(tables)) else {
            let err = ActorError::Panicked(metrics.path().to_owned());
            return Box::pin(async move { Err(err) });
        };
        if !msg.persist {
            return Box::pin(async move { Ok(out) });
        }
        // The answer leaves only once the change is on disk, as RocketMQ's KVConfigManager
        // persists before it replies.
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.persist(ctx, move || {
            let _ = tx.send(out);
        });
        let path = metrics.path().to_owned();
        Box::pin(async move { rx.await.map_err(|_| ActorError::Closed(path)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_survive_a_store_and_load_and_keep_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv/kvConfig.json");
        let mut t = KvTables::default();
        t.put(ORDER_TOPIC_CONFIG, "T", "broker-a:4");
        t.store(&path).unwrap();
        t.put("ns", "k", "v");
        t.store(&path).unwrap();
        let back = KvTables::load(&path).unwrap();
        assert_eq!(back, t);
        let bak = KvTables::load(&crate::json_file::with_suffix(&path, ".bak")).unwrap();
        assert_eq!(bak.get("ns", "k"), None);
        assert_eq!(bak.get(ORDER_TOPIC_CONFIG, "T"), Some("broker-a:4"));
    }

    #[test]
    fn a_missing_file_is_an_empty_table_and_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            KvTables::load(&dir.path().join("none.json")).unwrap(),
            KvTables::default()
        );
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{not json").unwrap();
        assert!(KvTables::load(&bad).is_err());
    }

    #[test]
    fn deleting_the_last_key_keeps_the_namespace() {
        let mut t = KvTables::default();
        t.put("ns", "k", "v");
        t.delete("ns", "k");
        assert!(t.namespace("ns").is_some_and(|m| m.is_empty()));
    }

    #[test]
    fn java_written_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, "{\n\t\"configTable\":{\n\t\t\"ORDER_TOPIC_CONFIG\":{\n\t\t\t\"TopicA\":\"broker-a:8;broker-b:8\"\n\t\t}\n\t}\n}").unwrap();
        let t = KvTables::load(&path).unwrap();
        assert_eq!(
            t.get(ORDER_TOPIC_CONFIG, "TopicA"),
            Some("broker-a:8;broker-b:8")
        );
    }
}
