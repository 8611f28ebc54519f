use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.reading_database_project()?;
    let ddl = strata::command::dump(&project)?;
    if ctx.out.json() {
        ctx.out.emit_json(&serde_json::json!({ "schema": ddl }));
    } else {
        ctx.out.data(ddl.trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
