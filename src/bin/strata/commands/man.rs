use std::process::ExitCode;

use clap::CommandFactory;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints strata's man page (roff) on stdout.
pub fn exec(_args: Args, _ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::Cli::command()).render(&mut out)?;
    crate::output::write_stdout(&out);
    Ok(ExitCode::SUCCESS)
}
