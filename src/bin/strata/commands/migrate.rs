use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use strata::command::{MigrateRequest, RenameSuggestion};

use crate::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the revision does; also names its files
    #[arg(short, long)]
    message: String,
    /// A column rename, TABLE.OLD=NEW (kept as a rename, never drop + add);
    /// repeatable
    #[arg(long = "rename", value_name = "TABLE.OLD=NEW")]
    renames: Vec<String>,
    /// A table rename, OLD=NEW; repeatable
    #[arg(long = "rename-table", value_name = "OLD=NEW")]
    table_renames: Vec<String>,
    /// Write a revision even when nothing changed
    #[arg(long)]
    allow_empty: bool,
    /// Use this revision id instead of the current UTC time
    #[arg(long, value_name = "ID")]
    rev_id: Option<String>,
    /// The value an added column gets in rows that exist, as an SQL
    /// expression over the table's columns (TABLE.COLUMN=SQL): how a NOT
    /// NULL column with no default is added, in the upgrade or the
    /// downgrade; repeatable
    #[arg(long = "fill", value_name = "TABLE.COLUMN=SQL")]
    fills: Vec<String>,
}

/// Asks on the terminal whether a drop + add is a rename; never when stdin
/// or stderr is not a terminal (CI, pipes), where the answer is no.
fn ask(s: &RenameSuggestion) -> bool {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{} [y/N] ", s.question());
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let request = MigrateRequest {
        message: args.message,
        renames: args.renames,
        table_renames: args.table_renames,
        allow_empty: args.allow_empty,
        rev_id: args.rev_id,
        fills: args.fills,
    };
    let report = strata::command::migrate(&project, &request, &mut ask)?;
    if ctx.out.json() {
        ctx.out.emit_json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    for line in &report.detected {
        ctx.out.status(format!("Detected {line}"));
    }
    for line in &report.destructive {
        ctx.out.warn(format!("destructive: {line}"));
    }
    for line in &report.prechecks {
        ctx.out.status(format!(
            "Data-dependent: {line}; the upgrade checks existing rows first and stops if any break it"
        ));
    }
    for line in &report.suggestions {
        ctx.out.warn(line);
    }
    match &report.created {
        None => ctx.out.status("No changes in schema detected."),
        Some(created) => {
            ctx.out
                .status(format!("  Generating {} ... done", created.up));
            ctx.out
                .status(format!("  Generating {} ... done", created.down));
            for line in &report.irreversible {
                ctx.out.warn(line);
            }
            if !report.fill.is_empty() {
                let fills: Vec<String> = report
                    .fill
                    .iter()
                    .map(|f| format!("--fill {}", strata::command::shell_double_quote(f)))
                    .collect();
                ctx.out.hint(format!(
                    "to make it reversible, give those rows a value and write the revision again: `rm {} {} && strata migrate -m {} {}`",
                    shell_word(&created.up),
                    shell_word(&created.down),
                    shell_word(&created.message),
                    fills.join(" ")
                ));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One shell word, as hints print it.
fn shell_word(text: &str) -> String {
    strata::command::shell_quote(text)
}
