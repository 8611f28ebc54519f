use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use strata::command::MigrateRequest;
use strata::diff::RenameSuggestion;

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
    /// A removed column that really is dropped, not renamed (TABLE.COLUMN);
    /// repeatable
    #[arg(long = "drop", value_name = "TABLE.COLUMN")]
    drops: Vec<String>,
    /// A removed table that really is dropped, not renamed; repeatable
    #[arg(long = "drop-table", value_name = "TABLE")]
    drop_tables: Vec<String>,
}

/// Asks on the terminal whether a drop + add is really a drop; never when
/// stdin or stderr is not a terminal (CI, pipes): then no one decides, and
/// `migrate` writes nothing. The default answer keeps the data.
fn ask(s: &RenameSuggestion) -> Option<bool> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let what = match (&s.column, &s.new_table) {
        (Some((from, to)), _) => format!(
            "Column '{t}.{from}' was removed and '{t}.{to}' added. Drop '{from}' and its data instead of renaming it?",
            t = s.table
        ),
        (None, Some(to)) => format!(
            "Table '{}' was removed and '{to}' added with similar columns. Drop '{}' and its rows instead of renaming it?",
            s.table, s.table
        ),
        _ => return None,
    };
    let mut err = std::io::stderr();
    let _ = write!(err, "{what} [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return None;
    }
    // Yes means drop; anything else (Enter included) keeps the data.
    Some(!matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let project = ctx.reading_project()?;
    let request = MigrateRequest {
        message: args.message,
        renames: args.renames,
        table_renames: args.table_renames,
        allow_empty: args.allow_empty,
        rev_id: args.rev_id,
        fills: args.fills,
        drops: args.drops,
        drop_tables: args.drop_tables,
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
