//! The planner: `Vec<Change> -> Plan`, pure. One `match` on the change kind
//! with one SQLite choice point, [`alter::alterable`]: when ALTER TABLE can
//! express a table change it is used (ADD / DROP / RENAME COLUMN, RENAME
//! TO); otherwise the table is rebuilt by the 12-step procedure
//! ([`rebuild`]). Every statement carries a comment, which becomes the `--`
//! line above it in the script.

pub mod alter;
mod rebuild;

pub use alter::ColumnOrder;

use crate::diff::{Change, Detail};
use crate::schema::{Object, ObjectKind, Schema, VirtualTable};
use crate::sql::{one_line, quote_ident};

/// What a step is, beyond its SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Normal,
    /// Counts rows that would break a new rule and stops the script if any.
    Precheck,
    /// Can lose data: marked `-- strata:destructive` in the script.
    Destructive,
}

/// One SQL statement of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// A heading, written as a `--` line above the statement.
    pub comment: Option<String>,
    pub sql: String,
    pub kind: StepKind,
}

/// The statements of one direction of a revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// The plan as script text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            if let Some(comment) = &step.comment {
                if !out.is_empty() {
                    out.push('\n');
                }
                for line in comment.lines() {
                    out.push_str("-- ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            if step.kind == StepKind::Destructive {
                out.push_str("-- strata:destructive\n");
            }
            out.push_str(&crate::sql::terminated(&step.sql));
            out.push('\n');
        }
        out
    }

    /// Comments of the steps that can lose data.
    pub fn destructive(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| s.kind == StepKind::Destructive)
    }

    /// The rules that the script checks against existing rows.
    pub fn prechecks(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.kind == StepKind::Precheck)
    }
}

/// Builds the plan for `changes`. `base` is the schema the first change that
/// is not a rename meets: renames only rewrite names, so they may lead or
/// trail the list, and the planner follows every other change from `base`
/// to know which indexes and triggers a rebuilt table carries.
/// `order` says whether added columns may be appended or must land where
/// the target has them ([`ColumnOrder`]).
pub fn plan(changes: &[Change], base: &Schema, order: ColumnOrder) -> Plan {
    plan_with(changes, base, order, &Fills::new())
}

/// Values for columns a change adds to a table that holds rows, keyed by
/// lower-case (table, column): an SQL expression evaluated for each
/// existing row (`migrate --fill TABLE.COLUMN=SQL`). A NOT NULL column with
/// no default can only be added to a table with rows this way, in either
/// direction.
pub type Fills = std::collections::BTreeMap<(String, String), String>;

/// [`plan`], with values to fill added columns in existing rows.
pub fn plan_with(changes: &[Change], base: &Schema, order: ColumnOrder, fills: &Fills) -> Plan {
    let mut planner = Planner {
        state: base.clone(),
        steps: Vec::new(),
        precheck_ready: false,
        order,
        fills: fills.clone(),
        created: Default::default(),
        recreated: Default::default(),
        old_columns: Default::default(),
    };
    // Virtual tables this plan drops and creates again: a change of
    // definition, which keeps their rows.
    for change in changes {
        if let Change::DropObject(o) = change {
            let again = changes.iter().any(|c| {
                matches!(c, Change::AddObject(n) if n.kind == ObjectKind::VirtualTable
                    && o.kind == ObjectKind::VirtualTable
                    && n.name.eq_ignore_ascii_case(&o.name))
            });
            if again {
                planner.recreated.insert(o.name.to_lowercase());
                planner
                    .old_columns
                    .insert(o.name.to_lowercase(), o.columns.clone());
            }
        }
    }
    for change in changes {
        planner.change(change);
    }
    Plan {
        steps: planner.steps,
    }
}

pub(crate) struct Planner {
    /// The schema as the steps so far leave it.
    pub state: Schema,
    pub steps: Vec<Step>,
    precheck_ready: bool,
    order: ColumnOrder,
    fills: Fills,
    /// Tables this plan creates: empty, so nothing to precheck.
    created: std::collections::BTreeSet<String>,
    /// Virtual tables this plan drops and creates again (lower-case).
    recreated: std::collections::BTreeSet<String>,
    /// Their columns before.
    old_columns: std::collections::BTreeMap<String, Vec<String>>,
}

impl Planner {
    /// The fill value for `table.column`, if the user gave one.
    pub(crate) fn fill(&self, table: &str, column: &str) -> Option<&str> {
        self.fills
            .get(&(table.to_lowercase(), column.to_lowercase()))
            .map(String::as_str)
    }
}

