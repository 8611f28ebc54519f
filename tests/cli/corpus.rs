//! The corpus under `fixtures/corpus/`: real applications' schemas at two
//! versions, each taken through strata's whole lifecycle with rows in
//! every table (issue 9). See fixtures/corpus/README.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::common::{os, run_in, Run};

fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/corpus")
        .join(name)
}

/// Columns of each table of `sql`, executed in memory.
fn columns_of(sql: &str, app: &strata::config::AppSql) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open_in_memory().unwrap();
    strata::command::register_app_sql(&conn, app).unwrap();
    conn.execute_batch(sql).unwrap();
    let mut out = BTreeMap::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let cols: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([&table], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.insert(table, cols);
    }
    out
}

/// Every row of every user table, as text, sorted: what must survive.
/// With `keep`, only the columns it lists for a table (those both versions
/// have: a column the upgrade drops cannot come back with its values).
fn rows(
    conn: &Connection,
    keep: Option<&BTreeMap<String, Vec<String>>>,
) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'strata%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = BTreeMap::new();
    for table in tables {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY name")
            .unwrap()
            .query_map([&table], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .filter(|c: &String| {
                keep.is_none_or(|k| k.get(&table).is_some_and(|cols| cols.contains(c)))
            })
            .collect();
        if columns.is_empty() {
            continue;
        }
        let select = columns
            .iter()
            .map(|c| format!("quote(\"{}\")", c.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut values: Vec<String> = conn
            .prepare(&format!("SELECT {select} FROM \"{table}\""))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        values.sort();
        out.insert(table, values);
    }
    out
}

fn strata(dir: &Path, args: &[&str]) -> Run {
    run_in(dir, &os(args))
}

/// The lifecycle of issue 9 on one corpus entry.
fn lifecycle(name: &str) {
    let src = corpus_dir(name);
    let read = |f: &str| std::fs::read_to_string(src.join(f)).ok();
    let (v1, v2) = (read("v1.sql").unwrap(), read("v2.sql").unwrap());
    let app: strata::config::AppSql = read("app.toml")
        .map(|text| {
            let file: strata::config::ConfigFile = toml::from_str(&text).unwrap();
            strata::config::AppSql {
                functions: file.functions,
                collations: file.collations,
            }
        })
        .unwrap_or_default();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // The application's database at v1, with rows in every table.
    let conn = Connection::open(dir.join("app.db")).unwrap();
    strata::command::register_app_sql(&conn, &app).unwrap();
    conn.execute_batch(&v1).unwrap();
    if let Some(data) = read("data.sql") {
        conn.execute_batch(&data).unwrap();
    }
    let unfilled = strata::command::fill_empty_tables(&conn).unwrap();
    assert!(
        unfilled.is_empty(),
        "{name}: no made-up rows fit {unfilled:?}"
    );
    let (before, after) = (columns_of(&v1, &app), columns_of(&v2, &app));
    let shared: BTreeMap<String, Vec<String>> = before
        .into_iter()
        .filter_map(|(table, cols)| {
            let kept = after.get(&table)?;
            Some((
                table,
                cols.into_iter().filter(|c| kept.contains(c)).collect(),
            ))
        })
        .collect();
    let at_v1 = rows(&conn, Some(&shared));
    drop(conn);

    strata(dir, &["-d", "app.db", "init", "--from-db"]).ok();
    strata(dir, &["check"]).ok();
    strata(dir, &["verify"]).ok();
    strata(dir, &["diff", "--column-order"]).ok();
    let dump_v1 = strata(dir, &["dump"]).ok().stdout;

    std::fs::write(dir.join("schema.sql"), &v2).unwrap();
    let mut migrate = vec!["migrate", "-m", "v2"];
    let args = read("args").unwrap_or_default();
    migrate.extend(args.split_whitespace());
    strata(dir, &migrate).ok();
    strata(dir, &["upgrade"]).ok();
    strata(dir, &["diff"]).ok();
    strata(dir, &["check"]).ok();
    strata(dir, &["verify"]).ok();
    let conn = Connection::open(dir.join("app.db")).unwrap();
    let at_v2 = rows(&conn, Some(&shared));
    drop(conn);
    assert_eq!(
        at_v2, at_v1,
        "{name}: every row survives the upgrade, in the columns both have"
    );

    strata(dir, &["downgrade"]).ok();
    assert_eq!(
        strata(dir, &["dump"]).ok().stdout,
        dump_v1,
        "{name}: downgrade gives v1 exactly"
    );
    let conn = Connection::open(dir.join("app.db")).unwrap();
    assert_eq!(
        rows(&conn, Some(&shared)),
        at_v1,
        "{name}: every row of v1 is back, in the columns v2 kept"
    );
    drop(conn);
    strata(dir, &["upgrade"]).ok();
    strata(dir, &["diff", "--against", "head"]).ok();
}

#[test]
fn calibre_library() {
    lifecycle("calibre_library");
}

#[test]
fn matrix_homeserver() {
    lifecycle("matrix_homeserver");
}

#[test]
fn reference_manager() {
    lifecycle("reference_manager");
}

#[test]
fn notes_fts() {
    lifecycle("notes_fts");
}

#[test]
fn dns_blocklist() {
    lifecycle("dns_blocklist");
}
