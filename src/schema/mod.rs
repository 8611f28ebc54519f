//! The schema model: tables, columns, constraints, foreign keys, and the
//! indexes, views and triggers around them, as read from a live database or
//! from `schema.sql` executed in an in-memory SQLite. Both sides go through
//! the same inspector ([`inspect::inspect`]), so like is compared with like.
//!
//! The model keeps each object's stored CREATE text: plans re-create objects
//! from exactly what the user wrote, and comparison uses keys that ignore
//! case, quoting and spacing.

pub mod inspect;
pub mod load;

pub mod table;

use std::collections::BTreeSet;

use serde::Serialize;

pub use table::{ColumnText, ConstraintKind, ConstraintText, DefaultKind, TableText};

/// Tables that belong to strata's bookkeeping and never appear in a diff,
/// dump or check.
pub const BOOKKEEPING_TABLES: &[&str] = &["strata_history", "strata_log", "strata_meta"];

/// Whether `name` is an object that no diff, dump or check may touch:
/// strata's own tables and SQLite's internal ones.
pub fn is_internal(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("sqlite_") || BOOKKEEPING_TABLES.contains(&lower.as_str())
}

/// Other tools' bookkeeping tables, which strata never diffs, dumps or
/// checks (docs/import.md): refinery, sqlx, goose, diesel, Alembic /
/// Flask-Migrate, and Litestream's `_litestream_*`. dbmate's
/// `schema_migrations` is also Rails's name, so it is excluded only by
/// strata.toml (`strata import --from dbmate` writes the line).
pub const PEER_TABLES: &[&str] = &[
    "refinery_schema_history",
    "_sqlx_migrations",
    "goose_db_version",
    "__diesel_schema_migrations",
    "alembic_version",
];

/// Whether `name` is another tool's bookkeeping table.
pub fn is_peer_bookkeeping(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    PEER_TABLES.contains(&lower.as_str()) || lower.starts_with("_litestream_")
}

/// A whole schema: what `sqlite_schema` holds, minus internal objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables in creation order.
    pub tables: Vec<Table>,
    /// Indexes, views and triggers in creation order.
    pub objects: Vec<Object>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// The CREATE TABLE text as SQLite stores it.
    pub sql: String,
    /// Position in `sqlite_schema`.
    pub seq: i64,
    pub columns: Vec<Column>,
    /// Table constraints (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY clauses).
    pub constraints: Vec<ConstraintText>,
    /// Every foreign key, column-level or table-level, from the pragma.
    pub foreign_keys: Vec<ForeignKey>,
    pub strict: bool,
    pub without_rowid: bool,
    /// Byte range of the table's name in `sql`.
    pub name_span: (usize, usize),
}

/// A column: the pragma's facts plus what only the CREATE text shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// Declared type as written (`varchar(64)`), empty when none.
    pub decl_type: String,
    pub not_null: bool,
    /// The DEFAULT expression as written.
    pub default: Option<String>,
    /// Position in the primary key, 0 when not part of it.
    pub pk: u32,
    /// 0 normal; 2 generated VIRTUAL; 3 generated STORED.
    pub hidden: i64,
    pub text: ColumnText,
}

impl Column {
    pub fn is_generated(&self) -> bool {
        self.hidden == 2 || self.hidden == 3 || self.text.generated.is_some()
    }

    /// SQLite's type affinity of the declared type
    /// (sqlite.org/datatype3.html#determination_of_column_affinity).
    pub fn affinity(&self) -> &'static str {
        affinity(&self.decl_type)
    }
}

/// The affinity rules of sqlite.org/datatype3.html, in their order.
pub fn affinity(decl_type: &str) -> &'static str {
    let t = decl_type.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.trim().is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// One foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    /// Child columns.
    pub columns: Vec<String>,
    /// Parent table.
    pub table: String,
    /// Parent columns; empty means the parent's primary key.
    pub to: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
}

/// What kind of non-table object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Index,
    View,
    Trigger,
    /// `CREATE VIRTUAL TABLE … USING fts5(…)`: compared as a whole, and
    /// changed by re-creating it (see [`VirtualTable`]).
    VirtualTable,
}

