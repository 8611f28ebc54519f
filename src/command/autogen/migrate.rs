//! `strata migrate`: autogenerate a revision from schema.sql and the database.

use std::collections::BTreeSet;

use rusqlite::Connection;
use serde::Serialize;

use super::{live_schema, load_desired, scratch};
use crate::command::{write_revision, Created};
use crate::config::{display_path, Project};
use crate::diff::{self, suggest_renames, Change, Detail, RenameSuggestion};
use crate::error::CommandError;
use crate::history;
use crate::plan::{self, ColumnOrder, Fills, Plan};
use crate::schema::inspect::{inspect, replicate};
use crate::schema::load::check_references;
use crate::schema::Schema;
use crate::sql::quote_ident;
use crate::{Error, Result};

/// What `migrate` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct MigrateRequest {
    pub message: String,
    /// `TABLE.OLD=NEW`.
    pub renames: Vec<String>,
    /// `OLD=NEW`.
    pub table_renames: Vec<String>,
    pub allow_empty: bool,
    pub rev_id: Option<String>,
    /// `TABLE.COLUMN=SQL`: the value an added column gets in existing rows.
    pub fills: Vec<String>,
    /// `TABLE.COLUMN`: a removed column that really is dropped, not renamed.
    pub drops: Vec<String>,
    /// `TABLE`: a removed table that really is dropped, not renamed.
    pub drop_tables: Vec<String>,
}

impl RenameSuggestion {
    /// The flag that asks for this rename.
    pub fn flag(&self) -> String {
        match (&self.column, &self.new_table) {
            (Some((from, to)), _) => format!("--rename {}.{from}={to}", self.table),
            (None, Some(to)) => format!("--rename-table {}={to}", self.table),
            _ => String::new(),
        }
    }

    /// The flag that says it really is a drop.
    pub fn drop_flag(&self) -> String {
        match &self.column {
            Some((from, _)) => format!(
                "--drop {}",
                crate::command::shell_quote(&format!("{}.{from}", self.table))
            ),
            None => format!("--drop-table {}", crate::command::shell_quote(&self.table)),
        }
    }

    /// The question asked on a terminal.
    pub fn question(&self) -> String {
        match (&self.column, &self.new_table) {
            (Some((from, to)), _) => format!(
                "Column '{t}.{from}' was removed and '{t}.{to}' added. Is it a rename?",
                t = self.table
            ),
            (None, Some(to)) => format!(
                "Table '{}' was removed and '{to}' added with similar columns. Is it a rename?",
                self.table
            ),
            _ => String::new(),
        }
    }
}

/// What `migrate` found and wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MigrateReport {
    /// `added table 'post'`, … (printed as `Detected …`).
    pub detected: Vec<String>,
    /// Steps that lose data.
    pub destructive: Vec<String>,
    /// Rules the up script checks against existing rows first.
    pub prechecks: Vec<String>,
    /// Renames that were suggested and not taken.
    pub suggestions: Vec<String>,
    /// Why the downgrade cannot run once tables hold rows.
    pub irreversible: Vec<String>,
    /// The `--fill` values that would make the downgrade reversible.
    pub fill: Vec<String>,
    /// The revision written, if any.
    pub created: Option<Created>,
}