impl Planner {
    /// Adds a step. Control characters in the comment are escaped, except
    /// line breaks that separate its lines, so a name can never end a
    /// comment line early.
    pub fn push(&mut self, comment: impl Into<Option<String>>, sql: String, kind: StepKind) {
        let comment = comment.into().map(|c| {
            c.split('\n')
                .map(crate::sql::one_line)
                .collect::<Vec<_>>()
                .join("\n")
        });
        self.steps.push(Step { comment, sql, kind });
    }

    /// Adds a precheck: `rows` is the `FROM … WHERE …` of the violating
    /// rows; `rule` finishes the sentence "N row(s) …".
    pub fn precheck(&mut self, rows: String, rule: String) {
        if !self.precheck_ready {
            // A temporary table whose trigger stops the script: SQL has no
            // other way to stop one (RAISE works only inside triggers). The
            // message is a literal, as every SQLite takes it (a computed one
            // needs 3.47; a dqlite node or Debian's sqlite3 shell has 3.40),
            // and FAIL keeps the row that tripped it, so the runner reads
            // the count and the rule from it for the error it reports.
            self.push(
                Some(
                    "prechecks: stop before changing anything if existing rows break a new rule"
                        .into(),
                ),
                "CREATE TEMP TABLE IF NOT EXISTS strata_precheck (violations INTEGER, rule TEXT)"
                    .into(),
                StepKind::Precheck,
            );
            self.push(
                None,
                "CREATE TEMP TRIGGER IF NOT EXISTS strata_precheck AFTER INSERT ON strata_precheck\n\
                 WHEN NEW.violations > 0\n\
                 BEGIN\n  SELECT RAISE(FAIL, 'precheck failed');\nEND"
                    .into(),
                StepKind::Precheck,
            );
            self.precheck_ready = true;
        }
        self.push(
            None,
            format!(
                "INSERT INTO temp.strata_precheck (violations, rule)\nSELECT count(*), {} {rows}",
                crate::sql::quote_string(&crate::sql::one_line(&format!("row(s) {rule}")))
            ),
            StepKind::Precheck,
        );
    }

