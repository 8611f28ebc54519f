use std::process::ExitCode;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let heads = strata::command::heads(&project)?;
    if ctx.out.json() {
        ctx.out.emit_json(&serde_json::json!({ "heads": heads }));
        return Ok(ExitCode::SUCCESS);
    }
    if heads.is_empty() {
        ctx.out.status("No revisions yet.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Builder::default();
    table.push_record(["head", "parent", "message"]);
    for head in &heads {
        table.push_record([
            head.revision.clone(),
            super::revs_or_base(&head.parents),
            head.message.clone(),
        ]);
    }
    ctx.out.data(table.build().with(Style::psql()).to_string());
    if heads.len() > 1 {
        ctx.out.warn(format!(
            "{} heads: join them with `strata merge -m \"merge heads\"` before upgrading",
            heads.len()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
