//! `strata squash --to REV`: one revision standing for base..REV
//! (design.md §10, `script/squash.rs` for how databases see it).
//!
//! Nothing is written untried. The range is replayed in a scratch
//! database; the squash's up must rebuild exactly that schema (column order
//! included) and, with `--data keep`, exactly those rows; its down must
//! leave nothing. Only then are its files written and the replaced files
//! moved to `migrations/squashed/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::Serialize;

use crate::config::{display_path, Project};
use crate::error::CommandError;
use crate::history;
use crate::runner;
use crate::schema::inspect::inspect;
use crate::script::{format_time, Migrations, NewRevision, Revision, ScriptFile, SQUASHED_DIR};
use crate::sql::split::split;
use crate::sql::tokenize;
use crate::{Error, Result};

use super::autogen::{baseline, exact_differences, inspect_project, replay, scratch};

/// What to do with the statements of revisions that change data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataChoice {
    /// Run them, in order, after the schema.
    Keep,
    /// Leave them out.
    Drop,
}

/// `strata squash`'s request.
#[derive(Debug, Clone, Default)]
pub struct SquashRequest {
    /// The last revision of the range (`None`: only `--prune`).
    pub to: Option<String>,
    pub message: Option<String>,
    pub rev_id: Option<String>,
    pub data: Option<DataChoice>,
    /// Remove the squashed folder, once no database needs it.
    pub prune: bool,
    /// More databases to check before pruning (globs).
    pub each: Vec<String>,
    /// Report only; write and move nothing.
    pub dry_run: bool,
}

/// A statement of a revision in the range that changes data.
#[derive(Debug, Clone, Serialize)]
pub struct DataStep {
    pub revision: String,
    pub file: String,
    pub line: usize,
    pub statement: String,
}

/// Where a database stands against the squashes.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseState {
    pub database: String,
    /// `base`, `squashed` (at or past a squash), `part-way` (upgrades
    /// through the squashed files) or `unmanaged`.
    pub state: &'static str,
}

/// What `strata squash` did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct SquashReport {
    /// The new revision.
    pub squash: Option<super::Created>,
    /// The revisions it replaces, parents first.
    pub replaces: Vec<String>,
    /// Where their files went.
    pub moved_to: String,
    pub data_steps: Vec<DataStep>,
    pub data: Option<DataChoice>,
    pub databases: Vec<DatabaseState>,
    /// Files removed by `--prune`.
    pub pruned: Vec<String>,
    pub dry_run: bool,
}

/// `strata squash`.
pub fn squash(project: &Project, request: &SquashRequest) -> Result<SquashReport> {
    let migrations = super::migrations(project)?;
    let shelf = migrations.dir.join(SQUASHED_DIR);
    let mut report = SquashReport {
        squash: None,
        replaces: Vec::new(),
        moved_to: display_path(&shelf),
        data_steps: Vec::new(),
        data: request.data,
        databases: Vec::new(),
        pruned: Vec::new(),
        dry_run: request.dry_run,
    };
    let migrations = match &request.to {
        Some(to) => {
            let planned = plan(project, &migrations, to, request)?;
            report.replaces = planned.range.iter().map(|r| r.id.clone()).collect();
            report.data_steps = planned.data_steps.clone();
            let range: BTreeSet<String> = report.replaces.iter().cloned().collect();
            if request.dry_run || request.prune {
                report.databases =
                    database_states(project, &migrations, &request.each, Some(&range))?;
            }
            if request.prune {
                // Squash and prune at once: refused whole, before anything
                // is written, when a database would still need the files.
                let now = database_states(project, &migrations, &request.each, None)?;
                let mut databases = report.databases.clone();
                for (planned, now) in databases.iter_mut().zip(&now) {
                    if now.state == "part-way" {
                        planned.state = "part-way";
                    }
                }
                refuse_part_way(&shelf, &databases)?;
            }
            if request.dry_run {
                return Ok(report);
            }
            report.squash = Some(write(&migrations, &planned, &shelf)?);
            super::migrations(project)?
        }
        None if request.prune => migrations,
        None => return Err(CommandError::SquashNeedsTarget.into()),
    };
    report.databases = database_states(project, &migrations, &request.each, None)?;
    if request.prune {
        report.pruned = prune(&migrations, &shelf, &report.databases, request.dry_run)?;
    }
    Ok(report)
}