    fn change(&mut self, change: &Change) {
        match change {
            Change::RenameTable { from, to } => self.push(
                format!("rename table '{}' to '{}'", one_line(from), one_line(to)),
                format!(
                    "ALTER TABLE {} RENAME TO {}",
                    quote_ident(from),
                    quote_ident(to)
                ),
                StepKind::Normal,
            ),
            Change::RenameColumn { table, from, to } => self.push(
                format!(
                    "rename column '{}.{}' to '{}'",
                    one_line(table),
                    one_line(from),
                    one_line(to)
                ),
                format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    quote_ident(table),
                    quote_ident(from),
                    quote_ident(to)
                ),
                StepKind::Normal,
            ),
            Change::AddTable(t) => {
                self.created.insert(t.name.to_lowercase());
                self.push(
                    format!("add table '{}'", one_line(&t.name)),
                    t.sql.clone(),
                    StepKind::Normal,
                );
                self.state.tables.push(t.clone());
            }
            Change::DropTable(t) => {
                self.push(
                    format!("drop table '{}'", one_line(&t.name)),
                    format!("DROP TABLE {}", quote_ident(&t.name)),
                    StepKind::Destructive,
                );
                self.state
                    .tables
                    .retain(|s| !s.name.eq_ignore_ascii_case(&t.name));
                self.state.objects.retain(|o| {
                    o.kind == ObjectKind::View || !o.table.eq_ignore_ascii_case(&t.name)
                });
            }
            Change::AddObject(o) => {
                if o.kind == ObjectKind::Index && !self.created.contains(&o.table.to_lowercase()) {
                    if let Some((rows, rule)) = unique_index_violations(o) {
                        self.precheck(rows, rule);
                    }
                }
                self.push(
                    format!("add {} '{}'", o.kind.label(), one_line(&o.name)),
                    o.sql.clone(),
                    StepKind::Normal,
                );
                if o.kind == ObjectKind::VirtualTable {
                    self.fill_virtual_table(o);
                }
                self.state.objects.push(o.clone());
            }
            Change::DropObject(o) => {
                self.drop_object(o);
            }
            Change::AlterTable { from, to, details } => {
                // A filled column is copied in by a rebuild, never appended
                // empty by ALTER TABLE.
                let filled = details
                    .iter()
                    .any(|d| matches!(d, Detail::AddColumn(c) if self.fill(&to.name, c).is_some()));
                if !filled && alter::alterable(&self.state, from, to, details, self.order) {
                    self.alter(from, to, details);
                } else {
                    rebuild::rebuild(self, from, to, details);
                }
                if let Some(slot) = self
                    .state
                    .tables
                    .iter_mut()
                    .find(|t| t.name.eq_ignore_ascii_case(&from.name))
                {
                    *slot = to.clone();
                }
            }
        }
    }

    fn drop_object(&mut self, o: &Object) {
        let mut kind = StepKind::Normal;
        if let Some(vt) = VirtualTable::parse(&o.sql).filter(|_| o.kind == ObjectKind::VirtualTable)
        {
            if vt.own_content() && self.recreated.contains(&o.name.to_lowercase()) {
                // Its rows wait in a temporary table for the new definition.
                self.push(
                    format!(
                        "keep the rows of virtual table '{}' while it is re-created",
                        one_line(&o.name)
                    ),
                    format!(
                        "CREATE TEMP TABLE {} AS SELECT rowid AS strata_rowid, * FROM {}",
                        quote_ident(&saved_rows(&o.name)),
                        quote_ident(&o.name)
                    ),
                    StepKind::Normal,
                );
            } else if vt.own_content() || vt.content.as_deref() == Some("") {
                // Its rows (or a contentless index) cannot come back.
                kind = StepKind::Destructive;
            }
        }
        self.push(
            format!("drop {} '{}'", o.kind.label(), one_line(&o.name)),
            format!("DROP {} {}", o.kind.keyword(), quote_ident(&o.name)),
            kind,
        );
        self.state
            .objects
            .retain(|s| !(s.kind == o.kind && s.name.eq_ignore_ascii_case(&o.name)));
    }

    /// A new or re-created virtual table gets its content: an external-
    /// content FTS index is rebuilt from its table (sqlite.org/fts5.html#
    /// the_rebuild_command), and a re-created table's own rows come back
    /// from where [`Planner::drop_object`] kept them, in the columns both
    /// definitions have.
    fn fill_virtual_table(&mut self, o: &Object) {
        let Some(vt) = VirtualTable::parse(&o.sql) else {
            return;
        };
        let name = quote_ident(&o.name);
        if vt.is_fts() && vt.external_content().is_some() {
            self.push(
                format!(
                    "index the rows of '{}' that exist",
                    one_line(vt.external_content().unwrap_or(""))
                ),
                format!("INSERT INTO {name} ({name}) VALUES ('rebuild')"),
                StepKind::Normal,
            );
        } else if vt.own_content() && self.recreated.contains(&o.name.to_lowercase()) {
            let old = self
                .old_columns
                .get(&o.name.to_lowercase())
                .cloned()
                .unwrap_or_default();
            let shared: Vec<String> = o
                .columns
                .iter()
                .filter(|c| old.iter().any(|k| k.eq_ignore_ascii_case(c)))
                .map(|c| quote_ident(c))
                .collect();
            let saved = quote_ident(&saved_rows(&o.name));
            // An R*Tree's first column is its rowid; an FTS table's rowid is
            // apart from its columns.
            let (mut targets, mut sources) = (shared.clone(), shared);
            if vt.is_fts() {
                targets.insert(0, "rowid".into());
                sources.insert(0, "strata_rowid".into());
            }
            self.push(
                Some("copy its rows back, rowids included".into()),
                format!(
                    "INSERT INTO {name} ({})\nSELECT {} FROM temp.{saved}",
                    targets.join(", "),
                    sources.join(", ")
                ),
                StepKind::Normal,
            );
            self.push(None, format!("DROP TABLE temp.{saved}"), StepKind::Normal);
        }
    }

    /// ALTER TABLE … DROP COLUMN / ADD COLUMN, drops first.
    fn alter(
        &mut self,
        from: &crate::schema::Table,
        to: &crate::schema::Table,
        details: &[Detail],
    ) {
        let table = quote_ident(&from.name);
        for d in details {
            if let Detail::DropColumn(name) = d {
                self.push(
                    format!("drop column '{}.{}'", one_line(&from.name), one_line(name)),
                    format!("ALTER TABLE {table} DROP COLUMN {}", quote_ident(name)),
                    StepKind::Destructive,
                );
            }
        }
        for d in details {
            if let Detail::AddColumn(name) = d {
                let Some(col) = to.column(name) else { continue };
                self.push(
                    format!("add column '{}.{}'", one_line(&to.name), one_line(name)),
                    format!("ALTER TABLE {table} ADD COLUMN {}", col.text.definition),
                    StepKind::Normal,
                );
            }
        }
    }
}

