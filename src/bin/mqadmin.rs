//! `mqadmin`: RocketMQ's admin tool (see `ferrocket::admin`). Exit status: 0 on success,
//! 1 when the command failed (unreachable name server or broker, refusal, unknown topic),
//! 2 on a usage error.

use std::process::ExitCode;

use clap::Parser;
use ferrocket::admin::{run, Cli};

fn main() -> ExitCode {
    ferrocket::app::init_logging_with("warn");
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqadmin: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(out) => match out.write_to(&mut std::io::stdout().lock(), json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
        Err(e) => {
            if json {
                println!("{:#}", serde_json::json!({ "error": e.to_string() }));
            }
            eprintln!("mqadmin: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
