use std::process::ExitCode;

use strata::command::Created;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the merge is for
    #[arg(short, long, default_value = "merge heads")]
    message: String,
    /// The revisions to join (default: every head)
    revisions: Vec<String>,
    /// Use this revision id instead of the current UTC time
    #[arg(long, value_name = "ID")]
    rev_id: Option<String>,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let created = strata::command::merge(
        &project,
        &args.message,
        &args.revisions,
        args.rev_id.as_deref(),
    )?;
    print_created(ctx, &created);
    Ok(ExitCode::SUCCESS)
}

pub fn print_created(ctx: &Ctx, created: &Created) {
    if ctx.out.json() {
        ctx.out.emit_json(created);
        return;
    }
    ctx.out
        .status(format!("  Generating {} ... done", created.up));
    ctx.out
        .status(format!("  Generating {} ... done", created.down));
    ctx.out.data(&created.revision);
}
