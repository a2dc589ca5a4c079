//! `minhbach`: the command-line tool for officials and donors.

use std::process::ExitCode;

use clap::Parser as _;
use minhbach_cli::app::{Cli, Refused, run};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minhbach: {e:#}");
            if e.chain().any(|c| c.is::<Refused>()) {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
