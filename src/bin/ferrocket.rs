//! `ferrocket`: the embedded default. Runs the name server and the broker in one process
//! from config/standalone.ron, with data under ./data.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ferrocket::app::{self, StandaloneConfig};

#[derive(Parser)]
#[command(
    name = "ferrocket",
    version,
    about = "Ferrocket: RocketMQ-compatible name server and broker in one process"
)]
struct Args {
    /// RON config file; without it, config/standalone.ron when present, else the defaults.
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    app::init_logging();
    let args = Args::parse();
    let path = args.config.or_else(|| {
        let default = PathBuf::from("config/standalone.ron");
        default.exists().then_some(default)
    });
    let config: StandaloneConfig = match app::load_config(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrocket: {e}");
            return ExitCode::from(2);
        }
    };
    app::run_system("ferrocket", app::run_standalone(config))
}
