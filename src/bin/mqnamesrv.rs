//! `mqnamesrv`: the RocketMQ-compatible name server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ferrocket::actors::namesrv::NamesrvConfig;
use ferrocket::app;

#[derive(Parser)]
#[command(
    name = "mqnamesrv",
    version,
    about = "Ferrocket name server (RocketMQ compatible)"
)]
struct Args {
    /// RON config file (see config/namesrv.ron).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Listen address, overriding the file (e.g. 127.0.0.1:9876).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Metrics endpoint address, overriding the file.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "print-config")]
    print_config: bool,
}

fn main() -> ExitCode {
    app::init_logging();
    let args = Args::parse();
    let mut config: NamesrvConfig = match app::load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqnamesrv: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(listen) = args.listen {
        config.listen_addr = listen;
    }
    if let Some(metrics) = args.metrics {
        config.metrics_addr = Some(metrics);
    }
    if args.print_config {
        println!(
            "{}",
            ron::ser::to_string_pretty(&config, Default::default()).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    app::run_system("mqnamesrv", app::run_namesrv(config))
}
