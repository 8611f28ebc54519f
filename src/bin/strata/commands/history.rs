use std::process::ExitCode;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only revisions in FROM:TO (revision ids, base or head; either side may be empty)
    #[arg(short = 'r', long = "rev-range", value_name = "FROM:TO")]
    range: Option<String>,
    /// Draw the revision graph, as `git log --graph` draws branches
    #[arg(long)]
    graph: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let report = strata::command::history(&project, args.range.as_deref())?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    if args.graph {
        ctx.out.data(strata::command::revision_graph(
            &report,
            strata::command::Picture::Text,
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if report.revisions.is_empty() {
        ctx.out
            .status("No revisions yet: write one with `strata revision -m \"...\"`.");
        return Ok(ExitCode::SUCCESS);
    }
    let verbose = ctx.out.verbose > 0;
    let mut table = Builder::default();
    let mut header = vec!["revision", "parent", "message", "created", "state"];
    if verbose {
        header.extend(["applied at", "up script"]);
    }
    table.push_record(header);
    for entry in &report.revisions {
        let mut marks = Vec::new();
        if entry.is_head {
            marks.push("head");
        }
        if entry.is_current {
            marks.push("current");
        }
        let revision = if marks.is_empty() {
            entry.revision.clone()
        } else {
            format!("{} ({})", entry.revision, marks.join(", "))
        };
        let state = match (entry.state, &entry.applied_at) {
            (None, _) => "-".to_string(),
            (Some(state), Some(at)) if !verbose && state != strata::command::State::Pending => {
                format!("{} {at}", state.as_str())
            }
            (Some(state), _) => state.as_str().to_string(),
        };
        let mut row = vec![
            revision,
            super::revs_or_base(&entry.parents),
            entry.message.clone(),
            entry.created.clone(),
            state,
        ];
        if verbose {
            row.push(entry.applied_at.clone().unwrap_or_default());
            row.push(entry.up.clone().unwrap_or_default());
        }
        table.push_record(row);
    }
    ctx.out.data(table.build().with(Style::psql()).to_string());
    match (&report.database, report.database_exists) {
        (None, _) => ctx.out.status("(no database configured: states not shown)"),
        (Some(db), false) => ctx.out.status(format!(
            "(database {db} does not exist yet: every revision is pending)"
        )),
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}