impl ObjectKind {
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Index => "index",
            ObjectKind::View => "view",
            ObjectKind::Trigger => "trigger",
            ObjectKind::VirtualTable => "virtual table",
        }
    }

    /// The `DROP …` keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ObjectKind::Index => "INDEX",
            ObjectKind::View => "VIEW",
            ObjectKind::Trigger => "TRIGGER",
            ObjectKind::VirtualTable => "TABLE",
        }
    }
}

/// [`Schema::tables_parents_first`] for a schema with a foreign-key cycle:
/// the passes themselves, a cycle broken at its first table by name.
fn parents_first_by_passes(mut pending: Vec<&Table>) -> Vec<&Table> {
    let names: BTreeSet<String> = pending.iter().map(|t| t.name.to_lowercase()).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|t| {
            let me = t.name.to_lowercase();
            let ready = t
                .parents()
                .iter()
                .all(|p| *p == me || done.contains(p) || !names.contains(p));
            if ready {
                done.insert(me);
                out.push(*t);
            }
            !ready
        });
        if pending.len() == before {
            // Any order works with enforcement off.
            let t = pending.remove(0);
            done.insert(t.name.to_lowercase());
            out.push(t);
        }
    }
    out
}

/// An index, view or trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub name: String,
    /// The table an index or trigger belongs to; for a view, its own name.
    pub table: String,
    pub sql: String,
    pub seq: i64,
    /// Comparison key of `sql`.
    pub key: String,
    /// A virtual table's columns (not its hidden ones), in order; empty for
    /// other objects.
    pub columns: Vec<String>,
}

/// The virtual-table modules strata manages: those the bundled SQLite
/// provides that keep their data in shadow tables strata can leave alone.
pub const VIRTUAL_MODULES: &[&str] = &["fts3", "fts4", "fts5", "rtree", "rtree_i32"];

/// Whether `sql` is a `CREATE VIRTUAL TABLE` statement.
pub fn is_virtual(sql: &str) -> bool {
    let tokens = crate::sql::tokenize(sql);
    tokens.len() > 2 && tokens[0].is("create") && tokens[1].is("virtual")
}

/// What a `CREATE VIRTUAL TABLE` text says about where its rows live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualTable {
    /// The module, lower-case (`fts5`).
    pub module: String,
    /// `content=` of an FTS table: `Some("")` contentless, `Some(table)`
    /// external content, `None` its own content.
    pub content: Option<String>,
}

impl VirtualTable {
    /// Reads `CREATE VIRTUAL TABLE [IF NOT EXISTS] name USING module(args)`.
    pub fn parse(sql: &str) -> Option<VirtualTable> {
        use crate::sql::{matching_paren, split_commas, tokenize, Kind};
        let tokens = tokenize(sql);
        let using = tokens.iter().position(|t| t.is("using"))?;
        let module = tokens.get(using + 1)?.value().to_lowercase();
        let mut content = None;
        if tokens.get(using + 2).is_some_and(|t| t.is_punct("(")) {
            let close = matching_paren(&tokens, using + 2);
            for arg in split_commas(&tokens[using + 3..close.min(tokens.len())]) {
                if let [key, eq, value @ ..] = arg {
                    if key.value().eq_ignore_ascii_case("content") && eq.is_punct("=") {
                        content = Some(match value {
                            [] => String::new(),
                            [v] if v.kind == Kind::String => {
                                v.text[1..v.text.len() - 1].replace("''", "'")
                            }
                            [v] => v.value(),
                            _ => String::new(),
                        });
                    }
                }
            }
        }
        Some(VirtualTable { module, content })
    }

    /// Whether it indexes another table's rows (`content=table`), so its
    /// index is rebuilt from that table rather than copied.
    pub fn external_content(&self) -> Option<&str> {
        self.content.as_deref().filter(|c| !c.is_empty())
    }

    /// Whether it holds rows of its own, which a re-creation must copy.
    pub fn own_content(&self) -> bool {
        self.content.is_none()
    }