/// `strata migrate`: diff schema.sql against the database at head and
/// write the revision. `confirm` is asked about drop + add pairs that look
/// like renames: `Some(true)` plans a rename, `Some(false)` a drop and an
/// add, `None` (no one to ask) writes nothing and says which flags decide.
pub fn migrate(
    project: &Project,
    request: &MigrateRequest,
    confirm: &mut dyn FnMut(&RenameSuggestion) -> Option<bool>,
) -> Result<MigrateReport> {
    crate::script::validate_message(&request.message)?;
    if let Some(id) = &request.rev_id {
        crate::script::validate_id(id)?;
    }
    let migrations = crate::command::migrations(project)?;
    let graph = &migrations.graph;
    if graph.heads().len() > 1 {
        return Err(CommandError::SeveralHeads {
            heads: graph.heads().iter().map(|h| h.to_string()).collect(),
        }
        .into());
    }
    // schema.sql is executed while the database is read and its schema
    // copied into the scratch database the upgrade will be tried on: two
    // cores, independent SQLite connections.
    let (live_result, desired_result) = std::thread::scope(|s| {
        let desired = s.spawn(|| load_desired(project));
        let live = live_schema(project).and_then(|(conn, schema)| {
            let replica = scratch(project)?;
            replicate(&replica, &schema).map_err(Error::sqlite("copying the schema"))?;
            Ok((conn, schema, replica))
        });
        (live, desired.join())
    });
    let (conn, live, replica) = live_result?;
    let applied = match &conn {
        Some(conn) => history::applied_ids(&migrations.normalize(history::read_applied(conn)?)),
        None => BTreeSet::new(),
    };
    let heads: Vec<String> = graph.heads().iter().map(|s| s.to_string()).collect();
    let current: Vec<String> = graph
        .current(&applied)
        .iter()
        .map(|s| s.to_string())
        .collect();
    if current != heads {
        return Err(CommandError::NotUpToDate {
            current: crate::command::revs_or_base(&current),
            head: crate::command::revs_or_base(&heads),
        }
        .into());
    }
    drop(conn);
    let (desired_conn, desired) =
        desired_result.map_err(|_| CommandError::Crashed("loading schema.sql"))??;

    if desired.tables.is_empty()
        && desired.objects.is_empty()
        && !(live.tables.is_empty() && live.objects.is_empty())
    {
        return Err(CommandError::EmptySchema {
            file: display_path(&project.schema),
        }
        .into());
    }
    let mut table_renames = request
        .table_renames
        .iter()
        .map(|r| parse_table_rename(r))
        .collect::<Result<Vec<_>>>()?;
    let mut column_renames = request
        .renames
        .iter()
        .map(|r| parse_column_rename(r))
        .collect::<Result<Vec<_>>>()?;
    let mut declined: Vec<RenameSuggestion> = Vec::new();
    let mut undecided: Vec<RenameSuggestion> = Vec::new();
    let (renamed, renames, changes) = loop {
        let (renamed, renames) = apply_renames(project, &live, &table_renames, &column_renames)?;
        let changes = diff::diff(&renamed, &desired);
        let fresh = suggest_renames(&changes)
            .into_iter()
            .find(|s| !declined.contains(s));
        let Some(s) = fresh else {
            break (renamed, renames, changes);
        };
        // `--drop` / `--drop-table` answered before anyone asked.
        let dropped = match (&s.column, &s.new_table) {
            (Some((from, _)), _) => request.drops.iter().any(|d| {
                d.rsplit_once('.').is_some_and(|(t, c)| {
                    t.eq_ignore_ascii_case(&s.table) && c.eq_ignore_ascii_case(from)
                })
            }),
            (None, _) => request
                .drop_tables
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&s.table)),
        };
        let answer = if dropped { Some(false) } else { confirm(&s) };
        match answer {
            Some(true) => match (&s.column, &s.new_table) {
                (Some((from, to)), _) => {
                    column_renames.push((s.table.clone(), from.clone(), to.clone()))
                }
                (None, Some(to)) => table_renames.push((s.table.clone(), to.clone())),
                _ => {}
            },
            Some(false) => declined.push(s),
            None => {
                undecided.push(s.clone());
                declined.push(s);
            }
        }
    };
    // A likely rename is never written as a drop unless someone said so.
    if !undecided.is_empty() {
        let again = |flags: Vec<String>| {
            format!(
                "strata migrate -m {} {}",
                crate::command::shell_quote(&request.message),
                flags.join(" ")
            )
        };
        let questions: Vec<String> = undecided.iter().map(RenameSuggestion::question).collect();
        return Err(CommandError::UndecidedRenames {
            questions,
            keep: again(undecided.iter().map(RenameSuggestion::flag).collect()),
            drop: again(undecided.iter().map(RenameSuggestion::drop_flag).collect()),
        }
        .into());
    }
    let mut report = MigrateReport {
        suggestions: declined
            .iter()
            .map(|s| format!("{} Answered: a drop (`{}`).", s.question(), s.drop_flag()))
            .collect(),
        ..MigrateReport::default()
    };

    let fills = parse_fills(&request.fills)?;
    refuse_not_null_without_default(&changes, &declined, &fills, &request.message)?;
    let mut all = renames;
    all.extend(changes);
    let down_changes = diff::reverse(&all);
    // Every --fill names a column this revision adds, up or down.
    for (table, column) in fills.keys() {
        let adds = |list: &[Change]| {
            list.iter().any(|c| matches!(c, Change::AlterTable { to, details, .. }
                if to.name.eq_ignore_ascii_case(table)
                    && details.iter().any(|d| matches!(d, Detail::AddColumn(n) if n.eq_ignore_ascii_case(column)))))
        };
        if !adds(&all) && !adds(&down_changes) {
            return Err(CommandError::FillNoColumn {
                table: table.clone(),
                column: column.clone(),
            }
            .into());
        }
    }
    report.irreversible = unfillable_columns(&down_changes, &fills)
        .into_iter()
        .map(|(table, column)| {
            format!("the downgrade re-adds NOT NULL column '{table}.{column}' with no default: it cannot run once '{table}' holds rows")
        })
        .collect();
    report.fill = unfillable_columns(&down_changes, &fills)
        .into_iter()
        .map(|(table, column)| format!("{table}.{column}=VALUE"))
        .collect();
    report.detected = diff::describe_all(&all);
    if all.is_empty() && !request.allow_empty {
        return Ok(report);
    }
    for change in &all {
        match change {
            Change::DropTable(t) => report
                .destructive
                .push(format!("dropping table '{}' deletes its rows", t.name)),
            Change::DropObject(o) if o.kind == crate::schema::ObjectKind::VirtualTable => {
                let recreated = all.iter().any(|c| matches!(c, Change::AddObject(n) if n.kind == o.kind && n.name.eq_ignore_ascii_case(&o.name)));
                let vt = crate::schema::VirtualTable::parse(&o.sql);
                let lost = vt.as_ref().is_some_and(|v| {
                    v.content.as_deref() == Some("") || (v.own_content() && !recreated)
                });
                if lost {
                    report.destructive.push(format!(
                        "dropping virtual table '{}' deletes what it holds",
                        o.name
                    ));
                }
            }
            Change::AddObject(o)
                if renamed.table(&o.table).is_some()
                    && plan::unique_index_violations(o).is_some() =>
            {
                report.prechecks.push(format!(
                    "added unique index '{}' on '{}' over its rows",
                    o.name, o.table
                ))
            }
            Change::AlterTable { to, details, .. } => {
                for d in details {
                    if d.is_destructive() {
                        report.destructive.push(d.describe(&to.name));
                    }
                    if d.is_data_dependent() {
                        report.prechecks.push(d.describe(&to.name));
                    }
                }
            }
            _ => {}
        }
    }
    let up = plan::plan_with(&all, &renamed, ColumnOrder::Append, &fills);
    let down = plan::plan_with(&down_changes, &desired, ColumnOrder::Exact, &fills);
    try_plans(&live, replica, &desired, desired_conn, &up, &down)?;
    let body = |plan: &Plan, what: &str| {
        if plan.steps.is_empty() {
            format!("-- No schema changes: {what}.\n")
        } else {
            plan.render()
        }
    };
    let parents = heads;
    report.created = Some(write_revision(
        &migrations,
        request.rev_id.as_deref(),
        parents,
        &request.message,
        &body(&up, "write the upgrade here if it moves data"),
        &body(&down, "write the downgrade here"),
    )?);
    Ok(report)
}

