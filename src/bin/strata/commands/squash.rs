use std::process::ExitCode;

use strata::command::{DataChoice, SquashRequest};

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The last revision to squash: base..REV becomes one revision
    #[arg(long, value_name = "REV")]
    to: Option<String>,
    /// The squash's message (default: "squash base..REV")
    #[arg(short, long)]
    message: Option<String>,
    /// Use this revision id instead of the current UTC time
    #[arg(long, value_name = "ID")]
    rev_id: Option<String>,
    /// Revisions in the range that change data: keep their statements (after
    /// the schema) or drop them
    #[arg(long, value_name = "keep|drop", value_parser = ["keep", "drop"])]
    data: Option<String>,
    /// Remove migrations/squashed once no database is part-way through it
    #[arg(long)]
    prune: bool,
    /// Also check these databases before pruning (repeatable; strata.toml's
    /// [fleet] and the project's database are always checked)
    #[arg(long, value_name = "GLOB")]
    each: Vec<String>,
    /// Say what would be written, moved and pruned; change nothing
    #[arg(long)]
    dry_run: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.reading_project()?;
    let request = SquashRequest {
        to: args.to,
        message: args.message,
        rev_id: args.rev_id,
        data: args.data.as_deref().map(|d| match d {
            "keep" => DataChoice::Keep,
            _ => DataChoice::Drop,
        }),
        prune: args.prune,
        each: args.each,
        dry_run: args.dry_run,
    };
    let report = strata::command::squash(&project, &request)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    if !report.replaces.is_empty() {
        let first = &report.replaces[0];
        let last = &report.replaces[report.replaces.len() - 1];
        match &report.squash {
            Some(created) => {
                ctx.out.status(format!(
                    "Squashed {} revision(s), {first}..{last}, into {}",
                    report.replaces.len(),
                    created.revision
                ));
                ctx.out
                    .status(format!("  Generating {} ... done", created.up));
                ctx.out
                    .status(format!("  Generating {} ... done", created.down));
                ctx.out.status(format!(
                    "  Moved their {} files to {}/",
                    report.replaces.len() * 2,
                    report.moved_to
                ));
            }
            None => ctx.out.status(format!(
                "Would squash {} revision(s), {first}..{last}, into one, and move their files to {}/",
                report.replaces.len(),
                report.moved_to
            )),
        }
        for step in &report.data_steps {
            let fate = match report.data {
                Some(DataChoice::Keep) => "kept",
                _ => "dropped",
            };
            ctx.out.status(format!(
                "  data step {fate}: {}:{}: {}",
                step.file,
                step.line,
                one_line(&step.statement)
            ));
        }
    }
    for db in &report.databases {
        let says = match db.state {
            "base" => "at base: will upgrade through the squash",
            "squashed" => "past the squashed range: nothing to run for it",
            "part-way" => "part-way: `strata upgrade` takes it through the squashed files",
            _ => "not managed by strata",
        };
        ctx.out.status(format!("  {}: {says}", db.database));
    }
    if !report.pruned.is_empty() {
        let verb = if report.dry_run {
            "Would remove"
        } else {
            "Removed"
        };
        ctx.out.status(format!(
            "{verb} {} squashed file(s) from {}/ (no database checked is part-way through them)",
            report.pruned.len(),
            report.moved_to
        ));
    }
    if report.dry_run {
        ctx.out
            .status("Dry run: nothing was written, moved or removed.");
    }
    if let Some(created) = &report.squash {
        ctx.out.data(&created.revision);
    }
    Ok(ExitCode::SUCCESS)
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line
    }
}
