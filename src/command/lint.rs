//! `strata lint`: the revisions a change adds, checked for what breaks a
//! running application or a database before it ships (docs/ci.md).
//!
//! Lint reads the SQL, not strata's markers, so it works on hand-written
//! revisions: every revision is applied in order in a scratch database,
//! the schema before and after each one is diffed by the diff engine, and
//! the statements themselves are read for what a schema cannot show
//! (renames, rebuilds, `VACUUM`, non-deterministic data changes).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use crate::config::{display_path, Project};
use crate::diff::{self, Change, Detail};
use crate::error::CommandError;
use crate::schema::{ObjectKind, Schema, VirtualTable};
use crate::script::{Migrations, Revision};
use crate::sql::split::{split, Statement};
use crate::sql::{tokenize, Kind, Token};
use crate::{db, runner, Result};

use super::autogen::{inspect_project, scratch};

/// How much a finding matters: an error fails the lint (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One rule: a stable code, a name, a level, and what it guards against.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub summary: &'static str,
    /// What to do instead (besides accepting the finding).
    #[serde(skip)]
    advice: &'static str,
}

/// Every rule, in code order (docs/ci.md lists them).
pub const RULES: &[Rule] = &[
    Rule {
        code: "S001",
        name: "bad-allow",
        level: Level::Error,
        summary: "a `-- strata:allow` directive without a known code or a reason",
        advice: "write `-- strata:allow CODE reason`, CODE one of `strata lint --rules`",
    },
    Rule {
        code: "S002",
        name: "does-not-apply",
        level: Level::Error,
        summary: "the up script fails on the schema its parents build",
        advice: "fix the statement; `strata verify` runs every revision up, down and up",
    },
    Rule {
        code: "S101",
        name: "drop-table",
        level: Level::Error,
        summary: "dropping a table (or a virtual table's own rows) loses its rows",
        advice: "drop it in a later release, once no deployed code reads it",
    },
    Rule {
        code: "S102",
        name: "drop-column",
        level: Level::Error,
        summary: "dropping a column loses its values and breaks code that still reads it",
        advice: "stop reading the column first, and drop it in a later release",
    },
    Rule {
        code: "S103",
        name: "narrow-type",
        level: Level::Error,
        summary: "a type change to another affinity can change stored values",
        advice: "add a column of the new type, backfill it, and switch readers over",
    },
    Rule {
        code: "S201",
        name: "rename-table",
        level: Level::Error,
        summary: "a renamed table breaks the application still running during a rolling deploy",
        advice: "add the new table (or a view under the old name) and move readers over first",
    },
    Rule {
        code: "S202",
        name: "rename-column",
        level: Level::Error,
        summary: "a renamed column breaks the application still running during a rolling deploy",
        advice: "add the new column, write both, move readers over, then drop the old one",
    },
    Rule {
        code: "S203",
        name: "not-null-without-default",
        level: Level::Error,
        summary: "a NOT NULL column without a default on an existing table makes the running application's INSERTs fail",
        advice: "give the column a DEFAULT, or add it nullable and tighten it later",
    },
    Rule {
        code: "S301",
        name: "constraint-on-existing-rows",
        level: Level::Warning,
        summary: "UNIQUE, CHECK, NOT NULL or a foreign key added over existing rows fails where the data breaks it",
        advice: "check production data first (`strata upgrade --dry-run` runs the prechecks)",
    },
    Rule {
        code: "S302",
        name: "table-rebuild",
        level: Level::Warning,
        summary: "a table rebuild copies every row, and writers wait until the revision commits",
        advice: "run it when the table is quiet, or split it from other changes",
    },
    Rule {
        code: "S401",
        name: "empty-down",
        level: Level::Error,
        summary: "a non-empty up with an empty down cannot be reverted",
        advice: "write the statements that undo the up in the down script",
    },
    Rule {
        code: "S501",
        name: "non-deterministic",
        level: Level::Warning,
        summary: "random() or the current time in a data change gives each replica (or each replay) different rows",
        advice: "compute the value once, in the statement's text or from data already in the table",
    },
    Rule {
        code: "S502",
        name: "outside-transaction",
        level: Level::Error,
        summary: "VACUUM, and PRAGMAs like journal_mode or foreign_keys, cannot work inside the revision's transaction",
        advice: "move the statement into its own revision with `-- strata:transaction off`",
    },
];

