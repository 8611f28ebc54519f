use std::process::ExitCode;

use strata::command::Against;

use crate::Ctx;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AgainstArg {
    /// schema.sql
    Schema,
    /// what the database's applied revisions should have built
    Head,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to compare the live database with
    #[arg(long, value_enum, default_value = "schema")]
    against: AgainstArg,
    /// Count a different column order as a difference (ADD COLUMN appends,
    /// so a column schema.sql lists in the middle ends up last)
    #[arg(long)]
    column_order: bool,
    #[command(flatten)]
    fleet: super::fleet::FleetArgs,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let against = match args.against {
        AgainstArg::Schema => Against::Schema,
        AgainstArg::Head => Against::Head,
    };
    if args.fleet.given() {
        let verb = strata::command::FleetVerb::Drift {
            against,
            column_order: args.column_order,
        };
        return super::fleet::run(ctx, &args.fleet, verb, 10, false);
    }
    let project = ctx.reading_project()?;
    let report = strata::command::drift(&project, against, args.column_order)?;
    let code = if report.changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(code);
    }
    if report.changes.is_empty() {
        let other = match against {
            Against::Schema => "schema.sql",
            Against::Head => "its applied revisions",
        };
        ctx.out.status(format!(
            "No differences: {} matches {other}.",
            report.database
        ));
    } else {
        ctx.out.data(report.unified.trim_end());
        for line in &report.changes {
            ctx.out.status(format!("Detected {line}"));
        }
    }
    Ok(code)
}
