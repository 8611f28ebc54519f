//! Pictures, pure: the revision graph (from `history`'s report) and the
//! schema (from a [`Schema`]) as Graphviz DOT, Mermaid, or text for a
//! terminal. Output is deterministic (sorted where order means nothing) and
//! every name goes through the target language's quoting, so spaces,
//! keywords, quotes and unicode draw as themselves.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{HistoryEntry, HistoryReport, State};
use crate::schema::{ObjectKind, Schema, Table};

/// The picture languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Dot,
    Mermaid,
    Text,
}

/// A DOT string literal: `"…"` with `\` and `"` escaped; line breaks become
/// `\n` (centred lines).
fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text inside a DOT HTML-like label.
fn html(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Text inside a Mermaid `["…"]` label or `"…"` comment: Mermaid's entity
/// codes for the characters that would end or restyle it.
fn mermaid_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A word Mermaid's ER grammar takes as an attribute type or name: letters,
/// digits, `_`, `-`, `(`, `)`, `[`, `]`, starting with a letter.
fn mermaid_word(text: &str, fallback: &str) -> String {
    let word: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-()[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match word.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => word,
        Some(_) => format!("x{word}"),
        None => fallback.to_string(),
    }
}

fn state_label(entry: &HistoryEntry) -> Option<&'static str> {
    entry.state.map(|s| match s {
        State::Applied => "applied",
        State::Pending => "pending",
        State::Modified => "MODIFIED",
        State::Missing => "MISSING",
    })
}

fn state_colour(entry: &HistoryEntry) -> &'static str {
    match entry.state {
        Some(State::Applied) => "#d4edda",
        Some(State::Pending) => "#f1f3f5",
        Some(State::Modified) => "#ffe8a1",
        Some(State::Missing) => "#f8d7da",
        None => "#ffffff",
    }
}

/// What kind of node a revision is in the graph.
fn marks(entry: &HistoryEntry, children: usize) -> Vec<&'static str> {
    let mut marks = Vec::new();
    if entry.is_current {
        marks.push("current");
    }
    if entry.is_head {
        marks.push("head");
    }
    if entry.parents.len() > 1 {
        marks.push("merge");
    }
    if children > 1 {
        marks.push("branch point");
    }
    marks
}

fn children_of(report: &HistoryReport) -> BTreeMap<&str, usize> {
    let mut children: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &report.revisions {
        for parent in &entry.parents {
            *children.entry(parent.as_str()).or_default() += 1;
        }
    }
    children
}

/// Revisions oldest first, by id where the graph leaves the order open.
fn oldest_first(report: &HistoryReport) -> Vec<&HistoryEntry> {
    let mut entries: Vec<&HistoryEntry> = report.revisions.iter().rev().collect();
    entries.sort_by(|a, b| a.revision.cmp(&b.revision));
    // Ids are creation times, so id order is parent order in practice; a
    // hand-picked id out of order is put after its parents.
    let mut out: Vec<&HistoryEntry> = Vec::with_capacity(entries.len());
    let mut pending = entries;
    while !pending.is_empty() {
        let ready = pending.iter().position(|e| {
            e.parents.iter().all(|p| {
                out.iter().any(|o| &o.revision == p) || !pending.iter().any(|q| &q.revision == p)
            })
        });
        out.push(pending.remove(ready.unwrap_or(0)));
    }
    out
}

/// The node label of a revision: id, message, state and marks.
fn revision_lines(entry: &HistoryEntry, children: usize) -> Vec<String> {
    let mut lines = vec![entry.revision.clone(), crate::sql::one_line(&entry.message)];
    let mut facts: Vec<&str> = state_label(entry).into_iter().collect();
    facts.extend(marks(entry, children));
    if !facts.is_empty() {
        lines.push(format!("({})", facts.join(", ")));
    }
    lines
}