    /// Whether its module answers `INSERT INTO t(t) VALUES('rebuild')`.
    pub fn is_fts(&self) -> bool {
        matches!(self.module.as_str(), "fts3" | "fts4" | "fts5")
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Whether rows have a rowid (not WITHOUT ROWID).
    pub fn has_rowid(&self) -> bool {
        !self.without_rowid
    }

    /// The column that aliases the rowid (`INTEGER PRIMARY KEY`), if any.
    pub fn rowid_alias(&self) -> Option<&Column> {
        if self.without_rowid {
            return None;
        }
        let pk: Vec<&Column> = self.columns.iter().filter(|c| c.pk > 0).collect();
        match pk.as_slice() {
            [only] if only.decl_type.eq_ignore_ascii_case("integer") => Some(only),
            _ => None,
        }
    }

    /// Primary-key columns in key order (lower-case).
    pub fn primary_key(&self) -> Vec<String> {
        let mut pk: Vec<&Column> = self.columns.iter().filter(|c| c.pk > 0).collect();
        pk.sort_by_key(|c| c.pk);
        pk.iter().map(|c| c.name.to_lowercase()).collect()
    }

    /// Whether this table uses AUTOINCREMENT.
    pub fn autoincrement(&self) -> bool {
        self.columns.iter().any(|c| c.text.autoincrement)
    }

    /// Names of the parent tables its foreign keys point at (lower-case).
    pub fn parents(&self) -> BTreeSet<String> {
        self.foreign_keys
            .iter()
            .map(|fk| fk.table.to_lowercase())
            .collect()
    }
}

impl Schema {
    /// Drops the tables `excluded` names, with their indexes and triggers,
    /// and the views and virtual tables it names.
    pub fn exclude(&mut self, excluded: impl Fn(&str) -> bool) {
        self.tables.retain(|t| !excluded(&t.name));
        self.objects
            .retain(|o| !excluded(&o.name) && !excluded(&o.table));
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    pub fn object(&self, kind: ObjectKind, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.name.eq_ignore_ascii_case(name))
    }

    /// Indexes and triggers that belong to `table`.
    pub fn attached_to<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| {
            matches!(o.kind, ObjectKind::Index | ObjectKind::Trigger)
                && o.table.eq_ignore_ascii_case(table)
        })
    }

    /// Tables in an order where every parent comes before its children
    /// (name order breaks ties; a cycle keeps name order).
    pub fn tables_parents_first(&self) -> Vec<&Table> {
        // Name order, not creation order: a dump is the same however the
        // tables came to be (a rebuild moves a table to the end).
        let mut sorted: Vec<&Table> = self.tables.iter().collect();
        sorted.sort_by_key(|t| (t.name.to_lowercase(), t.seq));
        let n = sorted.len();
        let index: std::collections::HashMap<String, usize> = sorted
            .iter()
            .enumerate()
            .rev()
            .map(|(i, t)| (t.name.to_lowercase(), i))
            .collect();
        let parents: Vec<Vec<usize>> = sorted
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.parents()
                    .iter()
                    .filter_map(|p| index.get(p).copied())
                    .filter(|&p| p != i)
                    .collect()
            })
            .collect();
        // The order is that of passes over the tables in name order, each
        // placing every table whose parents are placed by then. A table's
        // pass is its parents' latest, one later for a parent whose name
        // sorts after it; computed in one topological walk.
        let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(i);
            }
        }
        let mut todo: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut pass = vec![0usize; n];
        let mut walked = 0;
        while let Some(i) = todo.pop() {
            walked += 1;
            pass[i] = parents[i]
                .iter()
                .map(|&p| pass[p] + usize::from(p > i))
                .max()
                .unwrap_or(0);
            for &c in &children[i] {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    todo.push(c);
                }
            }
        }
        if walked < n {
            return parents_first_by_passes(sorted);
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (pass[i], i));
        order.into_iter().map(|i| sorted[i]).collect()
    }

    /// Every CREATE statement, dependency-ordered and otherwise by name, so
    /// the same schema always prints the same: tables parents-first, then
    /// virtual tables, indexes, views (after the views they use) and
    /// triggers.
    pub fn statements(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .tables_parents_first()
            .iter()
            .map(|t| t.sql.as_str())
            .collect();
        for kind in [
            ObjectKind::VirtualTable,
            ObjectKind::Index,
            ObjectKind::View,
            ObjectKind::Trigger,
        ] {
            let mut objects: Vec<&Object> =
                self.objects.iter().filter(|o| o.kind == kind).collect();
            objects.sort_by_key(|o| (o.name.to_lowercase(), o.seq));
            if kind == ObjectKind::View {
                objects = views_in_dependency_order(objects);
            }
            out.extend(objects.iter().map(|o| o.sql.as_str()));
        }
        out
    }

    /// The schema as normalized DDL (one statement per paragraph), ready to
    /// be `schema.sql`.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for stmt in self.statements() {
            // A virtual table's arguments are its module's, not SQL: kept
            // exactly as written.
            if is_virtual(stmt) {
                out.push_str(stmt.trim());
            } else {
                out.push_str(&crate::sql::pretty(stmt));
            }
            out.push_str(";\n\n");
        }
        if out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}

