use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    fleet: super::fleet::FleetArgs,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if args.fleet.given() {
        return super::fleet::run(
            ctx,
            &args.fleet,
            strata::command::FleetVerb::Current,
            10,
            false,
        );
    }
    let project = ctx.project()?;
    let report = strata::command::current(&project)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    if report.current.is_empty() {
        let why = if report.database_exists {
            "no revision applied".to_string()
        } else {
            format!("database {} does not exist yet", report.database)
        };
        ctx.out.data(format!("base ({why})"));
    }
    for rev in &report.current {
        let mut line = rev.revision.clone();
        if rev.is_head {
            line.push_str(" (head)");
        }
        if ctx.out.verbose > 0 {
            line.push_str(&format!(", {}", rev.message));
            if let Some(at) = &rev.applied_at {
                line.push_str(&format!(", applied {at}"));
            }
        }
        ctx.out.data(line);
    }
    if report.pending > 0 {
        ctx.out.status(format!(
            "{} revision(s) pending: run `strata upgrade`",
            report.pending
        ));
    }
    Ok(ExitCode::SUCCESS)
}