/// The revision graph: one node per revision, parent → child edges.
pub fn revision_graph(report: &HistoryReport, picture: Picture) -> String {
    let children = children_of(report);
    let entries = oldest_first(report);
    let kids = |e: &HistoryEntry| children.get(e.revision.as_str()).copied().unwrap_or(0);
    match picture {
        Picture::Dot => {
            let mut out = String::from(
                "digraph revisions {\n  rankdir=BT;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n",
            );
            for e in &entries {
                let mut attrs = vec![
                    format!(
                        "label={}",
                        dot_string(&revision_lines(e, kids(e)).join("\n"))
                    ),
                    format!("fillcolor=\"{}\"", state_colour(e)),
                ];
                if e.is_head {
                    attrs.push("peripheries=2".into());
                }
                if e.is_current {
                    attrs.push("penwidth=3".into());
                }
                if e.parents.len() > 1 {
                    attrs.push("shape=hexagon".into());
                }
                if e.state == Some(State::Missing) {
                    attrs.push("style=\"rounded,filled,dashed\"".into());
                }
                out.push_str(&format!(
                    "  {} [{}];\n",
                    dot_string(&e.revision),
                    attrs.join(", ")
                ));
            }
            for e in &entries {
                for p in &e.parents {
                    out.push_str(&format!(
                        "  {} -> {};\n",
                        dot_string(p),
                        dot_string(&e.revision)
                    ));
                }
            }
            out.push_str("}\n");
            out
        }
        Picture::Mermaid => {
            let ids: BTreeMap<&str, String> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.revision.as_str(), format!("r{i}")))
                .collect();
            let mut out = String::from("flowchart BT\n");
            for e in &entries {
                let label = revision_lines(e, kids(e))
                    .iter()
                    .map(|l| mermaid_text(l))
                    .collect::<Vec<_>>()
                    .join("<br/>");
                let (open, close) = if e.parents.len() > 1 {
                    ("{{\"", "\"}}")
                } else {
                    ("[\"", "\"]")
                };
                out.push_str(&format!(
                    "  {}{open}{label}{close}\n",
                    ids[e.revision.as_str()]
                ));
            }
            for e in &entries {
                for p in &e.parents {
                    if let Some(from) = ids.get(p.as_str()) {
                        out.push_str(&format!("  {from} --> {}\n", ids[e.revision.as_str()]));
                    }
                }
            }
            let classes = [
                ("applied", "fill:#d4edda"),
                ("pending", "fill:#f1f3f5"),
                ("modified", "fill:#ffe8a1"),
                ("missing", "fill:#f8d7da,stroke-dasharray:4"),
                ("current", "stroke-width:3px"),
            ];
            for (name, style) in classes {
                let members: Vec<&str> = entries
                    .iter()
                    .filter(|e| match name {
                        "current" => e.is_current,
                        _ => state_label(e).is_some_and(|s| s.eq_ignore_ascii_case(name)),
                    })
                    .map(|e| ids[e.revision.as_str()].as_str())
                    .collect();
                if !members.is_empty() {
                    out.push_str(&format!(
                        "  classDef {name} {style}\n  class {} {name}\n",
                        members.join(",")
                    ));
                }
            }
            out
        }
        Picture::Text => text_graph(report, &children),
    }
}