/// A squash worked out and tried, not yet written.
struct Planned<'m> {
    range: Vec<&'m Revision>,
    data_steps: Vec<DataStep>,
    id: String,
    message: String,
    up: String,
    down: String,
}

fn plan<'m>(
    project: &Project,
    migrations: &'m Migrations,
    to: &str,
    request: &SquashRequest,
) -> Result<Planned<'m>> {
    let graph = &migrations.graph;
    let tip = match to {
        "head" => graph.single_head()?,
        _ => graph.resolve(to)?,
    }
    .to_string();
    let ids = graph.ancestors(&tip);
    if ids.len() < 2 {
        return Err(CommandError::SquashTooShort { revision: tip }.into());
    }
    for rev in migrations.in_order().filter(|r| !ids.contains(&r.id)) {
        if let Some(parent) = rev.parents.iter().find(|p| ids.contains(*p) && **p != tip) {
            return Err(CommandError::SquashBranchInside {
                revision: rev.id.clone(),
                parent: parent.clone(),
                to: tip,
            }
            .into());
        }
    }
    let range: Vec<&Revision> = migrations
        .in_order()
        .filter(|r| ids.contains(&r.id))
        .collect();
    let mut data_steps = Vec::new();
    for rev in &range {
        let text = rev.up.read()?;
        for (line, statement) in data_statements(&text) {
            data_steps.push(DataStep {
                revision: rev.id.clone(),
                file: rev.up.display.clone(),
                line,
                statement: statement.to_string(),
            });
        }
    }
    let data = match (data_steps.is_empty(), request.data) {
        (true, _) => DataChoice::Drop,
        (false, Some(choice)) => choice,
        (false, None) => {
            return Err(CommandError::SquashDataSteps {
                to: tip,
                steps: data_steps
                    .iter()
                    .map(|s| {
                        format!(
                            "{}:{}: {}",
                            s.file,
                            s.line,
                            crate::sql::one_line(s.statement.trim_end_matches(';'))
                        )
                    })
                    .collect(),
            }
            .into())
        }
    };
    // The range as it ran, and the squash as it will.
    let original = replay(project, migrations, &ids)?;
    let schema = inspect_project(project, &original)?;
    let (mut up, down) = baseline(&schema);
    if data == DataChoice::Keep {
        for step in &data_steps {
            up.push_str(&format!(
                "\n-- data kept from {} ({}:{})\n{}\n",
                step.revision,
                step.file,
                step.line,
                crate::sql::terminated(&step.statement)
            ));
        }
    }
    let mismatch = |what: String| -> Error {
        CommandError::SquashMismatch {
            to: tip.clone(),
            what,
        }
        .into()
    };
    let rebuilt = scratch(project)?;
    runner::execute_script(
        &rebuilt,
        &in_memory("(the squash, not written).up.sql", &up),
        true,
    )
    .map_err(|e| mismatch(e.to_string()))?;
    let differences = exact_differences(&schema, &inspect(&rebuilt)?);
    if let Some(first) = differences.first() {
        return Err(mismatch(first.clone()));
    }
    if data == DataChoice::Keep {
        for table in &schema.tables {
            if rows(&original, table)? != rows(&rebuilt, table)? {
                return Err(mismatch(format!(
                    "the rows of table '{}' differ",
                    table.name
                )));
            }
        }
    }
    runner::execute_script(
        &rebuilt,
        &in_memory("(the squash, not written).down.sql", &down),
        true,
    )
    .map_err(|e| mismatch(e.to_string()))?;
    let left = inspect(&rebuilt)?;
    if !left.tables.is_empty() || !left.objects.is_empty() {
        return Err(mismatch("its down script leaves objects behind".into()));
    }
    let now = time::OffsetDateTime::now_utc();
    let id = match &request.rev_id {
        Some(id) => {
            crate::script::validate_id(id)?;
            id.clone()
        }
        None => migrations.new_id(now),
    };
    let message = request
        .message
        .clone()
        .unwrap_or_else(|| format!("squash base..{tip}"));
    crate::script::validate_message(&message)?;
    let header = format!(
        "-- Squashed: builds the schema of {} revision(s), base..{tip}, in one step.\n-- Their files are in {}/{SQUASHED_DIR}/; a database part-way through them\n-- upgrades through those until it is here.\n\n",
        range.len(),
        display_path(&migrations.dir),
    );
    Ok(Planned {
        data_steps,
        range,
        id,
        message,
        up: header + &up,
        down,
    })
}

