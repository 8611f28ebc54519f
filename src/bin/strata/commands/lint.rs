use std::process::ExitCode;

use strata::command::{Finding, Level, LintRequest, RULES};

use crate::output::Format;
use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lint only what is new since this revision or git ref (origin/main):
    /// revisions that are not its ancestors, or whose files it lacks
    #[arg(long, value_name = "REV|GITREF")]
    since: Option<String>,
    /// List the rules, their codes and levels, and lint nothing
    #[arg(long)]
    rules: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if args.rules {
        if ctx.out.json() {
            ctx.out.emit_json(&serde_json::json!({ "rules": RULES }));
        } else {
            for rule in RULES {
                ctx.out.data(format!(
                    "{} {:<28} {:<7} {}",
                    rule.code,
                    rule.name,
                    level(rule.level),
                    rule.summary
                ));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let project = ctx.reading_project()?;
    let report = strata::command::lint(&project, &LintRequest { since: args.since })?;
    let code = if report.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    match ctx.out.format {
        Format::Json => {
            ctx.out.emit_json(&report);
            return Ok(code);
        }
        Format::Github => {
            for f in &report.findings {
                ctx.out.data(annotation(f));
            }
        }
        _ => {
            for f in &report.findings {
                let (label, hint) = match &f.accepted {
                    Some(reason) => ("accepted", format!("  reason: {reason}")),
                    None => (level(f.level), format!("  hint: {}", f.hint)),
                };
                ctx.out.data(format!(
                    "{}:{}: {label}[{} {}]: {}\n{hint}",
                    f.file, f.line, f.code, f.name, f.message
                ));
            }
        }
    }
    let summary = format!(
        "lint: {} revision(s), {} error(s), {} warning(s), {} accepted",
        report.revisions.len(),
        report.errors,
        report.warnings,
        report.accepted
    );
    if report.errors > 0 {
        ctx.out.error(&summary, None);
    } else {
        ctx.out.status(summary);
    }
    Ok(code)
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

/// A GitHub Actions workflow command: an annotation on the file and line
/// (docs.github.com: "Workflow commands for GitHub Actions").
fn annotation(f: &Finding) -> String {
    let kind = match (&f.accepted, f.level) {
        (Some(_), _) => "notice",
        (None, Level::Error) => "error",
        (None, Level::Warning) => "warning",
    };
    let after = match &f.accepted {
        Some(reason) => format!("accepted: {reason}"),
        None => format!("hint: {}", f.hint),
    };
    format!(
        "::{kind} file={},line={},title={}::{}",
        property(&f.file),
        f.line,
        property(&format!("strata {} {}", f.code, f.name)),
        data(&format!("{}\n{after}", f.message))
    )
}

fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_github_reads_as_syntax() {
        let f = Finding {
            code: "S102",
            name: "drop-column",
            level: Level::Error,
            revision: "1".into(),
            file: "migrations/1_a,b.up.sql".into(),
            line: 7,
            message: "drops column 'a.b' (100%)".into(),
            hint: "x".into(),
            accepted: None,
        };
        assert_eq!(
            annotation(&f),
            "::error file=migrations/1_a%2Cb.up.sql,line=7,title=strata S102 drop-column::drops column 'a.b' (100%25)%0Ahint: x"
        );
    }
}
