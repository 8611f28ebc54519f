use std::process::ExitCode;

use strata::command::Picture;

use crate::output::Format;
use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// The picture language `--format` asks for (`text` draws for a terminal).
pub fn picture(format: Format) -> Picture {
    match format {
        Format::Dot => Picture::Dot,
        Format::Mermaid => Picture::Mermaid,
        Format::Text | Format::Json | Format::Github => Picture::Text,
    }
}

pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let report = strata::command::history(&project, None)?;
    if ctx.out.json() {
        ctx.out.emit_json(&strata::command::graph_document(&report));
        return Ok(ExitCode::SUCCESS);
    }
    if report.revisions.is_empty() {
        ctx.out.status("No revisions yet: nothing to draw.");
    }
    ctx.out.data(strata::command::revision_graph(
        &report,
        picture(ctx.out.format),
    ));
    Ok(ExitCode::SUCCESS)
}