fn rule(code: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.code == code)
        .expect("a rule strata defines")
}

/// PRAGMAs that are an error or a silent no-op inside a transaction.
const PRAGMAS_OUTSIDE: &[&str] = &[
    "auto_vacuum",
    "foreign_keys",
    "journal_mode",
    "page_size",
    "wal_checkpoint",
];

/// One thing lint found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub revision: String,
    pub file: String,
    pub line: usize,
    pub message: String,
    pub hint: String,
    /// The reason given with `-- strata:allow`, when the finding is accepted.
    pub accepted: Option<String>,
}

/// Which revisions to lint.
#[derive(Debug, Clone, Default)]
pub struct LintRequest {
    /// A revision (lint what is not its ancestor) or a git ref (lint the
    /// revisions whose files it does not have); `None`: every revision.
    pub since: Option<String>,
}

/// What `strata lint` found.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// The revisions linted, parents first.
    pub revisions: Vec<String>,
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
    pub accepted: usize,
}

/// `strata lint`.
pub fn lint(project: &Project, request: &LintRequest) -> Result<LintReport> {
    let migrations = super::migrations(project)?;
    let selected = select(project, &migrations, request.since.as_deref())?;
    let live = match project.database() {
        Ok(path) => db::open_read(path)?,
        Err(_) => None,
    };
    let conn = scratch(project)?;
    let mut applies = true;
    let mut findings = Vec::new();
    let mut revisions = Vec::new();
    // The schema after the last linted revision: the next one's before.
    let mut last_after: Option<Schema> = None;
    for rev in migrations.in_order() {
        let lint_this = selected.contains(&rev.id);
        if !lint_this {
            last_after = None;
            if applies {
                if let Err(e) = runner::execute_script(&conn, &rev.up, rev.up.transactional) {
                    // A broken older revision leaves nothing to compare the
                    // new ones against: said, not skipped silently.
                    findings.push(finding(rev, "S002", 1, e.to_string()));
                    applies = false;
                }
            }
            continue;
        }
        revisions.push(rev.id.clone());
        let mut found = Vec::new();
        let up = rev.up.read()?;
        let down = rev.down.read()?;
        let statements = split(&up);
        let before = match last_after.take() {
            Some(schema) => Some(schema),
            None => applies
                .then(|| inspect_project(project, &conn))
                .transpose()?,
        };
        let after = match before {
            Some(_) => match runner::execute_script(&conn, &rev.up, rev.up.transactional) {
                Ok(()) => Some(inspect_project(project, &conn)?),
                Err(e) => {
                    found.push(finding(rev, "S002", 1, e.to_string()));
                    applies = false;
                    None
                }
            },
            None => None,
        };
        let renames = read_statements(
            rev,
            &up,
            &statements,
            before.as_ref(),
            after.as_ref(),
            live.as_ref(),
            &mut found,
        );
        if let (Some(before), Some(after)) = (&before, &after) {
            read_changes(rev, &statements, (before, after), &renames, &mut found);
        }
        if !split(&up).iter().all(is_comment_only) && split(&down).iter().all(is_comment_only) {
            found.push(finding(
                rev,
                "S401",
                1,
                format!(
                    "{} changes the schema but {} is empty",
                    rev.up.display, rev.down.display
                ),
            ));
            if let Some(last) = found.last_mut() {
                last.file = rev.down.display.clone();
            }
        }
        accept(rev, &up, &down, &mut found);
        findings.extend(found);
        last_after = after;
    }
    let errors = findings
        .iter()
        .filter(|f| f.level == Level::Error && f.accepted.is_none())
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.level == Level::Warning && f.accepted.is_none())
        .count();
    let accepted = findings.iter().filter(|f| f.accepted.is_some()).count();
    Ok(LintReport {
        revisions,
        findings,
        errors,
        warnings,
        accepted,
    })
}

