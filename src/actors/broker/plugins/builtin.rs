//! The plug-ins built into the broker binaries, enabled by name from the RON config:
//!
//! ```ron
//! plugins: [
//!     (name: "trace"),
//!     (name: "mirror", config: {"namesrvAddr": "10.0.0.2:9876", "topics": [{"topic": "Orders"}]}),
//! ]
//! ```
//!
//! `config` is the plug-in's own section (a RON map with its camelCase field names;
//! absent: its defaults). `mqbroker -p` lists what is available.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::mirror::{Mirror, MirrorConfig};
use super::trace::{Trace, TraceConfig};
use super::{launch, PluginHost, Started};

/// One `plugins` entry of the broker config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    pub name: String,
    /// The plug-in's section; absent (unit) means its defaults.
    #[serde(default = "no_section", skip_serializing_if = "is_unit")]
    pub config: ron::Value,
}

fn no_section() -> ron::Value {
    ron::Value::Unit
}

fn is_unit(v: &ron::Value) -> bool {
    *v == ron::Value::Unit
}

impl PluginEntry {
    /// An entry with the plug-in's defaults.
    pub fn named(name: impl Into<String>) -> Self {
        PluginEntry {
            name: name.into(),
            config: no_section(),
        }
    }

    /// An entry whose section is `config` in RON (`{"batchSize": 10}`).
    pub fn with_config(name: impl Into<String>, config: &str) -> Result<Self, String> {
        Ok(PluginEntry {
            name: name.into(),
            config: ron::from_str(config).map_err(|e| e.to_string())?,
        })
    }
}

/// Name and one line on each built-in plug-in.
pub const AVAILABLE: [(&str, &str); 2] = [
    (
        "trace",
        "message trace to RMQ_SYS_TRACE_TOPIC in RocketMQ's client trace format (Pub, SubBefore, SubAfter)",
    ),
    (
        "mirror",
        "forwards chosen topics (optional tag filter) to another cluster, at least once, resuming from its offsets",
    ),
];

fn section<T: DeserializeOwned + Default>(entry: &PluginEntry) -> Result<T, String> {
    match &entry.config {
        ron::Value::Unit => Ok(T::default()),
        v => v
            .clone()
            .into_rust()
            .map_err(|e| format!("plug-in {}: config: {e}", entry.name)),
    }
}

/// Checks an entry's name and section without starting anything (config validation).
pub fn check(entry: &PluginEntry) -> Result<(), String> {
    match entry.name.as_str() {
        "trace" => section::<TraceConfig>(entry).map(drop),
        "mirror" => section::<MirrorConfig>(entry).map(drop),
        other => Err(format!(
            "unknown plug-in {other:?}; built in: {}",
            AVAILABLE.map(|(n, _)| n).join(", ")
        )),
    }
}

/// Starts the built-in plug-in an entry names.
pub fn start(entry: &PluginEntry, host: &PluginHost) -> Result<Started, String> {
    check(entry)?;
    match entry.name.as_str() {
        "trace" => launch(Trace::new(section(entry)?), host),
        _ => launch(Mirror::new(section(entry)?), host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        plugins: Vec<PluginEntry>,
    }

    #[test]
    fn entries_parse_from_ron_with_their_sections() {
        let text = r#"(plugins: [
            (name: "trace", config: {"batchSize": 10}),
            (name: "mirror", config: (namesrvAddr: "127.0.0.1:9876", topics: [(topic: "A", tags: "x || y")])),
        ])"#;
        let h: Holder = ron::from_str(text).unwrap();
        let t: TraceConfig = section(&h.plugins[0]).unwrap();
        assert_eq!(t.batch_size, 10);
        let m: MirrorConfig = section(&h.plugins[1]).unwrap();
        assert_eq!(m.namesrv_addr, "127.0.0.1:9876");
        assert_eq!(m.topics[0].tags, "x || y");
        check(&h.plugins[1]).unwrap();
        let bare: Holder = ron::from_str(r#"(plugins: [(name: "trace")])"#).unwrap();
        assert_eq!(bare.plugins[0], PluginEntry::named("trace"));
        assert_eq!(
            section::<TraceConfig>(&bare.plugins[0]).unwrap(),
            TraceConfig::default()
        );
    }

    #[test]
    fn unknown_names_and_fields_are_refused() {
        let e = PluginEntry::named("nope");
        assert!(check(&e).unwrap_err().contains("trace, mirror"));
        let text = r#"(name: "trace", config: {"batchSise": 10})"#;
        let e: PluginEntry = ron::from_str(text).unwrap();
        assert!(check(&e).is_err());
    }
}
