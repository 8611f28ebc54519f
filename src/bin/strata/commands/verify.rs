use std::process::ExitCode;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let mut bar = crate::output::Progress::none();
    let rows = strata::command::verify_with(&project, &mut |index, count, message| {
        if index == 0 {
            bar = ctx.out.bar(count as u64, "revisions verified");
        }
        bar.set(index as u64, message.to_string());
    })?;
    drop(bar);
    let ok = rows.iter().all(|r| r.ok);
    let code = if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if ctx.out.json() {
        ctx.out
            .emit_json(&serde_json::json!({ "ok": ok, "revisions": rows }));
        return Ok(code);
    }
    if rows.is_empty() {
        ctx.out.status("No revisions to verify.");
        return Ok(code);
    }
    let mut table = Builder::default();
    table.push_record(["revision", "message", "up, down, up"]);
    for row in &rows {
        table.push_record([
            row.revision.clone(),
            row.message.clone(),
            row.result.clone(),
        ]);
    }
    ctx.out.data(table.build().with(Style::psql()).to_string());
    if ok {
        ctx.out.status(format!(
            "OK: every revision's down script restores the schema before it ({} revision(s)).",
            rows.len()
        ));
    } else {
        let failed = rows.iter().filter(|r| !r.ok).count();
        ctx.out.error(
            &format!("{failed} revision(s) failed verification"),
            Some("fix the down script so it undoes its up script exactly"),
        );
    }
    Ok(code)
}
