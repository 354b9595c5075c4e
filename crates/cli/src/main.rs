//! `ml-ids`: argument parsing and wiring only; the work happens in the library crates.

mod cmd;
mod progress;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// Machine-learning network intrusion detection: captures → CICFlowMeter flows → classifiers → alerts.
#[derive(Parser)]
#[command(name = "ml-ids", version, propagate_version = true, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 success; 1 failure (bad input, I/O error — partial results are kept and the \
                          error names the file and offset); 2 invalid command line.";

#[derive(Subcommand)]
enum Command {
    Extract(cmd::extract::ExtractArgs),
    /// Import CIC flow CSVs into Parquet datasets, split them, show their cards.
    #[command(subcommand)]
    Dataset(cmd::dataset::DatasetCommand),
    Train(cmd::train::TrainArgs),
    Evaluate(cmd::evaluate::EvaluateArgs),
    Compare(cmd::compare::CompareArgs),
    Detect(cmd::detect::DetectArgs),
    Serve(cmd::serve::ServeArgs),
    Sensor(cmd::sensor::SensorArgs),
    Worker(cmd::worker::WorkerArgs),
    Watch(cmd::watch::WatchArgs),
    #[command(subcommand)]
    Testbed(cmd::testbed::TestbedCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:
  ml-ids completions bash | sudo tee /etc/bash_completion.d/ml-ids
  ml-ids completions zsh > \"${fpath[1]}/_ml-ids\"
  ml-ids completions fish > ~/.config/fish/completions/ml-ids.fish")]
    Completions {
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    // LightGBM's OpenMP threads must not busy-wait between calls on shared cores (training,
    // evaluation); set before any thread starts, once for every command.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        std::env::set_var("OMP_WAIT_POLICY", "PASSIVE");
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Extract(args) => cmd::extract::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Sensor(args) => cmd::sensor::run(args),
        Command::Worker(args) => cmd::worker::run(args),
        Command::Watch(args) => cmd::watch::run(args),
        Command::Testbed(c) => cmd::testbed::run(c),
        Command::Dataset(c) => cmd::dataset::run(c),
        Command::Train(args) => cmd::train::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Detect(args) => cmd::detect::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ml-ids", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`ml-ids extract x.pcap | head`): not an error, and
        // nothing more to say (as ripgrep does).
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ml-ids: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
