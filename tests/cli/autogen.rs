//! `strata migrate` on the fixture pairs under `fixtures/`: one folder per
//! scenario, each with `before.sql`, `after.sql`, the rows to hold
//! (`data.sql`) and extra `migrate` arguments (`args`, optional).
//!
//! For each: the generated up and down scripts are snapshots; `upgrade`
//! gives exactly the declared schema and `downgrade` exactly the old one;
//! every row survives in the columns both sides share (renamed columns keep
//! their values, rowids are kept); integrity and foreign keys are clean;
//! `verify` and `check` pass; a second `migrate` finds no changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::common::{integrity_ok, TestProject};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A script without its header lines (they hold the creation time).
fn body(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip_while(|l| {
            l.starts_with("-- strata:revision")
                || l.starts_with("-- strata:parent")
                || l.starts_with("-- strata:message")
                || l.starts_with("-- strata:created")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Renames the fixture asks for: tables old→new, and (table, column)→new.
#[derive(Default)]
pub(crate) struct Renames {
    tables: BTreeMap<String, String>,
    columns: BTreeMap<(String, String), String>,
}

impl Renames {
    fn parse(args: &[String]) -> Renames {
        let mut r = Renames::default();
        for pair in args.windows(2) {
            let (flag, value) = (&pair[0], &pair[1]);
            let (lhs, new) = value.split_once('=').unwrap();
            if flag == "--rename-table" {
                r.tables.insert(lhs.to_lowercase(), new.to_string());
            } else if flag == "--rename" {
                let (t, c) = lhs.rsplit_once('.').unwrap();
                r.columns
                    .insert((t.to_lowercase(), c.to_lowercase()), new.to_string());
            }
        }
        r
    }

    fn table(&self, old: &str) -> String {
        self.tables
            .get(&old.to_lowercase())
            .cloned()
            .unwrap_or_else(|| old.to_string())
    }

    fn column(&self, new_table: &str, old: &str) -> String {
        self.columns
            .get(&(new_table.to_lowercase(), old.to_lowercase()))
            .cloned()
            .unwrap_or_else(|| old.to_string())
    }
}

/// Tables of the user's schema.
fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'strata_%' ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// (name, declared type, generated) of each column.
fn columns(conn: &Connection, table: &str) -> Vec<(String, String, bool)> {
    let mut stmt = conn
        .prepare("SELECT name, type, hidden FROM pragma_table_xinfo(?1)")
        .unwrap();
    stmt.query_map([table], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn has_rowid(conn: &Connection, table: &str) -> bool {
    conn.prepare(&format!(
        "SELECT rowid FROM \"{}\"",
        table.replace('"', "\"\"")
    ))
    .is_ok()
}

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Rows of `table` as sorted text, over `cols` (SQL `quote()` keeps each
/// value's type visible: 12 and '12' differ).
fn rows(conn: &Connection, table: &str, cols: &[String]) -> Vec<String> {
    if cols.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = cols.iter().map(|c| format!("quote({c})")).collect();
    let sql = format!("SELECT {} FROM {}", list.join(" || '|' || "), q(table));
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut out: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    out.sort();
    out
}

fn same_type(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.to_ascii_uppercase().replace(' ', "");
    norm(a) == norm(b)
}

/// Asserts every row of every table of `old` survives in `new` over the
/// columns both share (by the fixture's renames), rowids included.
pub(crate) fn assert_rows_survive(
    old: &Connection,
    new: &Connection,
    renames: &Renames,
    forward: bool,
    label: &str,
) {
    for table in tables(old) {
        let other = if forward {
            renames.table(&table)
        } else {
            renames
                .tables
                .iter()
                .find(|(_, new)| new.eq_ignore_ascii_case(&table))
                .map_or(table.clone(), |(old, _)| old.clone())
        };
        let other_cols = columns(new, &other);
        if other_cols.is_empty() {
            continue;
        }
        let mut a_cols = Vec::new();
        let mut b_cols = Vec::new();
        if has_rowid(old, &table) && has_rowid(new, &other) {
            a_cols.push("rowid".to_string());
            b_cols.push("rowid".to_string());
        }
        for (name, ty, generated) in columns(old, &table) {
            let mapped = if forward {
                renames.column(&other, &name)
            } else {
                renames
                    .columns
                    .iter()
                    .find(|((t, _), new)| {
                        t.eq_ignore_ascii_case(&table) && new.eq_ignore_ascii_case(&name)
                    })
                    .map_or(name.clone(), |((_, old), _)| old.clone())
            };
            let Some((_, other_ty, other_generated)) = other_cols
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(&mapped))
            else {
                continue;
            };
            // Converted types and computed columns are not copied values.
            if !same_type(&ty, other_ty) || generated || *other_generated {
                continue;
            }
            a_cols.push(q(&name));
            b_cols.push(q(&mapped));
        }
        assert_eq!(
            rows(old, &table, &a_cols),
            rows(new, &other, &b_cols),
            "{label}: rows of '{table}' over {a_cols:?} did not survive"
        );
    }
}

pub(crate) fn assert_clean(conn: &Connection, label: &str) {
    assert!(integrity_ok(conn), "{label}: integrity_check failed");
    let violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(violations, 0, "{label}: foreign key violations");
}

/// A copy of the database file, to compare rows across the upgrade.
fn snapshot(p: &TestProject, name: &str) -> Connection {
    let copy = p.path(name);
    std::fs::copy(p.db_path(), &copy).unwrap();
    Connection::open(copy).unwrap()
}

fn migrate_args(extra: &[String], id: &str) -> Vec<String> {
    let mut args: Vec<String> = ["migrate", "-m", "change", "--rev-id", id]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().cloned());
    args
}

fn run_fixture(name: &str) {
    let dir = fixture_dir(name);
    let before = read(&dir.join("before.sql")).expect("before.sql");
    let after = read(&dir.join("after.sql")).expect("after.sql");
    let extra: Vec<String> = read(&dir.join("args"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let renames = Renames::parse(&extra);
    let p = TestProject::new();

    // The database at A, holding rows.
    std::fs::write(p.path("schema.sql"), &before).unwrap();
    p.run(&["migrate", "-m", "before", "--rev-id", "1"]).ok();
    p.run(&["upgrade"]).ok();
    if let Some(data) = read(&dir.join("data.sql")) {
        let conn = p.db();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        conn.execute_batch(&data).unwrap();
    }
    let at_a = snapshot(&p, "at_a.db");

    // migrate: the scripts are snapshots.
    std::fs::write(p.path("schema.sql"), &after).unwrap();
    let args = migrate_args(&extra, "2");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let migrate = p.run(&args).ok();
    let report: Vec<&str> = migrate
        .stderr
        .lines()
        .filter(|l| !l.contains("Generating"))
        .collect();
    insta::assert_snapshot!(
        name,
        format!(
            "== migrate ==\n{}\n\n== up ==\n{}\n\n== down ==\n{}\n",
            report.join("\n"),
            body(&p.up_file("2")),
            body(&p.down_file("2"))
        )
    );

    // upgrade: exactly schema.sql, every row kept.
    p.run(&["upgrade"]).ok();
    p.run(&["diff"]).ok();
    assert_clean(&p.db(), "after upgrade");
    assert_rows_survive(&at_a, &p.db(), &renames, true, "upgrade");
    let at_b = snapshot(&p, "at_b.db");

    // A second migrate finds nothing; verify and check pass.
    let again = p.run(&["migrate", "-m", "again", "--rev-id", "3"]).ok();
    assert!(
        again.stderr.contains("No changes in schema detected."),
        "{}",
        again.stderr
    );
    assert!(!p.path("migrations").read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("3_")));
    p.run(&["verify"]).ok();
    p.run(&["check"]).ok();

    // downgrade: exactly the old schema, every row back.
    p.run(&["downgrade"]).ok();
    std::fs::write(p.path("schema.sql"), &before).unwrap();
    p.run(&["diff"]).ok();
    assert_clean(&p.db(), "after downgrade");
    assert_rows_survive(&at_b, &p.db(), &renames, false, "downgrade");
}

macro_rules! fixtures {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_fixture(stringify!($name));
            }
        )*

        #[test]
        fn every_fixture_has_a_test() {
            let listed = [$(stringify!($name)),*];
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
            for entry in std::fs::read_dir(root).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if name == "corpus" || name == "pictures" {
                    continue; // tests/cli/corpus.rs, tests/cli/pictures.rs
                }
                assert!(listed.contains(&name.as_str()), "fixtures/{name} has no test");
            }
        }
    };
}

fixtures!(
    add_table,
    drop_table,
    rename_table,
    add_column,
    drop_column,
    rename_column,
    column_type,
    not_null,
    column_default,
    collation,
    primary_key,
    generated,
    unique,
    check,
    foreign_key,
    indexes,
    views,
    triggers,
    strict,
    without_rowid,
    books,
    cascade_parent_rebuild,
    quoting,
    autoincrement,
    comments,
);
