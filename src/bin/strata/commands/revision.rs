use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the revision does; also names its files
    #[arg(short, long)]
    message: String,
    /// Use this revision id instead of the current UTC time
    #[arg(long, value_name = "ID")]
    rev_id: Option<String>,
    /// Build on this revision instead of the single head
    #[arg(long, value_name = "REV")]
    head: Option<String>,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let created = strata::command::revision(
        &project,
        &args.message,
        args.rev_id.as_deref(),
        args.head.as_deref(),
    )?;
    super::merge::print_created(ctx, &created);
    Ok(ExitCode::SUCCESS)
}
