//! What the binaries share: logging set-up, reading RON config files, and running an actor
//! tree until SIGINT or SIGTERM, then shutting it down cleanly.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::actors::broker::{Broker, BrokerBuilder, BrokerConfig};
use crate::actors::http::MetricsEndpoint;
use crate::actors::metrics::MetricsRegistry;
use crate::actors::namesrv::{Namesrv, NamesrvConfig};

/// Errors that stop a process from starting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {message}")]
    ParseConfig { path: String, message: String },
    #[error(transparent)]
    Namesrv(#[from] crate::actors::namesrv::NamesrvError),
    #[error(transparent)]
    Broker(#[from] crate::actors::broker::BrokerError),
    #[error("cannot start the metrics endpoint on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
}

/// Logs to stderr; `RUST_LOG` overrides the default `info` level.
pub fn init_logging() {
    init_logging_with("info");
}

/// Logs to stderr at `default_level` unless `RUST_LOG` says otherwise (e.g.
/// `RUST_LOG=info,ferrocket::actors::remoting=debug`). Colour codes only go to a terminal:
/// a log file or pipe gets plain text.
pub fn init_logging_with(default_level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Reads a RON config file; `None` gives the defaults.
pub fn load_config<T: DeserializeOwned + Default>(path: Option<&Path>) -> Result<T, AppError> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| AppError::ReadConfig {
        path: path.display().to_string(),
        source,
    })?;
    ron::from_str(&text).map_err(|e| AppError::ParseConfig {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Waits for SIGINT or SIGTERM.
/// Runs a server's future on a new actix system and answers the binary's exit code.
/// Startup can fail after some actors were spawned but before the system ever polled them;
/// dropping the runtime then would start them outside it (actix polls a context one last
/// time on drop), and an actor that sets a timer in `started` panics with "no reactor
/// running". So on failure the system is stopped and run once, letting every actor start
/// and stop inside the runtime, before the error is printed.
pub fn run_system<F>(name: &str, server: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<(), AppError>>,
{
    let system = actix_rt::System::new();
    match system.block_on(server) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            actix_rt::System::current().stop_with_code(1);
            let _ = system.run();
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub async fn shutdown_signal() -> Result<&'static str, AppError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(AppError::Signal)?;
        let mut int = signal(SignalKind::interrupt()).map_err(AppError::Signal)?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(AppError::Signal)?;
        Ok("ctrl-c")
    }
}

/// Starts the metrics endpoint when an address is configured, its console reading the
/// cluster behind `namesrv_addr` (the broker's `namesrvAddr`).
pub fn start_metrics(
    addr: Option<std::net::SocketAddr>,
    registry: &Arc<MetricsRegistry>,
    title: &'static str,
    namesrv_addr: Option<String>,
) -> Result<Option<MetricsEndpoint>, AppError> {
    addr.map(|addr| {
        let console = crate::console::Console::with_namesrv(namesrv_addr);
        MetricsEndpoint::start_with_console(addr, registry.clone(), title, console)
            .map_err(|source| AppError::Metrics { addr, source })
    })
    .transpose()
}

/// Runs a name server until a signal arrives: the body of `mqnamesrv`.
pub async fn run_namesrv(config: NamesrvConfig) -> Result<(), AppError> {
    serve(
        config.metrics_addr,
        "Ferrocket name server",
        Some(config),
        None,
    )
    .await
}

/// Runs a broker until a signal arrives: the body of `mqbroker`.
pub async fn run_broker(config: BrokerConfig) -> Result<(), AppError> {
    serve(config.metrics_addr, "Ferrocket broker", None, Some(config)).await
}

/// Starts the metrics endpoint and the actor trees, waits for SIGINT or SIGTERM, then
/// shuts down: broker first (unregister, flush, checkpoint), then the name server.
async fn serve(
    metrics_addr: Option<std::net::SocketAddr>,
    title: &'static str,
    namesrv: Option<NamesrvConfig>,
    broker: Option<BrokerConfig>,
) -> Result<(), AppError> {
    let registry = MetricsRegistry::new();
    let console_namesrv = broker.as_ref().map(|b| b.namesrv_addr.clone());
    let metrics = start_metrics(metrics_addr, &registry, title, console_namesrv)?;
    let namesrv = match namesrv {
        Some(c) => Some(Namesrv::start(c, registry.clone()).await?),
        None => None,
    };
    let broker: Option<Broker> = match broker {
        Some(c) => Some(
            BrokerBuilder::new(c)
                .registry(registry.clone())
                .start()
                .await?,
        ),
        None => None,
    };
    if let Some(n) = &namesrv {
        tracing::info!(namesrv = %n.local_addr(), "{title}: name server ready");
    }
    if let Some(b) = &broker {
        tracing::info!(broker = %b.broker_addr(), "{title}: broker ready");
    }
    let signal = shutdown_signal().await?;
    tracing::info!(signal, "shutting down");
    if let Some(b) = &broker {
        if let Err(e) = b.shutdown().await {
            tracing::error!(error = %e, "the broker did not shut down cleanly; the next start recovers");
        }
    }
    if let Some(n) = &namesrv {
        n.shutdown().await;
    }
    if let Some(m) = metrics {
        m.stop().await;
    }
    tracing::info!("{title} stopped");
    Ok(())
}

/// `config/standalone.ron`: everything `ferrocket` runs in one process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct StandaloneConfig {
    /// One metrics endpoint for the whole process (the name server's own is not started).
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub namesrv: NamesrvConfig,
    pub broker: BrokerConfig,
}

impl Default for StandaloneConfig {
    fn default() -> Self {
        StandaloneConfig {
            metrics_addr: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 5557))),
            namesrv: NamesrvConfig {
                kv_config_path: "./data/namesrv/kvConfig.json".into(),
                ..NamesrvConfig::default()
            },
            broker: BrokerConfig {
                metrics_addr: None,
                store: crate::store::config::StoreConfig {
                    store_path_root_dir: "./data/store".into(),
                    ..Default::default()
                },
                ..BrokerConfig::default()
            },
        }
    }
}

/// Runs the standalone process until a signal arrives: the body of `ferrocket`.
pub async fn run_standalone(config: StandaloneConfig) -> Result<(), AppError> {
    serve(
        config.metrics_addr,
        "Ferrocket",
        Some(config.namesrv),
        Some(config.broker),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_standalone_config_parses_and_keeps_data_under_dot_data() {
        let cfg: StandaloneConfig =
            ron::from_str(include_str!("../config/standalone.ron")).unwrap();
        cfg.namesrv.validate().unwrap();
        assert!(cfg.namesrv.kv_config_path.starts_with("./data"));
        assert!(cfg.broker.store.store_path_root_dir.starts_with("./data"));
        cfg.broker.validate().unwrap();
        assert_eq!(cfg.metrics_addr.map(|a| a.port()), Some(5557));
        assert_eq!(cfg, StandaloneConfig::default());
    }
}
