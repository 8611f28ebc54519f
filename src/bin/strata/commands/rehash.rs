use std::process::ExitCode;
use std::time::Duration;

use strata::runner::Options;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The applied revision whose edited files to accept (id or unique prefix)
    revision: String,
    /// Seconds to wait for another process's lock
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    lock_timeout: u64,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let options = Options {
        lock_timeout: Duration::from_secs(args.lock_timeout),
        ..Options::default()
    };
    let report = strata::command::rehash(&project, &args.revision, &options)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
    } else if report.changed {
        ctx.out.status(format!(
            "Accepted the current files of revision {} in {} (logged as a rehash).",
            report.revision, report.database
        ));
    } else {
        ctx.out.status(format!(
            "Revision {}'s files match what {} recorded: nothing changed.",
            report.revision, report.database
        ));
    }
    Ok(ExitCode::SUCCESS)
}