/// The revisions `--since` leaves to lint.
fn select(
    project: &Project,
    migrations: &Migrations,
    since: Option<&str>,
) -> Result<BTreeSet<String>> {
    let all: BTreeSet<String> = migrations.in_order().map(|r| r.id.clone()).collect();
    let Some(since) = since else {
        return Ok(all);
    };
    if since == "base" {
        return Ok(all);
    }
    if let Ok(id) = migrations.graph.resolve(since) {
        let old = migrations.graph.ancestors(id);
        return Ok(all.difference(&old).cloned().collect());
    }
    let known = files_at_ref(&migrations.dir, since).ok_or_else(|| CommandError::LintSince {
        given: since.to_string(),
        dir: display_path(&project.migrations),
    })?;
    Ok(migrations
        .in_order()
        .filter(|r| {
            let name =
                r.up.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
            !known.contains(&name)
        })
        .map(|r| r.id.clone())
        .collect())
}

/// The file names `git_ref` has in `dir`, or `None` when `dir` is not in a
/// git repository or the ref names nothing.
fn files_at_ref(dir: &Path, git_ref: &str) -> Option<BTreeSet<String>> {
    if git_ref.starts_with('-') {
        return None;
    }
    let tree = format!("{git_ref}^{{tree}}");
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["ls-tree", "--name-only", &tree, "--", "."])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| l.rsplit('/').next().unwrap_or(l).to_string())
            .collect(),
    )
}

fn finding(rev: &Revision, code: &str, line: usize, message: String) -> Finding {
    let rule = rule(code);
    Finding {
        code: rule.code,
        name: rule.name,
        level: rule.level,
        revision: rev.id.clone(),
        file: rev.up.display.clone(),
        line,
        message,
        hint: format!(
            "{}; or accept it on purpose with `-- strata:allow {} <reason>` in {}",
            rule.advice, rule.code, rev.up.display
        ),
        accepted: None,
    }
}

fn is_comment_only(statement: &Statement<'_>) -> bool {
    tokenize(statement.text).iter().all(|t| t.is_punct(";"))
}

/// Whether `token` names `name` (SQLite names are case-insensitive).
fn names(token: Option<&Token<'_>>, name: &str) -> bool {
    token.is_some_and(|t| t.kind == Kind::Word && t.value().eq_ignore_ascii_case(name))
}

