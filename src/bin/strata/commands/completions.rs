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
pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if ctx.out.json() {
        return Err(strata::Error::Usage(format!(
            "`{}` prints a file for a shell or man, which --format json cannot carry",
            "completions"
        ))
        .into());
    }
    let mut cmd = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "strata", &mut out);
    crate::output::write_stdout(&out);
    Ok(ExitCode::SUCCESS)
}
