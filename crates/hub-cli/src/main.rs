//! `hub-cli`: the command-line client for the Hugging Face Hub.
//!
//! It composes the library crates (`hub-url`, `hub-cache`, `hub-api`, `hub-lfs`) and is the
//! only place that prints for a person: results go to stdout, messages and errors to stderr.

// Printing is this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod env;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The command-line client for the Hugging Face Hub: download, cache and publish models,
/// datasets and spaces.
#[derive(Debug, Parser)]
#[command(name = "hub-cli", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the environment (versions, endpoint, cache, token location) for a bug report.
    ///
    /// Whether a token is set is shown; the token itself never is.
    Env,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Env => env::run(),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", format_error(&err));
            ExitCode::FAILURE
        }
    }
}

/// One line: the error and its causes, joined.
fn format_error(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
