//! `mqbroker`: the RocketMQ-compatible broker.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ferrocket::actors::broker::BrokerConfig;
use ferrocket::app;

#[derive(Parser)]
#[command(
    name = "mqbroker",
    version,
    about = "Ferrocket broker (RocketMQ compatible)"
)]
struct Args {
    /// RON config file (see config/broker.ron).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Name server address(es), `host:port;host:port`, overriding the file.
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv: Option<String>,
    /// Print the effective configuration and the built-in plug-ins, and exit.
    #[arg(short = 'p', long = "print-config")]
    print_config: bool,
}

fn main() -> ExitCode {
    app::init_logging();
    let args = Args::parse();
    let mut config: BrokerConfig = match app::load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqbroker: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(n) = args.namesrv {
        config.namesrv_addr = n;
    }
    if args.print_config {
        println!(
            "{}",
            ron::ser::to_string_pretty(&config, Default::default()).unwrap_or_default()
        );
        // RON comments, so the output still parses as a config file.
        println!(
            "// built-in plug-ins (enable with plugins: [(name: \"NAME\", config: {{...}})]):"
        );
        for (name, what) in ferrocket::actors::broker::plugins::builtin::AVAILABLE {
            println!("//   {name}: {what}");
        }
        return ExitCode::SUCCESS;
    }
    app::run_system("mqbroker", app::run_broker(config))
}
