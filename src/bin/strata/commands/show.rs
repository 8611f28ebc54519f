use std::process::ExitCode;

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A revision id or unique prefix (default: head)
    revision: Option<String>,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let report = strata::command::show(&project, args.revision.as_deref())?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let head = if report.is_head { " (head)" } else { "" };
    ctx.out.data(format!(
        "Revision: {}{head}\nParent:   {}\nMessage:  {}\nCreated:  {}\n\n== {} (sha256 {})\n{}\n== {} (sha256 {})\n{}",
        report.revision,
        super::revs_or_base(&report.parents),
        report.message,
        report.created,
        report.up_file,
        report.up_sha256,
        report.up.trim_end(),
        report.down_file,
        report.down_sha256,
        report.down.trim_end(),
    ));
    Ok(ExitCode::SUCCESS)
}
