use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Adopt an existing database: write its schema to schema.sql and a
    /// baseline revision, and stamp the database at it
    #[arg(long)]
    from_db: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let database = ctx
        .locator
        .database
        .clone()
        .or_else(|| ctx.locator.database_url.clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "app.db".to_string());
    let report = strata::command::init(&ctx.locator, &database, args.from_db)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
    } else {
        for path in &report.created {
            ctx.out.status(format!("  Creating {path} ... done"));
        }
        for path in &report.kept {
            ctx.out.status(format!("  Keeping existing {path}"));
        }
        if let Some(baseline) = &report.baseline {
            ctx.out
                .status(format!("  Generating {} ... done", baseline.up));
            ctx.out
                .status(format!("  Generating {} ... done", baseline.down));
            ctx.out.status(format!(
                "Stamped the database at {} (baseline): it is managed by strata from here.",
                baseline.revision
            ));
            return Ok(ExitCode::SUCCESS);
        }
        ctx.out.status(
            "Declare your tables in schema.sql, then run `strata migrate -m \"...\"` (or write a revision by hand with `strata revision -m \"...\"`).",
        );
    }
    Ok(ExitCode::SUCCESS)
}
