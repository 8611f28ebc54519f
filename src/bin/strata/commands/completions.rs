use std::process::ExitCode;

use clap::CommandFactory;

use crate::Ctx;
use strata::error::CommandError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script for `shell` on stdout.
pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if ctx.out.json() {
        return Err(strata::Error::from(CommandError::NotJson {
            what: "`completions`",
            carries: "a file for a shell or man",
            advice: "",
        })
        .into());
    }
    let mut cmd = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "strata", &mut out);
    crate::output::write_stdout(&out);
    Ok(ExitCode::SUCCESS)
}