fn parse_table_rename(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((old, new)) if !old.trim().is_empty() && !new.trim().is_empty() => {
            Ok((old.trim().to_string(), new.trim().to_string()))
        }
        _ => Err(CommandError::BadFlagValue {
            flag: "--rename-table",
            expected: "OLD=NEW",
            given: text.to_string(),
        }
        .into()),
    }
}

fn parse_column_rename(text: &str) -> Result<(String, String, String)> {
    let parsed = text.split_once('=').and_then(|(lhs, new)| {
        let (table, old) = lhs.rsplit_once('.')?;
        let parts = [table.trim(), old.trim(), new.trim()];
        (!parts.iter().any(|p| p.is_empty())).then(|| {
            (
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
            )
        })
    });
    parsed.ok_or_else(|| {
        CommandError::BadFlagValue {
            flag: "--rename",
            expected: "TABLE.OLD=NEW",
            given: text.to_string(),
        }
        .into()
    })
}

/// The live schema with the requested renames applied by SQLite itself
/// (which rewrites every reference), and the rename changes.
fn apply_renames(
    project: &Project,
    live: &Schema,
    tables: &[(String, String)],
    columns: &[(String, String, String)],
) -> Result<(Schema, Vec<Change>)> {
    if tables.is_empty() && columns.is_empty() {
        return Ok((live.clone(), Vec::new()));
    }
    let conn = scratch(project)?;
    replicate(&conn, live).map_err(Error::sqlite("copying the schema"))?;
    let mut changes = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for (old, new) in tables {
        let Some(table) = live.table(old) else {
            return Err(CommandError::RenameNoTable {
                flag: format!("--rename-table {old}={new}"),
                table: old.clone(),
            }
            .into());
        };
        if live.table(new).is_some() && !new.eq_ignore_ascii_case(old) {
            return Err(CommandError::RenameTableExists {
                flag: format!("--rename-table {old}={new}"),
                table: new.clone(),
            }
            .into());
        }
        let sql = format!(
            "ALTER TABLE {} RENAME TO {}",
            quote_ident(&table.name),
            quote_ident(new)
        );
        conn.execute_batch(&sql)
            .map_err(|e| CommandError::RenameFailed {
                flag: format!("--rename-table {old}={new}"),
                message: e.to_string(),
            })?;
        names.push((table.name.to_lowercase(), new.clone()));
        changes.push(Change::RenameTable {
            from: table.name.clone(),
            to: new.clone(),
        });
    }
    let after_tables = inspect(&conn)?;
    for (table, old, new) in columns {
        let current = names
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(table))
            .map_or(table.as_str(), |(_, to)| to.as_str());
        let flag = format!("--rename {table}.{old}={new}");
        let Some(t) = after_tables.table(current) else {
            return Err(CommandError::RenameNoTable {
                flag,
                table: table.clone(),
            }
            .into());
        };
        let Some(col) = t.column(old) else {
            return Err(CommandError::RenameNoColumn {
                flag,
                table: t.name.clone(),
                column: old.clone(),
            }
            .into());
        };
        if t.column(new).is_some() && !new.eq_ignore_ascii_case(old) {
            return Err(CommandError::RenameColumnExists {
                flag,
                table: t.name.clone(),
                column: new.clone(),
            }
            .into());
        }
        let sql = format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            quote_ident(&t.name),
            quote_ident(&col.name),
            quote_ident(new)
        );
        conn.execute_batch(&sql)
            .map_err(|e| CommandError::RenameFailed {
                flag: flag.clone(),
                message: e.to_string(),
            })?;
        changes.push(Change::RenameColumn {
            table: t.name.clone(),
            from: col.name.clone(),
            to: new.clone(),
        });
    }
    Ok((inspect(&conn)?, changes))
}

