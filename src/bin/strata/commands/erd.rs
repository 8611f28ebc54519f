use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Draw the live database's schema instead of schema.sql's
    #[arg(long)]
    live: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = if args.live {
        ctx.reading_database_project()?
    } else {
        crate::Reading::from(ctx.project()?)
    };
    let schema = strata::command::schema_of(&project, args.live)?;
    if ctx.out.json() {
        ctx.out.emit_json(&serde_json::json!({
            "tables": schema.tables.iter().map(|t| serde_json::json!({
                "name": t.name,
                "columns": t.columns.iter().map(|c| serde_json::json!({
                    "name": c.name, "type": c.decl_type, "primary_key": c.pk > 0, "not_null": c.not_null,
                })).collect::<Vec<_>>(),
                "foreign_keys": t.foreign_keys,
            })).collect::<Vec<_>>(),
            "views": schema.objects.iter().filter(|o| o.kind == strata::schema::ObjectKind::View).map(|o| &o.name).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    ctx.out.data(strata::command::erd(
        &schema,
        super::graph::picture(ctx.out.format),
    ));
    Ok(ExitCode::SUCCESS)
}
