//! The `askdesk` binary: parse the command line, set up logging, run, and print errors as one line.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASKDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(askdesk::logging::MaskedStderr)
        .init();
    askdesk::llm::install_tls_provider();
    let cli = askdesk::cli::Cli::parse();
    match askdesk::cli::run(cli) {
        Ok(status) => std::process::ExitCode::from(status),
        Err(e) => {
            eprintln!("error: {e:#}");
            let unusable_input = e.downcast_ref::<askdesk::cli::InputError>().is_some();
            std::process::ExitCode::from(if unusable_input { 2 } else { 1 })
        }
    }
}
