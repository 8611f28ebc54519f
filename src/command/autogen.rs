//! Autogenerate and the schema checks: `migrate`, `check`, `diff`, `dump`,
//! `verify` and `init --from-db`.
//!
//! `migrate` never writes a script it has not tried: the up script is run on
//! an empty replica of the database's schema and must give exactly
//! schema.sql; the down script must then give the database's schema back.
//! A planner mistake is an error naming the change, never a wrong script.

use std::collections::BTreeSet;
use std::fs;

use rusqlite::Connection;
use serde::Serialize;

use super::{write_revision, Created};
use crate::config::{display_path, Project};
use crate::diff::{self, Change, Detail};
use crate::history;
use crate::plan::{self, ColumnOrder, Fills, Plan};
use crate::runner;
use crate::schema::inspect::{inspect, replicate};
use crate::schema::load::{check_references, load_into};
use crate::schema::{affinity, Schema};
use crate::script::Migrations;
use crate::sql::quote_ident;
use crate::{db, Error, Result};

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

/// A drop and an add that look like a rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenameSuggestion {
    /// The table (for a column rename), or the old table name.
    pub table: String,
    /// Old and new column names; `None` for a table rename.
    pub column: Option<(String, String)>,
    /// The new table name, for a table rename.
    pub new_table: Option<String>,
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
                super::shell_quote(&format!("{}.{from}", self.table))
            ),
            None => format!("--drop-table {}", super::shell_quote(&self.table)),
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

/// The database's schema, read-only; an empty schema when the file does
/// not exist.
fn live_schema(project: &Project) -> Result<(Option<Connection>, Schema)> {
    let path = project.database()?;
    match db::open_read(path)? {
        Some(conn) => {
            let schema = inspect(&conn)?;
            Ok((Some(conn), schema))
        }
        None => Ok((None, Schema::default())),
    }
}

/// The declared schema from `schema.sql`.
pub fn desired_schema(project: &Project) -> Result<Schema> {
    Ok(load_desired(project)?.1)
}

/// The declared schema, and the in-memory database `schema.sql` was
/// executed in.
fn load_desired(project: &Project) -> Result<(Connection, Schema)> {
    let path = &project.schema;
    let shown = display_path(path);
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            Error::Failed(format!("{shown} is not UTF-8 text"))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Hinted {
                message: format!("{shown} not found"),
                hint: "declare the schema you want there, or start from the database with `strata dump > schema.sql`".into(),
            })
        }
        Err(e) => return Err(Error::io(path)(e)),
    };
    Ok(load_into(scratch_plain(project)?, &text, &shown)?)
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
    let migrations = super::migrations(project)?;
    let graph = &migrations.graph;
    if graph.heads().len() > 1 {
        return Err(Error::Hinted {
            message: format!(
                "the revision graph has several heads ({})",
                graph.heads().join(", ")
            ),
            hint: "join them first with `strata merge -m \"merge heads\"`, then upgrade".into(),
        });
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
        Some(conn) => history::applied_ids(&history::read_applied(conn)?),
        None => BTreeSet::new(),
    };
    let heads: Vec<String> = graph.heads().iter().map(|s| s.to_string()).collect();
    let current: Vec<String> = graph
        .current(&applied)
        .iter()
        .map(|s| s.to_string())
        .collect();
    if current != heads {
        return Err(Error::Hinted {
            message: format!(
                "Target database is not up to date: it is at {}, the head is {}",
                super::revs_or_base(&current),
                super::revs_or_base(&heads)
            ),
            hint: "run `strata upgrade` first, so the new revision starts from the head".into(),
        });
    }
    drop(conn);
    let (desired_conn, desired) = desired_result
        .map_err(|_| Error::Failed("loading schema.sql failed unexpectedly".into()))??;

    if desired.tables.is_empty()
        && desired.objects.is_empty()
        && !(live.tables.is_empty() && live.objects.is_empty())
    {
        return Err(Error::Hinted {
            message: format!(
                "{} declares nothing, so this revision would drop every table of the database",
                display_path(&project.schema)
            ),
            hint: "if the file was emptied by mistake, restore it; to really drop everything, write the revision by hand: `strata revision -m \"drop everything\"`".into(),
        });
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
                super::shell_quote(&request.message),
                flags.join(" ")
            )
        };
        let questions: Vec<String> = undecided.iter().map(RenameSuggestion::question).collect();
        return Err(Error::Hinted {
            message: format!(
                "{} A rename keeps the data; a drop loses it. Nothing was written",
                questions.join(" ")
            ),
            hint: format!(
                "keep the data: `{}`; or, if it really is a drop: `{}`",
                again(undecided.iter().map(RenameSuggestion::flag).collect()),
                again(undecided.iter().map(RenameSuggestion::drop_flag).collect())
            ),
        });
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
            return Err(Error::Usage(format!(
                "--fill {table}.{column}: this revision adds no column '{column}' to an existing table '{table}', in either direction"
            )));
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
        _ => Err(Error::Usage(format!(
            "--rename-table takes OLD=NEW, not '{text}'"
        ))),
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
    parsed.ok_or_else(|| Error::Usage(format!("--rename takes TABLE.OLD=NEW, not '{text}'")))
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
            return Err(Error::Usage(format!(
                "--rename-table {old}={new}: the database has no table '{old}'"
            )));
        };
        if live.table(new).is_some() && !new.eq_ignore_ascii_case(old) {
            return Err(Error::Usage(format!(
                "--rename-table {old}={new}: the database already has a table '{new}'"
            )));
        }
        let sql = format!(
            "ALTER TABLE {} RENAME TO {}",
            quote_ident(&table.name),
            quote_ident(new)
        );
        conn.execute_batch(&sql)
            .map_err(|e| Error::Failed(format!("--rename-table {old}={new}: {e}")))?;
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
            return Err(Error::Usage(format!(
                "{flag}: the database has no table '{table}'"
            )));
        };
        let Some(col) = t.column(old) else {
            return Err(Error::Usage(format!(
                "{flag}: table '{}' has no column '{old}'",
                t.name
            )));
        };
        if t.column(new).is_some() && !new.eq_ignore_ascii_case(old) {
            return Err(Error::Usage(format!(
                "{flag}: table '{}' already has a column '{new}'",
                t.name
            )));
        }
        let sql = format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            quote_ident(&t.name),
            quote_ident(&col.name),
            quote_ident(new)
        );
        conn.execute_batch(&sql)
            .map_err(|e| Error::Failed(format!("{flag}: {e}")))?;
        changes.push(Change::RenameColumn {
            table: t.name.clone(),
            from: col.name.clone(),
            to: new.clone(),
        });
    }
    Ok((inspect(&conn)?, changes))
}