/// Columns a change list adds that existing rows cannot be given a value
/// for: NOT NULL with no default (and no `--fill`). In the up list they are
/// refused; in the down list they make the revision irreversible once the
/// table holds rows.
fn unfillable_columns<'a>(changes: &'a [Change], fills: &Fills) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for change in changes {
        let Change::AlterTable { to, details, .. } = change else {
            continue;
        };
        for d in details {
            let Detail::AddColumn(name) = d else { continue };
            let Some(col) = to.column(name) else { continue };
            let no_default = col
                .default
                .as_deref()
                .is_none_or(|d| d.eq_ignore_ascii_case("null"));
            let filled = fills.contains_key(&(to.name.to_lowercase(), col.name.to_lowercase()));
            if col.not_null && no_default && !col.is_generated() && !filled {
                out.push((to.name.as_str(), col.name.as_str()));
            }
        }
    }
    out
}

/// docs/design.md §4: a NOT NULL column with no default cannot be added to a table
/// that may hold rows, unless `--fill` gives its value.
fn refuse_not_null_without_default(
    changes: &[Change],
    renames: &[RenameSuggestion],
    fills: &Fills,
    message: &str,
) -> Result<()> {
    let Some(&(table, column)) = unfillable_columns(changes, fills).first() else {
        return Ok(());
    };
    let rename = renames.iter().find(|s| {
        s.table.eq_ignore_ascii_case(table)
            && s.column
                .as_ref()
                .is_some_and(|(_, new)| new.eq_ignore_ascii_case(column))
    });
    let again = |flag: &str| {
        format!(
            "strata migrate -m {} {flag}",
            crate::command::shell_quote(message)
        )
    };
    let hint = match rename {
        Some(s) => format!("if it is a rename, say so: `{}`", again(&s.flag())),
        None => format!(
            "give it a DEFAULT in schema.sql, add it nullable and make it NOT NULL once filled, or give existing rows a value now: `{}` (any SQL expression over the table's columns)",
            again(&format!("--fill {}", crate::command::shell_double_quote(&format!("{table}.{column}=VALUE"))))
        ),
    };
    Err(CommandError::NotNullWithoutDefault {
        table: table.to_string(),
        column: column.to_string(),
        hint,
    }
    .into())
}

