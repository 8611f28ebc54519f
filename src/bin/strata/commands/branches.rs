use std::process::ExitCode;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let points = strata::command::branches(&project)?;
    if ctx.out.json() {
        ctx.out
            .emit_json(&serde_json::json!({ "branches": points }));
        return Ok(ExitCode::SUCCESS);
    }
    if points.is_empty() {
        ctx.out
            .status("No branch points: the revision graph is a single line.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Builder::default();
    table.push_record(["branch point", "message", "branches"]);
    for point in &points {
        let children: Vec<String> = point
            .children
            .iter()
            .map(|c| {
                let head = if c.is_head { " (head)" } else { "" };
                format!("{}{head}, {}", c.revision, c.message)
            })
            .collect();
        table.push_record([
            point.revision.clone(),
            point.message.clone(),
            children.join("\n"),
        ]);
    }
    ctx.out.data(table.build().with(Style::psql()).to_string());
    Ok(ExitCode::SUCCESS)
}