/// The name after `ALTER TABLE` / `DROP TABLE [IF EXISTS]`, without a schema.
fn object_name(tokens: &[Token<'_>], at: usize) -> Option<(String, usize)> {
    let mut at = at;
    if tokens.get(at).is_some_and(|t| t.is("if")) {
        at += 2;
    }
    let mut name = tokens.get(at)?.value();
    if tokens.get(at + 1).is_some_and(|t| t.is_punct(".")) {
        name = tokens.get(at + 2)?.value();
        at += 2;
    }
    Some((name, at + 1))
}

/// What a revision's statements rename, case-folded: tables by their old
/// name, columns as `table.old` → `table.new`.
#[derive(Default)]
struct Renames {
    tables: BTreeSet<String>,
    columns: BTreeMap<String, String>,
}

/// Rules read from the statements: renames, rebuilds, VACUUM and PRAGMAs,
/// non-deterministic data changes.
fn read_statements(
    rev: &Revision,
    up: &str,
    statements: &[Statement<'_>],
    before: Option<&Schema>,
    after: Option<&Schema>,
    live: Option<&Connection>,
    found: &mut Vec<Finding>,
) -> Renames {
    let mut renames = Renames::default();
    let existed = |table: &str| before.is_some_and(|s| s.table(table).is_some());
    let exists_after = |table: &str| after.is_some_and(|s| s.table(table).is_some());
    for statement in statements {
        let tokens = tokenize(statement.text);
        let line = statement.line;
        let Some(first) = tokens.first() else {
            continue;
        };
        if first.is("alter") && tokens.get(1).is_some_and(|t| t.is("table")) {
            let Some((table, next)) = object_name(&tokens, 2) else {
                continue;
            };
            if !tokens.get(next).is_some_and(|t| t.is("rename")) {
                continue;
            }
            if tokens.get(next + 1).is_some_and(|t| t.is("to")) {
                let to = tokens.get(next + 2).map(Token::value).unwrap_or_default();
                if existed(&table) && !exists_after(&table) {
                    renames.tables.insert(table.to_lowercase());
                    found.push(finding(
                        rev,
                        "S201",
                        line,
                        format!("renames table '{table}' to '{to}'"),
                    ));
                }
            } else {
                let at =
                    next + 1 + usize::from(tokens.get(next + 1).is_some_and(|t| t.is("column")));
                let from = tokens.get(at).map(Token::value).unwrap_or_default();
                let to = tokens.get(at + 2).map(Token::value).unwrap_or_default();
                let had = before
                    .and_then(|s| s.table(&table))
                    .is_some_and(|t| t.column(&from).is_some());
                if had {
                    renames.columns.insert(
                        format!("{}.{}", table.to_lowercase(), from.to_lowercase()),
                        format!("{}.{}", table.to_lowercase(), to.to_lowercase()),
                    );
                    found.push(finding(
                        rev,
                        "S202",
                        line,
                        format!("renames column '{table}.{from}' to '{to}'"),
                    ));
                }
            }
        } else if first.is("drop") && tokens.get(1).is_some_and(|t| t.is("table")) {
            let Some((table, _)) = object_name(&tokens, 2) else {
                continue;
            };
            if existed(&table) && exists_after(&table) {
                let rows = live.and_then(|conn| row_count(conn, &table));
                let counted = match rows {
                    Some(n) => format!(" ({n} row(s) in the database now)"),
                    None => String::new(),
                };
                found.push(finding(
                    rev,
                    "S302",
                    line,
                    format!(
                        "rebuilds table '{table}'{counted}: every row is copied while writers wait"
                    ),
                ));
            }
        } else if first.is("vacuum") && rev.up.transactional {
            found.push(finding(
                rev,
                "S502",
                line,
                "VACUUM cannot run inside the revision's transaction".into(),
            ));
        } else if first.is("pragma") && rev.up.transactional {
            let (name, next) = match object_name(&tokens, 1) {
                Some(found) => found,
                None => continue,
            };
            let sets = tokens
                .get(next)
                .is_some_and(|t| t.is_punct("=") || t.is_punct("("));
            let lower = name.to_ascii_lowercase();
            if PRAGMAS_OUTSIDE.contains(&lower.as_str()) && (sets || lower == "wal_checkpoint") {
                found.push(finding(
                    rev,
                    "S502",
                    line,
                    format!(
                        "PRAGMA {name} has no effect (or fails) inside the revision's transaction"
                    ),
                ));
            }
        }
    }
    for (line, text) in super::data_statements(up) {
        if let Some(what) = non_deterministic(text) {
            found.push(finding(
                rev,
                "S501",
                line,
                format!("a data change uses {what}"),
            ));
        }
    }
    renames
}

/// What in a statement differs between runs: `random()`, the clock.
fn non_deterministic(sql: &str) -> Option<String> {
    let tokens = tokenize(sql);
    for (i, t) in tokens.iter().enumerate() {
        let call = tokens.get(i + 1).is_some_and(|n| n.is_punct("("));
        if call && (t.is("random") || t.is("randomblob")) {
            return Some(format!("{}()", t.text.to_ascii_lowercase()));
        }
        if t.is("current_timestamp") || t.is("current_date") || t.is("current_time") {
            return Some(t.text.to_ascii_uppercase());
        }
        if t.kind == Kind::String && t.text.eq_ignore_ascii_case("'now'") {
            return Some("the current time ('now')".into());
        }
    }
    None
}

fn row_count(conn: &Connection, table: &str) -> Option<i64> {
    conn.query_row(
        &format!("SELECT count(*) FROM {}", crate::sql::quote_ident(table)),
        [],
        |r| r.get(0),
    )
    .ok()
}

/// Rules read from the schema before and after: drops, narrowing,
/// NOT NULL without a default, constraints over existing rows.
fn read_changes(
    rev: &Revision,
    statements: &[Statement<'_>],
    (before, after): (&Schema, &Schema),
    renames: &Renames,
    found: &mut Vec<Finding>,
) {
    // What the statement rules already called a rename is not also a drop.
    let renamed_tables = &renames.tables;
    let renamed_columns = &renames.columns;
    for change in diff::diff(before, after) {
        match &change {
            Change::DropTable(t) if !renamed_tables.contains(&t.name.to_lowercase()) => {
                found.push(finding(
                    rev,
                    "S101",
                    line_for(statements, &t.name, &["drop"]),
                    format!("drops table '{}'", t.name),
                ));
            }
            Change::DropObject(o) if o.kind == ObjectKind::VirtualTable => {
                let own = VirtualTable::parse(&o.sql).is_some_and(|v| v.own_content());
                if own && !renamed_tables.contains(&o.name.to_lowercase()) {
                    found.push(finding(
                        rev,
                        "S101",
                        line_for(statements, &o.name, &["drop"]),
                        format!("drops virtual table '{}' and the rows it holds", o.name),
                    ));
                }
            }
            Change::RenameTable { from, to } => found.push(finding(
                rev,
                "S201",
                line_for(statements, from, &["alter"]),
                format!("renames table '{from}' to '{to}'"),
            )),
            Change::RenameColumn { table, from, to } => found.push(finding(
                rev,
                "S202",
                line_for(statements, table, &["alter"]),
                format!("renames column '{table}.{from}' to '{to}'"),
            )),
            Change::AddObject(o)
                if o.kind == ObjectKind::Index
                    && is_unique_index(&o.sql)
                    && before.table(&o.table).is_some() =>
            {
                found.push(finding(
                    rev,
                    "S301",
                    line_for(statements, &o.name, &["create"]),
                    format!(
                        "unique index '{}' on existing table '{}': existing duplicates make it fail",
                        o.name, o.table
                    ),
                ));
            }
            Change::AlterTable { to, details, .. } => {
                let table = &to.name;
                let line = line_for(statements, table, &["alter", "drop", "create", "insert"]);
                for detail in details {
                    let key = |c: &str| format!("{}.{}", table.to_lowercase(), c.to_lowercase());
                    match detail {
                        Detail::DropColumn(c) if !renamed_columns.contains_key(&key(c)) => {
                            found.push(finding(
                                rev,
                                "S102",
                                line_for_column(statements, table, c).unwrap_or(line),
                                format!("drops column '{table}.{c}'"),
                            ));
                        }
                        Detail::AddColumn(c) => {
                            let renamed = renamed_columns.values().any(|v| *v == key(c));
                            let column = to.column(c);
                            let required = column.is_some_and(|col| {
                                col.not_null && col.default.is_none() && !col.is_generated()
                            });
                            if required && !renamed {
                                found.push(finding(
                                    rev,
                                    "S203",
                                    line,
                                    format!(
                                        "adds NOT NULL column '{table}.{c}' without a default to an existing table"
                                    ),
                                ));
                            }
                        }
                        Detail::Type {
                            column,
                            from,
                            to: new,
                        } if diff::is_narrowing(from, new) => {
                            found.push(finding(
                                rev,
                                "S103",
                                line,
                                format!(
                                    "changes '{table}.{column}' from {} to {}, another affinity",
                                    shown_type(from),
                                    shown_type(new)
                                ),
                            ));
                        }
                        d if d.is_data_dependent() => {
                            found.push(finding(
                                rev,
                                "S301",
                                line,
                                format!("{} over the rows already there", d.describe(table)),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn shown_type(t: &str) -> String {
    if t.is_empty() {
        "no type".into()
    } else {
        t.to_string()
    }
}

fn is_unique_index(sql: &str) -> bool {
    let tokens = tokenize(sql);
    tokens.get(1).is_some_and(|t| t.is("unique"))
}

/// The line of the first statement starting with one of `verbs` that
/// names `name`; else the first that names it at all; else 1.
fn line_for(statements: &[Statement<'_>], name: &str, verbs: &[&str]) -> usize {
    let mentions = |s: &Statement<'_>| {
        let tokens = tokenize(s.text);
        tokens.iter().any(|t| names(Some(t), name))
    };
    let starts = |s: &Statement<'_>| {
        let tokens = tokenize(s.text);
        tokens
            .first()
            .is_some_and(|t| verbs.iter().any(|v| t.is(v)))
    };
    statements
        .iter()
        .find(|s| starts(s) && mentions(s))
        .or_else(|| statements.iter().find(|s| mentions(s)))
        .map_or(1, |s| s.line)
}

/// The line of `ALTER TABLE table DROP [COLUMN] column`, if there is one.
fn line_for_column(statements: &[Statement<'_>], table: &str, column: &str) -> Option<usize> {
    statements.iter().find_map(|s| {
        let tokens = tokenize(s.text);
        let alter = tokens.first()?.is("alter") && names(tokens.get(2), table);
        let drop = tokens.iter().position(|t| t.is("drop"))?;
        let at = drop + 1 + usize::from(tokens.get(drop + 1).is_some_and(|t| t.is("column")));
        (alter && names(tokens.get(at), column)).then_some(s.line)
    })
}

/// Applies the revision's `-- strata:allow CODE reason` directives: each
/// finding of CODE is accepted with the reason; a directive without a
/// reason or with an unknown code is a finding itself.
fn accept(rev: &Revision, up: &str, down: &str, found: &mut Vec<Finding>) {
    let mut allowed: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut bad = Vec::new();
    for (file, text) in [(&rev.up.display, up), (&rev.down.display, down)] {
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = line.trim().strip_prefix("-- strata:allow") else {
                continue;
            };
            let rest = rest.trim();
            let (code, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let rule = RULES
                .iter()
                .find(|r| r.code.eq_ignore_ascii_case(code) || r.name.eq_ignore_ascii_case(code));
            let reason = reason.trim().trim_start_matches(['-', ':']).trim();
            match rule {
                Some(rule) if !reason.is_empty() && rule.code != "S001" => {
                    allowed.insert(rule.code, reason.to_string());
                }
                Some(_) => bad.push((
                    file.clone(),
                    n + 1,
                    format!(
                        "`-- strata:allow {code}` gives no reason: say why the finding is accepted"
                    ),
                )),
                None => bad.push((
                    file.clone(),
                    n + 1,
                    format!("`-- strata:allow {code}`: no rule has that code or name"),
                )),
            }
        }
    }
    for f in found.iter_mut() {
        if let Some(reason) = allowed.get(f.code) {
            f.accepted = Some(reason.clone());
        }
    }
    for (file, line, message) in bad {
        let mut f = finding(rev, "S001", line, message);
        f.file = file;
        f.hint = rule("S001").advice.to_string();
        found.push(f);
    }
}
