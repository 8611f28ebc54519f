use std::process::ExitCode;

use clap::CommandFactory;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script for `shell` on stdout.
pub fn exec(args: Args, _ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "strata", &mut out);
    crate::output::write_stdout(&out);
    Ok(ExitCode::SUCCESS)
}
