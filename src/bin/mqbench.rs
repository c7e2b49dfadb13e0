//! `mqbench`: load generator for RocketMQ-compatible brokers (see `ferrocket::bench`).
//! Exit status: 0 when the run had no failures, 1 otherwise.

use std::process::ExitCode;

use clap::Parser;
use ferrocket::bench::{consume, produce, Cli, Command};

fn main() -> ExitCode {
    ferrocket::app::init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqbench: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let ok = runtime.block_on(async {
        match cli.command {
            Command::Produce(args) => produce::run(args).await.errors() == 0,
            Command::Consume(args) => match consume::run(args).await {
                Ok(_) => true,
                Err(e) => {
                    eprintln!("mqbench: the consumer did not start: {e}");
                    false
                }
            },
        }
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