/// `git log --graph`-style lanes, newest first: `*` a revision, `|` a line
/// of descent passing by, `|\` a merge's second parent, `|/` two lines
/// joining at a branch point.
fn text_graph(report: &HistoryReport, children: &BTreeMap<&str, usize>) -> String {
    let mut newest: Vec<&HistoryEntry> = oldest_first(report);
    newest.reverse();
    let mut lanes: Vec<Option<String>> = Vec::new();
    let mut out = String::new();
    for e in newest {
        let at = match lanes.iter().position(|l| l.as_deref() == Some(&e.revision)) {
            Some(i) => i,
            None => match lanes.iter().position(Option::is_none) {
                Some(i) => i,
                None => {
                    lanes.push(None);
                    lanes.len() - 1
                }
            },
        };
        // Other lanes waiting for this revision join it here.
        let joining: Vec<usize> = (0..lanes.len())
            .filter(|&j| j != at && lanes[j].as_deref() == Some(&e.revision))
            .collect();
        // Lines that end here join this revision's lane first.
        if !joining.is_empty() {
            let line: String = (0..lanes.len())
                .map(|j| {
                    if joining.contains(&j) {
                        "/ "
                    } else if j == at || lanes[j].is_some() {
                        "| "
                    } else {
                        "  "
                    }
                })
                .collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for j in &joining {
            lanes[*j] = None;
        }
        let row: String = (0..lanes.len())
            .map(|j| {
                if j == at {
                    "* "
                } else if lanes[j].is_some() {
                    "| "
                } else {
                    "  "
                }
            })
            .collect();
        let kids = children.get(e.revision.as_str()).copied().unwrap_or(0);
        let facts: Vec<&str> = state_label(e).into_iter().chain(marks(e, kids)).collect();
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        out.push_str(&format!(
            "{}{} {}{facts}\n",
            row.trim_end_matches("  "),
            e.revision,
            crate::sql::one_line(&e.message)
        ));
        let mut parents = e.parents.iter();
        lanes[at] = parents.next().cloned();
        for p in parents {
            if !lanes.iter().any(|l| l.as_deref() == Some(p)) {
                let free = lanes.iter().position(Option::is_none);
                let j = free.unwrap_or_else(|| {
                    lanes.push(None);
                    lanes.len() - 1
                });
                lanes[j] = Some(p.clone());
                let line: String = (0..lanes.len())
                    .map(|k| {
                        if k == j {
                            "\\"
                        } else if lanes[k].is_some() {
                            "|"
                        } else {
                            " "
                        }
                    })
                    .map(|s| format!("{s} "))
                    .collect();
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        while lanes.last().is_some_and(Option::is_none) {
            lanes.pop();
        }
    }
    out
}

/// One column as the pictures show it.
fn column_line(table: &Table, i: usize) -> (String, String, Vec<&'static str>) {
    let c = &table.columns[i];
    let mut flags = Vec::new();
    if c.pk > 0 {
        flags.push("PK");
    }
    if table
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.iter().any(|f| f.eq_ignore_ascii_case(&c.name)))
    {
        flags.push("FK");
    }
    if c.not_null {
        flags.push("NOT NULL");
    }
    (c.name.clone(), c.decl_type.clone(), flags)
}

/// The parent column a foreign key points at, by position.
fn parent_column(schema: &Schema, table: &str, to: &[String], at: usize) -> Option<String> {
    match to.get(at) {
        Some(c) => Some(c.clone()),
        None => schema.table(table)?.primary_key().get(at).cloned(),
    }
}

/// The schema: tables with their columns, foreign keys as labelled edges,
/// views marked as views.
pub fn erd(schema: &Schema, picture: Picture) -> String {
    let mut tables: Vec<&Table> = schema.tables.iter().collect();
    tables.sort_by_key(|t| t.name.to_lowercase());
    let mut views: Vec<&crate::schema::Object> = schema
        .objects
        .iter()
        .filter(|o| matches!(o.kind, ObjectKind::View | ObjectKind::VirtualTable))
        .collect();
    views.sort_by_key(|o| o.name.to_lowercase());
    let edges = |t: &Table| -> Vec<(String, String)> {
        // (parent table, label "child cols → parent cols")
        t.foreign_keys
            .iter()
            .map(|fk| {
                let to: Vec<String> = (0..fk.columns.len())
                    .map(|i| parent_column(schema, &fk.table, &fk.to, i).unwrap_or_default())
                    .collect();
                (
                    fk.table.clone(),
                    format!("{} → {}", fk.columns.join(", "), to.join(", ")),
                )
            })
            .collect()
    };
    match picture {
        Picture::Dot => {
            let mut out = String::from(
                "digraph schema {\n  rankdir=LR;\n  node [shape=plain, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
            );
            for t in &tables {
                let mut rows = format!(
                    "<tr><td bgcolor=\"#dde3ea\"><b>{}</b></td></tr>",
                    html(&t.name)
                );
                for i in 0..t.columns.len() {
                    let (name, ty, flags) = column_line(t, i);
                    let text = [name, ty, flags.join(" ")]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("  ");
                    rows.push_str(&format!(
                        "<tr><td port=\"c{i}\" align=\"left\">{}</td></tr>",
                        html(&text)
                    ));
                }
                out.push_str(&format!(
                    "  {} [label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"4\">{rows}</table>>];\n",
                    dot_string(&t.name)
                ));
            }
            for v in &views {
                let what = if v.kind == ObjectKind::View {
                    "view"
                } else {
                    "virtual table"
                };
                out.push_str(&format!(
                    "  {} [shape=box, style=\"dashed,rounded\", label={}];\n",
                    dot_string(&v.name),
                    dot_string(&format!("{what}\n{}", v.name))
                ));
            }
            for t in &tables {
                for (parent, label) in edges(t) {
                    out.push_str(&format!(
                        "  {} -> {} [label={}];\n",
                        dot_string(&t.name),
                        dot_string(&parent),
                        dot_string(&label)
                    ));
                }
            }
            out.push_str("}\n");
            out
        }
        Picture::Mermaid => {
            let mut ids: BTreeMap<String, String> = BTreeMap::new();
            for (i, t) in tables.iter().enumerate() {
                ids.insert(t.name.to_lowercase(), format!("t{i}"));
            }
            let mut out = String::from("erDiagram\n");
            for t in &tables {
                out.push_str(&format!(
                    "  {}[\"{}\"] {{\n",
                    ids[&t.name.to_lowercase()],
                    mermaid_text(&t.name)
                ));
                for i in 0..t.columns.len() {
                    let (name, ty, flags) = column_line(t, i);
                    let keys: Vec<&str> = flags
                        .iter()
                        .copied()
                        .filter(|f| *f == "PK" || *f == "FK")
                        .collect();
                    let word = mermaid_word(&name, "column");
                    let mut comment = Vec::new();
                    if word != name {
                        comment.push(name.clone());
                    }
                    if flags.contains(&"NOT NULL") {
                        comment.push("NOT NULL".into());
                    }
                    out.push_str(&format!(
                        "    {} {}{}{}\n",
                        mermaid_word(&ty, "ANY"),
                        word,
                        if keys.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", keys.join(", "))
                        },
                        if comment.is_empty() {
                            String::new()
                        } else {
                            format!(" \"{}\"", mermaid_text(&comment.join(", ")))
                        }
                    ));
                }
                out.push_str("  }\n");
            }
            for (i, v) in views.iter().enumerate() {
                let what = if v.kind == ObjectKind::View {
                    "view"
                } else {
                    "virtual table"
                };
                out.push_str(&format!(
                    "  v{i}[\"{what}: {}\"] {{\n  }}\n",
                    mermaid_text(&v.name)
                ));
            }
            for t in &tables {
                for (parent, label) in edges(t) {
                    let Some(parent_id) = ids.get(&parent.to_lowercase()) else {
                        continue;
                    };
                    out.push_str(&format!(
                        "  {parent_id} ||--o{{ {} : \"{}\"\n",
                        ids[&t.name.to_lowercase()],
                        mermaid_text(&label)
                    ));
                }
            }
            out
        }
        Picture::Text => {
            let mut out = String::new();
            for t in &tables {
                out.push_str(&format!("{}\n", t.name));
                for i in 0..t.columns.len() {
                    let (name, ty, flags) = column_line(t, i);
                    let words: Vec<String> = [name, ty, flags.join(" ")]
                        .into_iter()
                        .filter(|w| !w.is_empty())
                        .collect();
                    out.push_str(&format!("  {}\n", words.join(" ")));
                }
                for (parent, label) in edges(t) {
                    out.push_str(&format!("  → {parent} ({label})\n"));
                }
            }
            for v in &views {
                let what = if v.kind == ObjectKind::View {
                    "view"
                } else {
                    "virtual table"
                };
                out.push_str(&format!("{} ({what})\n", v.name));
            }
            out
        }
    }
}

/// `strata graph --format json`: the same facts as data.
#[derive(Debug, Clone, Serialize)]
pub struct GraphDocument {
    pub revisions: Vec<HistoryEntry>,
    /// (parent, child) pairs, oldest first.
    pub edges: Vec<(String, String)>,
}

/// The revision graph as data.
pub fn graph_document(report: &HistoryReport) -> GraphDocument {
    let entries = oldest_first(report);
    let edges = entries
        .iter()
        .flat_map(|e| e.parents.iter().map(|p| (p.clone(), e.revision.clone())))
        .collect();
    GraphDocument {
        revisions: entries.into_iter().cloned().collect(),
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(sql: &str) -> Schema {
        crate::schema::load::load(sql, "schema.sql").unwrap().1
    }

    fn entry(revision: &str, parents: &[&str], state: Option<State>) -> HistoryEntry {
        HistoryEntry {
            revision: revision.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            message: format!("make {revision}"),
            created: "2026-01-01 00:00:00".into(),
            is_head: false,
            is_current: false,
            state,
            applied_at: None,
            up: None,
            down: None,
        }
    }

    /// a ← b ← {c, d} ← m (a merge), newest first as `history` reports it.
    fn diamond() -> HistoryReport {
        let mut m = entry("m", &["c", "d"], Some(State::Pending));
        m.is_head = true;
        let mut b = entry("b", &["a"], Some(State::Applied));
        b.is_current = true;
        HistoryReport {
            database: Some("app.db".into()),
            database_exists: true,
            revisions: vec![
                m,
                entry("d", &["b"], Some(State::Pending)),
                entry("c", &["b"], Some(State::Modified)),
                b,
                entry("a", &[], Some(State::Applied)),
            ],
        }
    }

    #[test]
    fn dot_strings_escape_what_would_end_them() {
        assert_eq!(dot_string("plain"), "\"plain\"");
        assert_eq!(dot_string("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(dot_string("a\\b"), "\"a\\\\b\"");
        assert_eq!(dot_string("two\nlines"), "\"two\\nlines\"");
        assert_eq!(dot_string("tab\there"), "\"tab\\there\"");
        assert_eq!(dot_string("naïve → ✓"), "\"naïve → ✓\"");
    }

    #[test]
    fn html_labels_escape_markup() {
        assert_eq!(
            html("<b>&\"x\"</b>"),
            "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;"
        );
        assert_eq!(html("a\u{1}b"), "a\\u{1}b");
    }

    #[test]
    fn mermaid_text_uses_entity_codes() {
        assert_eq!(
            mermaid_text("#1 \"q\" <a> `b`"),
            "#35;1 #quot;q#quot; #lt;a#gt; #96;b#96;"
        );
        assert_eq!(mermaid_text("line\nbreak"), "line break");
    }

    #[test]
    fn mermaid_words_are_grammar_words() {
        assert_eq!(mermaid_word("user_id", "column"), "user_id");
        assert_eq!(mermaid_word("VARCHAR(20)", "ANY"), "VARCHAR(20)");
        assert_eq!(mermaid_word("first name", "column"), "first_name");
        assert_eq!(mermaid_word("2fa", "column"), "x2fa");
        assert_eq!(mermaid_word("", "ANY"), "ANY");
        assert_eq!(mermaid_word("ü", "column"), "x_");
    }

    #[test]
    fn revision_graph_dot_marks_head_current_and_merges() {
        let dot = revision_graph(&diamond(), Picture::Dot);
        assert!(dot.starts_with("digraph revisions {\n"), "{dot}");
        assert!(dot.ends_with("}\n"));
        for edge in [
            "\"a\" -> \"b\"",
            "\"b\" -> \"c\"",
            "\"b\" -> \"d\"",
            "\"c\" -> \"m\"",
            "\"d\" -> \"m\"",
        ] {
            assert!(dot.contains(edge), "missing {edge} in\n{dot}");
        }
        let line = |rev: &str| {
            dot.lines()
                .find(|l| l.trim_start().starts_with(&format!("\"{rev}\" [")))
                .unwrap_or_else(|| panic!("no node {rev} in\n{dot}"))
                .to_string()
        };
        assert!(line("m").contains("peripheries=2") && line("m").contains("shape=hexagon"));
        assert!(line("b").contains("penwidth=3"));
        assert!(!line("a").contains("peripheries") && !line("a").contains("penwidth"));
        // Oldest first: a's node comes before m's.
        assert!(dot.find("\"a\" [").unwrap() < dot.find("\"m\" [").unwrap());
    }

    #[test]
    fn revision_graph_mermaid_has_every_edge_and_class() {
        let text = revision_graph(&diamond(), Picture::Mermaid);
        assert!(text.starts_with("flowchart BT\n"), "{text}");
        assert_eq!(text.matches(" --> ").count(), 5, "{text}");
        // The merge is a hexagon, the rest are boxes.
        assert_eq!(text.matches("{{\"").count(), 1, "{text}");
        for class in ["applied", "pending", "modified", "current"] {
            assert!(
                text.contains(&format!("classDef {class} ")),
                "{class} in\n{text}"
            );
        }
        assert!(!text.contains("classDef missing"), "{text}");
    }

    #[test]
    fn revision_graph_is_deterministic() {
        for picture in [Picture::Dot, Picture::Mermaid, Picture::Text] {
            assert_eq!(
                revision_graph(&diamond(), picture),
                revision_graph(&diamond(), picture)
            );
        }
    }

    #[test]
    fn graph_document_lists_edges_oldest_first() {
        let doc = graph_document(&diamond());
        let order: Vec<&str> = doc.revisions.iter().map(|e| e.revision.as_str()).collect();
        assert_eq!(order.first(), Some(&"a"));
        assert_eq!(order.last(), Some(&"m"));
        let mut edges = doc.edges.clone();
        edges.sort();
        let want: Vec<(String, String)> =
            [("a", "b"), ("b", "c"), ("b", "d"), ("c", "m"), ("d", "m")]
                .iter()
                .map(|(p, c)| (p.to_string(), c.to_string()))
                .collect();
        assert_eq!(edges, want);
    }

    const SHOP: &str = r#"
        CREATE TABLE "order" (id INTEGER PRIMARY KEY, "customer id" INTEGER NOT NULL REFERENCES customer(id));
        CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, referrer INTEGER REFERENCES customer);
        CREATE TABLE "say ""hi""" ("<b>" TEXT);
        CREATE VIEW big_orders AS SELECT * FROM "order";
    "#;

    #[test]
    fn erd_dot_quotes_hostile_names_and_draws_foreign_keys() {
        let dot = erd(&schema(SHOP), Picture::Dot);
        assert!(
            dot.starts_with("digraph schema {\n") && dot.ends_with("}\n"),
            "{dot}"
        );
        assert!(
            dot.contains("\"order\" -> \"customer\" [label=\"customer id → id\"]"),
            "{dot}"
        );
        // A self-reference names the parent's primary key.
        assert!(
            dot.contains("\"customer\" -> \"customer\" [label=\"referrer → id\"]"),
            "{dot}"
        );
        assert!(dot.contains("\"say \\\"hi\\\"\" [label=<"), "{dot}");
        assert!(dot.contains("&lt;b&gt;  TEXT"), "{dot}");
        assert!(
            dot.contains(
                "\"big_orders\" [shape=box, style=\"dashed,rounded\", label=\"view\\nbig_orders\"]"
            ),
            "{dot}"
        );
        // Tables sorted by name: customer, order, say "hi".
        let pos = |s: &str| dot.find(s).unwrap();
        assert!(pos("\"customer\" [") < pos("\"order\" [") && pos("\"order\" [") < pos("\"say"));
    }

    #[test]
    fn erd_mermaid_keeps_the_grammar_and_the_real_names() {
        let text = erd(&schema(SHOP), Picture::Mermaid);
        assert!(text.starts_with("erDiagram\n"), "{text}");
        // Sorted: customer t0, order t1, say "hi" t2.
        assert!(text.contains("  t1[\"order\"] {"), "{text}");
        assert!(text.contains("  t2[\"say #quot;hi#quot;\"] {"), "{text}");
        // A column whose name is no Mermaid word keeps it in the comment.
        assert!(
            text.contains("INTEGER customer_id FK \"customer id, NOT NULL\""),
            "{text}"
        );
        assert!(text.contains("TEXT x_b_ \"#lt;b#gt;\""), "{text}");
        assert!(
            text.contains("  t0 ||--o{ t1 : \"customer id → id\""),
            "{text}"
        );
        assert!(
            text.contains("  t0 ||--o{ t0 : \"referrer → id\""),
            "{text}"
        );
        assert!(
            text.contains("  v0[\"view: big_orders\"] {\n  }\n"),
            "{text}"
        );
    }

    #[test]
    fn erd_text_lists_tables_keys_and_views_without_trailing_space() {
        let text = erd(&schema(SHOP), Picture::Text);
        assert!(text.starts_with("customer\n"), "{text}");
        assert!(text.contains("  → customer (customer id → id)\n"), "{text}");
        assert!(text.ends_with("big_orders (view)\n"), "{text}");
        for line in text.lines() {
            assert_eq!(line, line.trim_end(), "trailing space in {line:?}");
        }
    }

    #[test]
    fn erd_skips_an_edge_to_a_table_it_does_not_know() {
        let s = schema("CREATE TABLE child (p INTEGER REFERENCES elsewhere(id));");
        let text = erd(&s, Picture::Mermaid);
        assert!(!text.contains("||--o{"), "{text}");
        let dot = erd(&s, Picture::Dot);
        // DOT draws it anyway: the missing parent becomes a plain node.
        assert!(
            dot.contains("\"child\" -> \"elsewhere\" [label=\"p → id\"]"),
            "{dot}"
        );
    }
}
