use std::process::ExitCode;
use std::time::Duration;

use strata::runner::Options;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// head, base, or a revision id or unique prefix
    revision: String,
    /// Seconds to wait for another process's lock
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    lock_timeout: u64,
    #[command(flatten)]
    fleet: super::fleet::FleetArgs,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if args.fleet.given() {
        let verb = strata::command::FleetVerb::Stamp(args.revision);
        return super::fleet::run(ctx, &args.fleet, verb, args.lock_timeout, false);
    }
    let project = ctx.project()?;
    let options = Options {
        lock_timeout: Duration::from_secs(args.lock_timeout),
        ..Options::default()
    };
    let report = strata::command::stamp(&project, &args.revision, &options)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
    } else if report.changed {
        ctx.out.status(format!(
            "Stamped {} at {} (no scripts were run).",
            report.database, report.target
        ));
    } else {
        ctx.out.status(format!(
            "{} is at {} already: nothing changed.",
            report.database, report.target
        ));
    }
    Ok(ExitCode::SUCCESS)
}
