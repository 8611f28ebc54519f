use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.reading_project()?;
    let report = strata::command::check(&project)?;
    let code = if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(code);
    }
    for problem in &report.problems {
        if let Some(diff) = &problem.diff {
            ctx.out.data(diff.trim_end());
        }
        ctx.out.error(&problem.message, problem.hint.as_deref());
    }
    if report.problems.is_empty() {
        ctx.out.status(format!(
            "OK: one head, {} revision(s) build schema.sql exactly, and no applied revision changed.",
            report.revisions
        ));
    }
    Ok(code)
}