/// `views` (sorted by name) reordered so that a view comes after every
/// view it names; a cycle keeps name order.
fn views_in_dependency_order(views: Vec<&Object>) -> Vec<&Object> {
    let mut out: Vec<&Object> = Vec::with_capacity(views.len());
    let mut pending = views;
    while !pending.is_empty() {
        let ready = pending.iter().position(|v| {
            !pending
                .iter()
                .any(|other| other.name != v.name && mentions(&v.sql, &other.name))
        });
        out.push(pending.remove(ready.unwrap_or(0)));
    }
    out
}

/// Whether the token stream of `sql` names `name` as a word anywhere. An
/// over-approximation of "depends on", which is the safe direction for every
/// use strata makes of it.
pub fn mentions(sql: &str, name: &str) -> bool {
    crate::sql::tokenize(sql)
        .iter()
        .any(|t| t.kind == crate::sql::Kind::Word && t.value().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names() {
        assert!(is_internal("strata_history"));
        assert!(is_internal("STRATA_LOG"));
        assert!(is_internal("sqlite_sequence"));
        assert!(!is_internal("user"));
        assert!(!is_internal("strata_historyx"));
    }

    #[test]
    fn affinities() {
        assert_eq!(affinity("VARCHAR(64)"), "TEXT");
        assert_eq!(affinity("BIGINT"), "INTEGER");
        assert_eq!(affinity(""), "BLOB");
        assert_eq!(affinity("DOUBLE PRECISION"), "REAL");
        assert_eq!(affinity("DECIMAL(10,2)"), "NUMERIC");
    }

    #[test]
    fn mentions_matches_words_only() {
        assert!(mentions(
            "CREATE VIEW v AS SELECT \"User\".id FROM user",
            "user"
        ));
        assert!(!mentions("CREATE VIEW v AS SELECT 'user' AS x", "user"));
    }

    #[test]
    fn parents_first_is_the_passes_order_on_any_graph() {
        // Tables named so that parents sort both before and after their
        // children, with chains, fan-out and a cycle in the last round.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..40 {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            let count = 2 + next(30) as usize;
            let mut sql = String::new();
            let mut names: Vec<String> = Vec::new();
            for i in 0..count {
                let name = format!("t{}", next(1000));
                if names.contains(&name) {
                    continue;
                }
                let mut cols = vec!["id INTEGER PRIMARY KEY".to_string()];
                // Parents made earlier: a DAG whose names sort either way.
                for k in 0..next(3).min(names.len() as u64) {
                    let parent = if round == 39 && i == 0 {
                        "t_cycle".to_string()
                    } else {
                        names[next(names.len() as u64) as usize].clone()
                    };
                    cols.push(format!("p{k} INTEGER REFERENCES {parent} (id)"));
                }
                sql.push_str(&format!("CREATE TABLE {name} ({});\n", cols.join(", ")));
                names.push(name);
            }
            if round == 39 {
                sql.push_str("CREATE TABLE t_cycle (id INTEGER PRIMARY KEY, p INTEGER REFERENCES t_cycle2 (id));\nCREATE TABLE t_cycle2 (id INTEGER PRIMARY KEY, p INTEGER REFERENCES t_cycle (id));\n");
            }
            conn.execute_batch(&sql).unwrap();
            let schema = inspect::inspect(&conn).unwrap();
            let mut sorted: Vec<&Table> = schema.tables.iter().collect();
            sorted.sort_by_key(|t| (t.name.to_lowercase(), t.seq));
            let fast: Vec<&str> = schema
                .tables_parents_first()
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            let passes: Vec<&str> = parents_first_by_passes(sorted)
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            assert_eq!(fast, passes, "round {round}:\n{sql}");
        }
    }
}
