//! Harnesses shared by the `cargo fuzz` targets in `fuzz/` and their
//! proptest equivalents in the test suite: each takes arbitrary bytes, runs
//! one of strata's parsers on them, and panics if an invariant breaks. Not
//! part of strata's interface.

use std::collections::BTreeSet;

use crate::graph::{Goal, RevisionGraph};
use crate::schema::table::parse_table;
use crate::script::{checksum, parse_header, render_up_header};
use crate::sql::split::split;
use crate::sql::{key_of, pretty, statement_key, terminated, tokenize};

/// The revision header parser, the statement splitter and the checksum.
pub fn header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A checkout that turns LF into CRLF, or adds a BOM, is not an edit.
    let mut crlf = String::with_capacity(text.len() * 2);
    let mut prev = '\0';
    for c in text.chars() {
        if c == '\n' && prev != '\r' {
            crlf.push('\r');
        }
        crlf.push(c);
        prev = c;
    }
    assert_eq!(checksum(text), checksum(&crlf));
    // One BOM is an encoding mark; a second one would be content.
    let bare = text.trim_start_matches('\u{feff}');
    assert_eq!(checksum(&format!("\u{feff}{bare}")), checksum(bare));
    for stmt in split(text) {
        assert!(stmt.offset + stmt.text.len() <= text.len());
        assert_eq!(&text[stmt.offset..stmt.offset + stmt.text.len()], stmt.text);
        assert!(stmt.line >= 1);
    }
    if let Ok(h) = parse_header(text, "fuzz.up.sql") {
        if let (Some(id), Some(parents), Some(message), Some(created)) =
            (&h.revision, &h.parents, &h.message, &h.created)
        {
            // What strata writes, it reads back the same.
            if crate::script::validate_message(message).is_ok() && !created.contains('\n') {
                let again = parse_header(
                    &render_up_header(id, parents, message.trim(), created.trim()),
                    "fuzz.up.sql",
                )
                .expect("a rendered header parses");
                assert_eq!(again.revision.as_ref(), Some(id));
                assert_eq!(again.parents.as_ref(), Some(parents));
            }
        }
    }
}

/// The tokenizer over CREATE texts, the CREATE TABLE reader, the canonical
/// printer, and — when SQLite accepts the text — agreement with SQLite on
/// what the table's columns are.
pub fn create_text(data: &[u8]) {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let tokens = tokenize(sql);
    for t in &tokens {
        assert_eq!(&sql[t.start..t.end()], t.text);
    }
    let _ = parse_table(sql);
    let _ = statement_key(sql);
    let _ = terminated(sql);
    let printed = pretty(sql);
    let _ = tokenize(&printed);
    let Ok(conn) = rusqlite::Connection::open_in_memory() else {
        return;
    };
    let starts_create_table = tokens.len() > 2 && tokens[0].is("create") && tokens[1].is("table");
    if !starts_create_table || tokens.iter().any(|t| t.is(";") || t.is_punct(";")) {
        return;
    }
    if conn.execute_batch(sql).is_err() {
        return;
    }
    let Ok(stored) = conn.query_row(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
        [],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    ) else {
        return;
    };
    let (name, stored_sql) = stored;
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .expect("pragma");
    let columns: Vec<String> = stmt
        .query_map([&name], |r| r.get(0))
        .expect("pragma rows")
        .filter_map(Result::ok)
        .collect();
    let parsed: Vec<String> = parse_table(&stored_sql)
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(parsed, columns, "column names of {stored_sql:?}");
    // The canonical text means the same to SQLite and compares equal.
    let printed = pretty(&stored_sql);
    assert_eq!(key_of(&tokenize(&printed)), key_of(&tokenize(&stored_sql)));
    let copy = rusqlite::Connection::open_in_memory().expect("memory");
    copy.execute_batch(&printed)
        .unwrap_or_else(|e| panic!("pretty text {printed:?} of {stored_sql:?} fails: {e}"));
    // And names the same things, spelled exactly as before (issue 9.1:
    // `groups` must not come back as `GROUPS`).
    let names = |c: &rusqlite::Connection| -> Vec<String> {
        let mut stmt = c
            .prepare(
                "SELECT t.name || '.' || p.name FROM sqlite_schema AS t, pragma_table_xinfo(t.name) AS p \
                 WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite%' ORDER BY p.cid",
            )
            .expect("names");
        stmt.query_map([], |r| r.get(0))
            .expect("name rows")
            .filter_map(Result::ok)
            .collect()
    };
    assert_eq!(names(&copy), names(&conn), "names of {printed:?}");
}

/// The revision graph builder: bytes become revisions named `a`..`p`, each
/// with up to two parents; whatever the graph accepts must be a DAG whose
/// paths apply parents first.
pub fn graph(data: &[u8]) {
    let name = |b: u8| ((b'a' + (b % 16)) as char).to_string();
    let nodes: Vec<(String, Vec<String>)> = data
        .chunks(3)
        .map(|c| {
            let id = name(c[0]);
            let parents: Vec<String> = c[1..]
                .iter()
                .filter(|b| **b & 0x80 == 0)
                .map(|b| name(*b))
                .collect();
            (id, parents)
        })
        .collect();
    let Ok(graph) = RevisionGraph::new(nodes.clone()) else {
        return;
    };
    let order: Vec<&str> = graph.topological().collect();
    assert_eq!(order.len(), nodes.len());
    for (i, id) in order.iter().enumerate() {
        for parent in graph.parents(id) {
            let at = order
                .iter()
                .position(|o| *o == parent)
                .expect("parent listed");
            assert!(at < i, "{parent} after its child {id}");
        }
        assert_eq!(graph.resolve(id).ok(), Some(*id));
    }
    if graph.is_empty() {
        return;
    }
    assert!(!graph.heads().is_empty() && !graph.bases().is_empty());
    let all: BTreeSet<String> = order.iter().map(|s| s.to_string()).collect();
    let empty = BTreeSet::new();
    let path = graph.path(&Goal::Apply(all.clone()), &empty);
    assert_eq!(path.len(), all.len());
    let mut applied = BTreeSet::new();
    for id in path {
        assert!(graph.parents(id).iter().all(|p| applied.contains(*p)));
        applied.insert(id.to_string());
    }
    let back = graph.path(&Goal::Keep(BTreeSet::new()), &all);
    assert_eq!(back.len(), all.len());
}