/// The temporary table a re-created virtual table's rows wait in.
fn saved_rows(name: &str) -> String {
    format!("strata_rows_{name}")
}

/// For a `CREATE UNIQUE INDEX`, the rows that would repeat a key (`FROM …`)
/// and the rule, as [`Planner::precheck`] takes them: rows where any key
/// part is NULL never conflict, and a partial index counts only the rows its
/// WHERE selects (sqlite.org/lang_createindex.html#unique_indexes).
pub fn unique_index_violations(o: &Object) -> Option<(String, String)> {
    use crate::sql::{matching_paren, span, split_commas, tokenize};
    let tokens = tokenize(&o.sql);
    if !tokens.get(1).is_some_and(|t| t.is("unique")) {
        return None;
    }
    let on = tokens.iter().position(|t| t.is("on"))?;
    let open = on + 2;
    if !tokens.get(open).is_some_and(|t| t.is_punct("(")) {
        return None;
    }
    let close = matching_paren(&tokens, open);
    let mut keys = Vec::new();
    for item in split_commas(tokens.get(open + 1..close)?) {
        let mut item = item;
        while item.last().is_some_and(|t| t.is("asc") || t.is("desc")) {
            item = &item[..item.len() - 1];
        }
        keys.push(span(&o.sql, item).to_string());
    }
    let mut filter: Vec<String> = keys.iter().map(|k| format!("({k}) IS NOT NULL")).collect();
    if let Some(w) = tokens.iter().skip(close).position(|t| t.is("where")) {
        filter.push(format!("({})", span(&o.sql, &tokens[close + w + 1..])));
    }
    Some((
        format!(
            "FROM (SELECT 1 FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1)",
            quote_ident(&o.table),
            filter.join(" AND "),
            keys.join(", ")
        ),
        format!(
            "of '{}' repeat a value of ({}), which unique index '{}' forbids (counted once per repeated value)",
            o.table,
            keys.join(", "),
            o.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, reverse};
    use crate::schema::inspect::inspect;
    use crate::schema::load::load;

    /// Plans A→B, runs it on an empty replica of A, and checks it gives B;
    /// then the down plan gives A.
    fn round_trip(a: &str, b: &str) -> (String, String) {
        let (conn, from) = load(a, "a.sql").unwrap();
        let (_, to) = load(b, "b.sql").unwrap();
        let changes = diff(&from, &to);
        let up = plan(&changes, &from, ColumnOrder::Append);
        let down = plan(&reverse(&changes), &to, ColumnOrder::Exact);
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute_batch(&up.render()).unwrap();
        assert!(
            diff(&inspect(&conn).unwrap(), &to).is_empty(),
            "up:\n{}",
            up.render()
        );
        conn.execute_batch(&down.render()).unwrap();
        assert!(
            diff(&inspect(&conn).unwrap(), &from).is_empty(),
            "down:\n{}",
            down.render()
        );
        (up.render(), down.render())
    }

    #[test]
    fn add_column_uses_alter() {
        let (up, down) = round_trip(
            "CREATE TABLE t (id INTEGER PRIMARY KEY);",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'x');",
        );
        assert!(
            up.contains("ALTER TABLE \"t\" ADD COLUMN note TEXT DEFAULT 'x';"),
            "{up}"
        );
        assert!(
            down.contains("-- strata:destructive\nALTER TABLE \"t\" DROP COLUMN \"note\";"),
            "{down}"
        );
    }

    #[test]
    fn type_change_rebuilds_and_keeps_objects() {
        let (up, _) = round_trip(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, price TEXT);
             CREATE INDEX t_price ON t (price);
             CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN SELECT 1; END;
             CREATE VIEW v AS SELECT price FROM t;
             CREATE VIEW vv AS SELECT * FROM v;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, price REAL);
             CREATE INDEX t_price ON t (price);
             CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN SELECT 1; END;
             CREATE VIEW v AS SELECT price FROM t;
             CREATE VIEW vv AS SELECT * FROM v;",
        );
        assert!(up.contains("INSERT INTO \"_strata_new_t\""), "{up}");
        assert!(up.contains("CREATE INDEX t_price"), "{up}");
        assert!(up.contains("CREATE TRIGGER t_ins"), "{up}");
    }
}
