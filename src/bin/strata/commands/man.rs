use std::process::ExitCode;

use clap::CommandFactory;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints strata's man page (roff) on stdout.
pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if ctx.out.json() {
        return Err(strata::Error::Usage(format!(
            "`{}` prints a file for a shell or man, which --format json cannot carry",
            "man"
        ))
        .into());
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::Cli::command()).render(&mut out)?;
    crate::output::write_stdout(&out);
    Ok(ExitCode::SUCCESS)
}