/// Writes the squash, then moves the replaced files; undoes both if any
/// step fails, so the directory is either as it was or squashed.
fn write(migrations: &Migrations, planned: &Planned<'_>, shelf: &Path) -> Result<super::Created> {
    let new = NewRevision {
        id: planned.id.clone(),
        parents: Vec::new(),
        message: planned.message.clone(),
        created: format_time(time::OffsetDateTime::now_utc()),
        up_body: planned.up.clone(),
        down_body: planned.down.clone(),
        replaces: planned.range.iter().map(|r| r.id.clone()).collect(),
    };
    let (up, down) = migrations.write_new(&new)?;
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| -> Result<()> {
        fs::create_dir_all(shelf).map_err(Error::io(shelf))?;
        for rev in &planned.range {
            for file in [&rev.up, &rev.down] {
                let name = file.path.file_name().unwrap_or_default();
                let to = shelf.join(name);
                if to.exists() {
                    return Err(Error::io(&to)(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "already exists",
                    )));
                }
                fs::rename(&file.path, &to).map_err(Error::io(&file.path))?;
                moved.push((file.path.clone(), to));
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (from, to) in moved.iter().rev() {
            let _ = fs::rename(to, from);
        }
        let _ = fs::remove_file(&up);
        let _ = fs::remove_file(&down);
        return Err(e);
    }
    Ok(super::Created {
        revision: new.id,
        parents: Vec::new(),
        message: new.message,
        up: display_path(&up),
        down: display_path(&down),
    })
}

/// The project's database and the fleet's (strata.toml `[fleet]`, `--each`),
/// each with where it stands against the squashes — or, for a dry run,
/// against the squash of `planned`.
fn database_states(
    project: &Project,
    migrations: &Migrations,
    each: &[String],
    planned: Option<&BTreeSet<String>>,
) -> Result<Vec<DatabaseState>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    if let Ok(path) = project.database() {
        if path.exists() {
            paths.push(path.to_path_buf());
        }
    }
    if !project.fleet.is_empty() {
        paths.extend(super::glob_tenants(&project.root, &project.fleet)?);
    }
    if !each.is_empty() {
        let start = std::env::current_dir().map_err(Error::io("."))?;
        paths.extend(super::glob_tenants(&start, each)?);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for path in paths {
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if !seen.insert(key) {
            continue;
        }
        let Some(conn) = crate::db::open_read(&path)? else {
            continue;
        };
        let rows = history::read_applied(&conn)?;
        let state = if history::version(&conn)?.is_none() {
            "unmanaged"
        } else if rows.is_empty() {
            "base"
        } else if let Some(range) = planned {
            let ids = history::applied_ids(&migrations.normalize(rows));
            match range.iter().filter(|r| ids.contains(*r)).count() {
                0 => "base",
                n if n == range.len() => "squashed",
                _ => "part-way",
            }
        } else if migrations.view(&rows).map_or(true, |v| !v.is_undoing()) {
            "squashed"
        } else {
            "part-way"
        };
        out.push(DatabaseState {
            database: display_path(&path),
            state,
        });
    }
    Ok(out)
}

/// Removes the squashed folder's files, refusing while a database needs them.
fn prune(
    migrations: &Migrations,
    shelf: &Path,
    databases: &[DatabaseState],
    dry_run: bool,
) -> Result<Vec<String>> {
    if !shelf.is_dir() {
        return Err(CommandError::SquashNothingToPrune {
            dir: display_path(shelf),
        }
        .into());
    }
    refuse_part_way(shelf, databases)?;
    let mut removed = Vec::new();
    for rev in migrations.squashed() {
        for file in [&rev.up, &rev.down] {
            if !dry_run {
                fs::remove_file(&file.path).map_err(Error::io(&file.path))?;
            }
            removed.push(file.display.clone());
        }
    }
    if !dry_run && fs::read_dir(shelf).is_ok_and(|mut d| d.next().is_none()) {
        fs::remove_dir(shelf).map_err(Error::io(shelf))?;
    }
    Ok(removed)
}

/// The error naming the databases still part-way through squashed files.
fn refuse_part_way(shelf: &Path, databases: &[DatabaseState]) -> Result<()> {
    let part_way: Vec<String> = databases
        .iter()
        .filter(|d| d.state == "part-way")
        .map(|d| d.database.clone())
        .collect();
    if part_way.is_empty() {
        return Ok(());
    }
    Err(CommandError::SquashPartWay {
        dir: display_path(shelf),
        databases: part_way,
    }
    .into())
}

/// A script held in memory, run by the runner like a file.
fn in_memory(name: &str, text: &str) -> ScriptFile {
    ScriptFile {
        path: PathBuf::from(name),
        display: name.to_string(),
        sha256: crate::script::checksum(text),
        transactional: true,
        embedded: Some(std::sync::Arc::from(text)),
    }
}

/// Every row of `table` (its columns as inspected), each as one text,
/// sorted: a comparison key that does not depend on rowids or WITHOUT ROWID.
fn rows(conn: &Connection, table: &crate::schema::Table) -> Result<Vec<String>> {
    if table.columns.is_empty() {
        return Ok(Vec::new());
    }
    let select = table
        .columns
        .iter()
        .map(|c| format!("quote({})", crate::sql::quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(" || ',' || ");
    let sql = format!(
        "SELECT {select} FROM {}",
        crate::sql::quote_ident(&table.name)
    );
    let read = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    let mut out = read().map_err(Error::sqlite("reading rows"))?;
    out.sort();
    Ok(out)
}

/// The statements of a script that change data rather than schema, with
/// their lines: INSERT, UPDATE, DELETE, REPLACE (and WITH … of those),
/// except a table rebuild's copy into a table the same script creates.
pub fn data_statements(text: &str) -> Vec<(usize, &str)> {
    let statements = split(text);
    // A rebuild creates a table, copies rows into it, and renames it.
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut renamed: BTreeSet<String> = BTreeSet::new();
    for statement in &statements {
        let tokens = tokenize(statement.text);
        if tokens.len() > 5 && tokens[0].is("alter") && tokens[1].is("table") {
            let rename = tokens[3].is("rename") && tokens[4].is("to");
            if rename {
                renamed.insert(tokens[2].key());
            }
        }
    }
    let mut out = Vec::new();
    for statement in &statements {
        let tokens = tokenize(statement.text);
        let Some(first) = tokens.first() else {
            continue;
        };
        if first.is("create") {
            let at = tokens.iter().position(|t| t.is("table"));
            if let Some(at) = at {
                let mut name = at + 1;
                if tokens.get(name).is_some_and(|t| t.is("if")) {
                    name += 3;
                }
                if let Some(t) = tokens.get(name) {
                    created.insert(t.key());
                }
            }
            continue;
        }
        let changes = ["insert", "update", "delete", "replace"];
        let verb = if first.is("with") {
            tokens.iter().find(|t| changes.iter().any(|c| t.is(c)))
        } else {
            changes.iter().any(|c| first.is(c)).then_some(first)
        };
        let Some(verb) = verb else {
            continue;
        };
        if verb.is("insert") || verb.is("replace") {
            let into = tokens.iter().position(|t| t.is("into"));
            let target = into.and_then(|i| tokens.get(i + 1)).map(|t| t.key());
            let copies = tokens.iter().any(|t| t.is("select"));
            if copies && target.is_some_and(|t| created.contains(&t) && renamed.contains(&t)) {
                continue;
            }
        }
        out.push((statement.line, statement.text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_statements_skip_schema_and_rebuild_copies() {
        let text = "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nCREATE TABLE \"_strata_new_b\" (y);\nINSERT INTO \"_strata_new_b\" (y) SELECT y FROM b;\nUPDATE a SET x = 2;\nWITH t AS (SELECT 1) DELETE FROM a WHERE x IN t;\nSELECT 1;\nDROP TABLE b;\nALTER TABLE \"_strata_new_b\" RENAME TO b;\n";
        let found: Vec<usize> = data_statements(text).into_iter().map(|(l, _)| l).collect();
        assert_eq!(found, vec![2, 5, 6]);
        // A seed copied from another table into a new one is data.
        let seed = "CREATE TABLE c (x);\nINSERT INTO c SELECT x FROM a;\n";
        assert_eq!(data_statements(seed).len(), 1);
        assert!(data_statements("CREATE INDEX i ON a (x);").is_empty());
    }
}