/// Drop + add pairs that look like renames: in one table, a removed column
/// and an added one of the same type affinity; or a removed table and an
/// added one with the same column names.
fn suggest_renames(changes: &[Change]) -> Vec<RenameSuggestion> {
    let mut out = Vec::new();
    for change in changes {
        if let Change::AlterTable { from, to, details } = change {
            let added: Vec<&String> = details
                .iter()
                .filter_map(|d| match d {
                    Detail::AddColumn(c) => Some(c),
                    _ => None,
                })
                .collect();
            let mut taken = BTreeSet::new();
            for d in details {
                let Detail::DropColumn(old) = d else { continue };
                let Some(old_col) = from.column(old) else {
                    continue;
                };
                let partner = added.iter().find(|new| {
                    !taken.contains(*new)
                        && to
                            .column(new)
                            .is_some_and(|c| affinity(&c.decl_type) == affinity(&old_col.decl_type))
                });
                if let Some(new) = partner {
                    taken.insert(*new);
                    out.push(RenameSuggestion {
                        table: to.name.clone(),
                        column: Some((old_col.name.clone(), (*new).clone())),
                        new_table: None,
                    });
                }
            }
        }
    }
    let columns_of = |t: &crate::schema::Table| -> BTreeSet<String> {
        t.columns.iter().map(|c| c.name.to_lowercase()).collect()
    };
    // A removed table and an added one sharing at least half their columns:
    // the added table most like it.
    for change in changes {
        let Change::DropTable(old) = change else {
            continue;
        };
        let old_cols = columns_of(old);
        let best = changes
            .iter()
            .filter_map(|c| match c {
                Change::AddTable(new) => {
                    let new_cols = columns_of(new);
                    // At least half the columns of the larger of the two:
                    // one shared `id` of six is not a rename.
                    let shared = old_cols.intersection(&new_cols).count();
                    let needed = old_cols.len().max(new_cols.len()).div_ceil(2).max(1);
                    (shared >= needed).then_some((shared, new))
                }
                _ => None,
            })
            .max_by_key(|(shared, _)| *shared);
        if let Some((_, new)) = best {
            out.push(RenameSuggestion {
                table: old.name.clone(),
                column: None,
                new_table: Some(new.name.clone()),
            });
        }
    }
    out
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
    let refusal = format!(
        "cannot add NOT NULL column '{table}.{column}' without a default: existing rows would have no value for it"
    );
    let rename = renames.iter().find(|s| {
        s.table.eq_ignore_ascii_case(table)
            && s.column
                .as_ref()
                .is_some_and(|(_, new)| new.eq_ignore_ascii_case(column))
    });
    let again = |flag: &str| format!("strata migrate -m {} {flag}", super::shell_quote(message));
    let hint = match rename {
        Some(s) => format!("if it is a rename, say so: `{}`", again(&s.flag())),
        None => format!(
            "give it a DEFAULT in schema.sql, add it nullable and make it NOT NULL once filled, or give existing rows a value now: `{}` (any SQL expression over the table's columns)",
            again(&format!("--fill {}", super::shell_double_quote(&format!("{table}.{column}=VALUE"))))
        ),
    };
    Err(Error::Hinted {
        message: refusal,
        hint,
    })
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
            return Err(Error::Usage(format!(
                "--fill takes TABLE.COLUMN=SQL, not '{text}'"
            )));
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
    up_result.map_err(|_| Error::Failed("trying the upgrade failed unexpectedly".into()))??;
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
    let bug = |what: &str, detail: String| {
        Error::Failed(format!(
            "strata could not plan this change correctly ({what}: {detail}); nothing was written. Please report this as a bug in strata"
        ))
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

/// An empty in-memory database with foreign keys off, as the runner runs
/// scripts: where plans and revisions are tried.
fn scratch(project: &Project) -> Result<Connection> {
    let conn = scratch_plain(project)?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(Error::sqlite("preparing a scratch database"))?;
    Ok(conn)
}

/// An empty in-memory database that knows the application's functions
/// and collations (stand-ins, `db::register_app_sql`), SQLite's defaults
/// otherwise: where schema.sql is loaded.
fn scratch_plain(project: &Project) -> Result<Connection> {
    let conn = Connection::open_in_memory().map_err(Error::sqlite("opening a scratch database"))?;
    db::register_app_sql(&conn, &project.app_sql)?;
    Ok(conn)
}

/// The live database, read-only; an error with a hint when it does not
/// exist.
fn existing_database(project: &Project) -> Result<(Connection, &std::path::Path)> {
    let path = project.database()?;
    match db::open_read(path)? {
        Some(conn) => Ok((conn, path)),
        None => Err(Error::Hinted {
            message: format!("database {} does not exist", display_path(path)),
            hint: "`strata upgrade` creates it".into(),
        }),
    }
}

/// An in-memory database holding the schema the revisions in `upto`
/// produce, run in graph order (with foreign keys off, like the runner).
fn replay(
    project: &Project,
    migrations: &Migrations,
    upto: &BTreeSet<String>,
) -> Result<Connection> {
    let conn = scratch(project)?;
    for rev in migrations.in_order().filter(|r| upto.contains(&r.id)) {
        runner::execute_script(&conn, &rev.up, rev.up.transactional)?;
    }
    Ok(conn)
}

/// A unified diff of two schemas' normalized DDL.
fn unified(a: &Schema, b: &Schema, a_name: &str, b_name: &str) -> String {
    let (a, b) = (a.dump(), b.dump());
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(a_name, b_name)
        .to_string()
}

/// One thing `check` found wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
    /// A unified diff, where one explains the problem.
    pub diff: Option<String>,
}

/// What `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub revisions: usize,
    pub problems: Vec<Problem>,
}

