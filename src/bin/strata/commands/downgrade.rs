use std::process::ExitCode;

use strata::graph::Direction;

use super::upgrade::RunArgs;
use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// -N, a revision id or unique prefix, or base; with --sql also a range
    /// FROM:TO (head:base)
    #[arg(default_value = "-1", allow_negative_numbers = true)]
    target: String,
    #[command(flatten)]
    run: RunArgs,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    super::upgrade::run(ctx, Direction::Downgrade, args.target, args.run)
}
