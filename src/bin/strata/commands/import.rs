use std::path::PathBuf;
use std::process::ExitCode;

use strata::command::{ImportRequest, Peer};

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tool whose history to bring: refinery, sqlx, goose, dbmate, diesel or flask-migrate
    #[arg(long, value_name = "TOOL")]
    from: String,
    /// The tool's migrations directory, when it is not where the tool keeps it
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print what would be written and recorded; change nothing
    #[arg(long)]
    dry_run: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let from: Peer = args.from.parse().map_err(strata::Error::from)?;
    let request = ImportRequest {
        from,
        dir: args.dir,
        dry_run: args.dry_run,
    };
    let report = strata::command::import(&ctx.locator, &request)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let would = if report.dry_run {
        "Would write"
    } else {
        "Writing"
    };
    for path in &report.created {
        ctx.out.status(format!("  {would} {path}"));
    }
    for r in &report.revisions {
        let state = if r.applied { "applied" } else { "pending" };
        let down = match r.down {
            "tool" => format!("{}'s down", report.tool),
            "generated" => "generated down".to_string(),
            _ => "baseline".to_string(),
        };
        let verb = if r.present { "Keeping" } else { would };
        ctx.out.status(format!(
            "  {verb} revision {} ({}) from {} [{state}, {down}]",
            r.revision, r.message, r.source
        ));
    }
    let at = if report.current.is_empty() {
        "base".to_string()
    } else {
        report.current.join(", ")
    };
    let message = match (report.dry_run, report.adopted) {
        (true, _) => format!("Dry run: nothing was written. {} would be at {at} in strata_history; {} stays as it is.", report.database, report.table),
        (false, true) => format!("Recorded {} at {at} in strata_history; {} is left as it was. Next: `strata verify`, then `strata upgrade` / `strata migrate` from here.", report.database, report.table),
        (false, false) => format!("{} was already recorded at {at}; nothing changed in the database.", report.database),
    };
    ctx.out.status(message);
    Ok(ExitCode::SUCCESS)
}