/// Parses `--fill TABLE.COLUMN=SQL` values.
fn parse_fills(texts: &[String]) -> Result<Fills> {
    let mut fills = Fills::new();
    for text in texts {
        let parsed = text.split_once('=').and_then(|(lhs, expr)| {
            let (table, column) = lhs.rsplit_once('.')?;
            let parts = [table.trim(), column.trim(), expr.trim()];
            (!parts.iter().any(|p| p.is_empty())).then_some(parts)
        });
        let Some([table, column, expr]) = parsed else {
            return Err(CommandError::BadFlagValue {
                flag: "--fill",
                expected: "TABLE.COLUMN=SQL",
                given: text.clone(),
            }
            .into());
        };
        fills.insert(
            (table.to_lowercase(), column.to_lowercase()),
            expr.to_string(),
        );
    }
    Ok(fills)
}

/// Tries both plans before anything is written, each on an empty schema:
/// up on `replica` (which holds `live`) must give `desired`; down on
/// `desired_conn` (which holds `desired`) must give `live` back; every view
/// and trigger must resolve after each. The two run in parallel.
fn try_plans(
    live: &Schema,
    replica: Connection,
    desired: &Schema,
    desired_conn: Connection,
    up: &Plan,
    down: &Plan,
) -> Result<()> {
    let (up_result, down_result) = std::thread::scope(|s| {
        let up_result =
            s.spawn(move || try_plan(&replica, up, desired, "upgrade", ColumnOrder::Append));
        let down_result = try_plan(&desired_conn, down, live, "downgrade", ColumnOrder::Exact);
        (up_result.join(), down_result)
    });
    up_result.map_err(|_| CommandError::Crashed("trying the upgrade"))??;
    down_result
}

/// Runs `plan` on `conn` (foreign keys off, like the runner) and checks it
/// gives `target`.
fn try_plan(
    conn: &Connection,
    plan: &Plan,
    target: &Schema,
    what: &str,
    order: ColumnOrder,
) -> Result<()> {
    let bug = |what: &str, detail: String| -> Error {
        CommandError::PlannerBug {
            what: what.to_string(),
            detail,
        }
        .into()
    };
    // The connection schema.sql was loaded in has foreign keys on; the
    // runner runs scripts with them off.
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(Error::sqlite("preparing a scratch database"))?;
    // One transaction, as the runner does it.
    conn.execute_batch(&format!("BEGIN;\n{}\nCOMMIT;", plan.render()))
        .map_err(|e| bug(&format!("the {what} script fails"), e.to_string()))?;
    check_references(conn).map_err(|m| bug(&format!("after the {what}"), m))?;
    let got = inspect(conn)?;
    let mut lines: Vec<String> = diff::diff(&got, target)
        .iter()
        .flat_map(Change::describe)
        .collect();
    if order == ColumnOrder::Exact {
        lines.extend(diff::column_order(&got, target));
    }
    if !lines.is_empty() {
        return Err(bug(
            &format!("the {what} script leaves differences"),
            lines.join("; "),
        ));
    }
    Ok(())
}
