use std::process::ExitCode;

use clap::CommandFactory;

use crate::Ctx;
use strata::error::CommandError;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints strata's man page (roff) on stdout.
pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if ctx.out.json() {
        return Err(strata::Error::from(CommandError::NotJson {
            what: "`man`",
            carries: "a file for a shell or man",
            advice: "",
        })
        .into());
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::Cli::command()).render(&mut out)?;
    crate::output::write_stdout(&out);
    Ok(ExitCode::SUCCESS)
}