/// `strata check`, for CI: one head; the revisions, applied to an empty
/// database, give schema.sql; no applied revision's file changed.
pub fn check(project: &Project) -> Result<CheckReport> {
    let migrations = super::migrations(project)?;
    let graph = &migrations.graph;
    let mut problems = Vec::new();
    if graph.heads().len() > 1 {
        problems.push(Problem {
            message: format!(
                "the revision graph has {} heads: {}",
                graph.heads().len(),
                graph.heads().join(", ")
            ),
            hint: Some("join them with `strata merge -m \"merge heads\"`".into()),
            diff: None,
        });
    }
    let desired = desired_schema(project)?;
    let all: BTreeSet<String> = migrations.in_order().map(|r| r.id.clone()).collect();
    match replay(project, &migrations, &all) {
        Err(e) => problems.push(Problem {
            message: format!("the revisions do not apply to an empty database: {e}"),
            hint: None,
            diff: None,
        }),
        Ok(conn) => {
            let built = inspect(&conn)?;
            let changes = diff::diff(&built, &desired);
            if !changes.is_empty() {
                let lines: Vec<String> = changes.iter().flat_map(Change::describe).collect();
                problems.push(Problem {
                    message: format!(
                        "schema.sql differs from what the revisions build: {}",
                        lines.join("; ")
                    ),
                    hint: Some(
                        "run `strata migrate -m \"…\"` to write a revision for the difference"
                            .into(),
                    ),
                    diff: Some(unified(&built, &desired, "revisions", "schema.sql")),
                });
            }
        }
    }
    if let Ok(path) = project.database() {
        if let Some(conn) = db::open_read(path)? {
            for row in history::read_applied(&conn)? {
                match migrations.get(&row.revision) {
                    None => problems.push(Problem {
                        message: format!(
                            "revision {} is applied to the database but its files are missing",
                            row.revision
                        ),
                        hint: Some("restore the files from version control".into()),
                        diff: None,
                    }),
                    Some(rev)
                        if rev.up.sha256 != row.up_sha256 || rev.down.sha256 != row.down_sha256 =>
                    {
                        let file = if rev.up.sha256 != row.up_sha256 {
                            &rev.up
                        } else {
                            &rev.down
                        };
                        problems.push(Problem {
                            message: format!(
                                "{} was modified after revision {} was applied",
                                file.display, row.revision
                            ),
                            hint: Some(format!(
                                "restore the file; write a new revision for a new change; if the edit is intended, accept it with `strata rehash {}`",
                                row.revision
                            )),
                            diff: None,
                        });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(CheckReport {
        revisions: all.len(),
        problems,
    })
}

/// What `diff` compares the database against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    /// schema.sql.
    Schema,
    /// What the applied revisions should have built.
    Head,
}

/// What `diff` found.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub against: Against,
    pub database: String,
    /// The changes that would take the database to the other side.
    pub changes: Vec<String>,
    pub unified: String,
}

/// `strata diff`: drift between the live database and schema.sql (or what
/// its applied revisions should have built). Read-only. Column order counts
/// only with `column_order`: `ADD COLUMN` appends, so a column schema.sql
/// lists in the middle is at the end of the live table.
pub fn drift(project: &Project, against: Against, column_order: bool) -> Result<DiffReport> {
    let (conn, path) = existing_database(project)?;
    let live = inspect(&conn)?;
    let (other, name) = match against {
        Against::Schema => (desired_schema(project)?, "schema.sql".to_string()),
        Against::Head => {
            let migrations = super::migrations(project)?;
            let applied = history::applied_ids(&history::read_applied(&conn)?);
            migrations.graph.check_applied(&applied)?;
            let built = replay(project, &migrations, &applied)?;
            (inspect(&built)?, "revisions".to_string())
        }
    };
    let mut changes: Vec<String> = diff::describe_all(&diff::diff(&live, &other));
    if column_order {
        changes.extend(diff::column_order(&live, &other));
    }
    Ok(DiffReport {
        against,
        database: display_path(path),
        unified: if changes.is_empty() {
            String::new()
        } else {
            unified(&live, &other, "database", &name)
        },
        changes,
    })
}

/// The schema of schema.sql, or with `live` of the live database (read-only):
/// what `erd` draws.
pub fn schema_of(project: &Project, live: bool) -> Result<Schema> {
    if live {
        let (conn, _) = existing_database(project)?;
        Ok(inspect(&conn)?)
    } else {
        desired_schema(project)
    }
}

/// `strata dump`: the live database's schema as normalized DDL.
pub fn dump(project: &Project) -> Result<String> {
    let (conn, _) = existing_database(project)?;
    Ok(inspect(&conn)?.dump())
}

/// One revision's verdict in `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyRow {
    pub revision: String,
    pub message: String,
    /// `ok`, or what went wrong.
    pub result: String,
    pub ok: bool,
    /// Tables that were empty when the revision ran (no made-up row fits
    /// them, or its up stops on made-up rows and was checked without them).
    pub empty_tables: Vec<String>,
}

/// `strata verify`: in a scratch database, every revision in order runs up,
/// down, up; down must restore exactly the schema before it (column order
/// included), and the second up must give what the first gave.
///
/// Before each revision every empty table gets made-up rows that fit its
/// types and rules ([`super::synth`]), so a down that can only run on empty
/// tables fails here, not in production. An up that stops on those rows
/// (a precheck the made-up values break) is run again on empty tables: that
/// is a fact about the values, not about the revision.
pub fn verify(project: &Project) -> Result<Vec<VerifyRow>> {
    verify_with(project, &mut |_, _, _| {})
}

/// [`verify`], telling `on_revision` (index, count, message) as each
/// revision starts: for a progress bar.
pub fn verify_with(
    project: &Project,
    on_revision: &mut dyn FnMut(usize, usize, &str),
) -> Result<Vec<VerifyRow>> {
    let migrations = super::migrations(project)?;
    let conn = scratch(project)?;
    let mut rows = Vec::new();
    let mut failed = false;
    let count = migrations.graph.len();
    for (index, rev) in migrations.in_order().enumerate() {
        on_revision(index, count, &rev.message);
        let mut row = VerifyRow {
            revision: rev.id.clone(),
            message: rev.message.clone(),
            result: "ok".into(),
            ok: true,
            empty_tables: Vec::new(),
        };
        if failed {
            row.result = "not run: an earlier revision failed".into();
            row.ok = false;
            rows.push(row);
            continue;
        }
        let outcome = (|| -> Result<Option<String>> {
            row.empty_tables = super::synth::fill_empty_tables(&conn)?;
            let before = inspect(&conn)?;
            if let Err(e) = attempt(&conn, &rev.up) {
                if e.kind() != crate::error::ErrorKind::PrecheckFailed {
                    return Err(e);
                }
                // The made-up rows break a rule this up adds: check the
                // revision's scripts on empty tables instead.
                empty_all_tables(&conn, &before)?;
                row.empty_tables = before.tables.iter().map(|t| t.name.clone()).collect();
                attempt(&conn, &rev.up)?;
            }
            let after = inspect(&conn)?;
            if let Err(e) = attempt(&conn, &rev.down) {
                return Ok(Some(format!("down fails on tables holding rows: {e}")));
            }
            let back = inspect(&conn)?;
            let left = exact_differences(&back, &before);
            if !left.is_empty() {
                return Ok(Some(format!(
                    "down does not restore the schema before up; still needed: {}",
                    left.join("; ")
                )));
            }
            attempt(&conn, &rev.up)?;
            let again = exact_differences(&inspect(&conn)?, &after);
            if !again.is_empty() {
                return Ok(Some(format!(
                    "up after down gives a different schema: {}",
                    again.join("; ")
                )));
            }
            Ok(None)
        })();
        match outcome {
            Ok(None) => {}
            Ok(Some(problem)) => {
                row.result = problem;
                row.ok = false;
            }
            Err(e) => {
                row.result = e.to_string();
                row.ok = false;
            }
        }
        failed |= !row.ok;
        rows.push(row);
    }
    Ok(rows)
}

/// Runs one script on the scratch database as the runner would: a
/// transactional script in one transaction, rolled back if it fails.
fn attempt(conn: &Connection, file: &crate::script::ScriptFile) -> Result<()> {
    if !file.transactional {
        return runner::execute_script(conn, file, false);
    }
    conn.execute_batch("BEGIN").map_err(Error::sqlite(
        "starting a transaction in a scratch database",
    ))?;
    match runner::execute_script(conn, file, true) {
        Ok(()) => conn
            .execute_batch("COMMIT")
            .map_err(Error::sqlite("committing in a scratch database")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Deletes every row of every table of `schema` in the scratch database.
fn empty_all_tables(conn: &Connection, schema: &Schema) -> Result<()> {
    for table in &schema.tables {
        conn.execute_batch(&format!("DELETE FROM {}", quote_ident(&table.name)))
            .map_err(Error::sqlite("emptying a scratch database"))?;
    }
    Ok(())
}

/// Every difference between `a` and `b`, column order included: what a
/// down must undo to restore a schema exactly.
fn exact_differences(a: &Schema, b: &Schema) -> Vec<String> {
    let mut lines: Vec<String> = diff::diff(a, b).iter().flat_map(Change::describe).collect();
    lines.extend(diff::column_order(a, b));
    lines
}

/// The baseline revision's scripts for an existing schema: create it all;
/// drop it all.
pub fn baseline(schema: &Schema) -> (String, String) {
    let empty = Schema::default();
    let changes = diff::diff(&empty, schema);
    let up = plan::plan(&changes, &empty, ColumnOrder::Exact);
    let down = plan::plan(&diff::reverse(&changes), schema, ColumnOrder::Exact);
    (up.render(), down.render())
}
