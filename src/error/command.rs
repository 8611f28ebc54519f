//! What the command-line tool's verbs refuse or fail at, beyond the runner
//! and the files: autogenerate's questions, flags that name nothing, a
//! project that is not ready. Each variant is exit code 2 (the request
//! makes no sense as given) or 1 (the project or database is not ready for
//! it); see [`CommandError::is_usage`].

/// Each variant's message (its `Display`) says what went wrong; the fields
/// are the values that message names.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    // The project.
    #[error("{file} not found")]
    SchemaMissing { file: String },
    #[error("{file} is not UTF-8 text")]
    SchemaNotUtf8 { file: String },
    #[error("database {database} does not exist")]
    DatabaseMissing { database: String, hint: bool },
    #[error("{file} already exists: this is a strata project already")]
    ProjectExists { file: String },
    #[error("{dir} exists and is not empty")]
    MigrationsNotEmpty { dir: String },

    // `migrate`.
    #[error("the revision graph has several heads ({})", .heads.join(", "))]
    SeveralHeads { heads: Vec<String> },
    #[error("Target database is not up to date: it is at {current}, the head is {head}")]
    NotUpToDate { current: String, head: String },
    #[error("{file} declares nothing, so this revision would drop every table of the database")]
    EmptySchema { file: String },
    #[error("{} A rename keeps the data; a drop loses it. Nothing was written", .questions.join(" "))]
    UndecidedRenames {
        questions: Vec<String>,
        /// The command that takes the renames.
        keep: String,
        /// The command that says they are drops.
        drop: String,
    },
    #[error("cannot add NOT NULL column '{table}.{column}' without a default: existing rows would have no value for it")]
    NotNullWithoutDefault {
        table: String,
        column: String,
        hint: String,
    },
    #[error("--fill {table}.{column}: this revision adds no column '{column}' to an existing table '{table}', in either direction")]
    FillNoColumn { table: String, column: String },
    #[error("{flag} takes {expected}, not '{given}'")]
    BadFlagValue {
        flag: &'static str,
        expected: &'static str,
        given: String,
    },
    #[error("{flag}: the database has no table '{table}'")]
    RenameNoTable { flag: String, table: String },
    #[error("{flag}: the database already has a table '{table}'")]
    RenameTableExists { flag: String, table: String },
    #[error("{flag}: table '{table}' has no column '{column}'")]
    RenameNoColumn {
        flag: String,
        table: String,
        column: String,
    },
    #[error("{flag}: table '{table}' already has a column '{column}'")]
    RenameColumnExists {
        flag: String,
        table: String,
        column: String,
    },
    #[error("{flag}: {message}")]
    RenameFailed { flag: String, message: String },
    #[error("strata could not plan this change correctly ({what}: {detail}); nothing was written. Please report this as a bug in strata")]
    PlannerBug { what: String, detail: String },
    #[error("{0} failed unexpectedly")]
    Crashed(&'static str),

    // `init --from-db`.
    #[error("--from-db: database {database} does not exist")]
    FromDbMissing { database: String },
    #[error("--from-db: {database} already records strata revisions")]
    FromDbManaged { database: String },
    #[error(
        "--from-db writes schema.sql from the database, and schema.sql exists; move it away first"
    )]
    FromDbSchemaExists,
    #[error("--from-db: the database's schema does not load back as schema.sql{}; nothing was written", .reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    FromDbUnloadable { reason: Option<String> },

    // `merge`.
    #[error("nothing to merge: the revision graph has a single head")]
    NothingToMerge,
    #[error("a merge needs at least two different revisions")]
    MergeNeedsTwo,
    #[error("cannot merge {ancestor} with {descendant}: {ancestor} is already an ancestor of {descendant}")]
    MergeAncestor {
        ancestor: String,
        descendant: String,
    },

    // Targets a verb cannot take.
    #[error("{what} takes {expected}, not '{given}'")]
    BadTarget {
        what: &'static str,
        expected: &'static str,
        given: String,
    },
    #[error("downgrade --sql needs a database to start from, or a range FROM:TO (for example `head:{target}`)")]
    DowngradeSqlNeedsStart { target: String },

    // `import`.
    #[error("the database has no {table} table: {tool} has not run here (or its table has another name)")]
    ImportNoHistory {
        tool: &'static str,
        table: &'static str,
    },
    #[error("no {tool} migrations directory here (looked for {}); name it with --dir", .tried.join(", "))]
    ImportNoDir {
        tool: &'static str,
        tried: Vec<String>,
    },
    #[error("{tool}'s migrations are in {dir}, where strata.toml also puts strata's revisions")]
    ImportSameDir { tool: &'static str, dir: String },
    #[error("{tool} records version {version} as applied, but no migration file defines it")]
    ImportMissingFile { tool: &'static str, version: String },
    #[error("{tool}'s applied migration {version} is different from the file {file}: it was edited after it ran")]
    ImportDivergent {
        tool: &'static str,
        version: String,
        file: String,
    },
    #[error("{tool}'s migration {version} is partially applied (a failed run left success = false in {table})")]
    ImportDirty {
        tool: &'static str,
        version: String,
        table: &'static str,
    },
    #[error("{file}: {tool} runs it as code, which strata cannot carry as SQL")]
    ImportOpaque { tool: &'static str, file: String },
    #[error("{tool} refuses its migrations: {message}")]
    ImportPeerRefused { tool: &'static str, message: String },
    #[error("{tool} applied {applied} but not the earlier {pending}: strata needs the applied migrations to come first")]
    ImportOutOfOrder {
        tool: &'static str,
        applied: String,
        pending: String,
    },
    #[error("{file} does not run on an empty database ({message}), so its down script cannot be generated")]
    ImportReplay { file: String, message: String },
    #[error("revision {revision} already exists in {file} with other content: it was imported from another state of the history")]
    ImportConflict { revision: String, file: String },
    #[error("{database} already records strata revisions that this import does not explain")]
    ImportManaged { database: String },
    #[error("the database is at several Alembic heads ({}): merge them first", .heads.join(", "))]
    ImportAlembicHeads { heads: Vec<String> },
    #[error("the database is at Alembic revision {at}, but migrations/versions goes on to {head}")]
    ImportAlembicBehind { at: String, head: String },
    #[error("the database is at Alembic revision {at}, which no file in {dir} defines")]
    ImportAlembicUnknown { at: String, dir: String },
    #[error("alembic_version is empty: Flask-Migrate has not upgraded this database")]
    ImportAlembicEmpty,

    // Fleets.
    #[error("--each '{pattern}' matches no database file")]
    FleetEmptyGlob { pattern: String },
    #[error("{flag} is for one database; a fleet run takes upgrade's and downgrade's other flags")]
    FleetFlag { flag: &'static str },
    #[error("--fleet: strata.toml has no [fleet] databases list")]
    FleetNotConfigured,

    // `squash`.
    #[error("nothing to squash: {revision} has no ancestors, so the range base..{revision} is one revision")]
    SquashTooShort { revision: String },
    #[error("revision {revision} branches off {parent}, inside the range base..{to}; a squash must end where every later revision starts")]
    SquashBranchInside {
        revision: String,
        parent: String,
        to: String,
    },
    #[error("{} revision(s) in base..{to} change data, not only schema: {}", .steps.len(), .steps.join("; "))]
    SquashDataSteps { to: String, steps: Vec<String> },
    #[error("the squash does not rebuild what base..{to} builds: {what}; nothing was written")]
    SquashMismatch { to: String, what: String },
    #[error("{} database(s) are part-way through squashed revisions, and upgrade through the files in {dir}: {}", .databases.len(), .databases.join(", "))]
    SquashPartWay { dir: String, databases: Vec<String> },
    #[error("nothing to prune: {dir} does not exist")]
    SquashNothingToPrune { dir: String },
    #[error("squash needs --to REV (or --prune alone, to remove the squashed files)")]
    SquashNeedsTarget,

    // `lint`.
    #[error("--since '{given}' is neither a revision nor a git ref that {dir} is tracked at")]
    LintSince { given: String, dir: String },
    #[error("--format github is for `strata lint`; other commands print text or json")]
    NotGithub,

    // What the output format cannot carry.
    #[error("{what} prints {carries}, which --format json cannot carry{advice}")]
    NotJson {
        what: &'static str,
        carries: &'static str,
        advice: &'static str,
    },
    #[error("--format dot and --format mermaid are for `strata graph` and `strata erd`; other commands print text or json")]
    NotAPicture,

    // strata.toml's application SQL.
    #[error("strata.toml declares function '{name}' with {args} argument(s), which SQLite refuses: {message}")]
    BadFunction {
        name: String,
        args: i32,
        message: String,
    },
    #[error("strata.toml declares collation '{name}': {message}")]
    BadCollation { name: String, message: String },
}

impl CommandError {
    /// Whether the request itself is wrong (exit code 2), rather than the
    /// project or database not being ready for it (1).
    pub fn is_usage(&self) -> bool {
        use CommandError::*;
        matches!(
            self,
            ProjectExists { .. }
                | MigrationsNotEmpty { .. }
                | FillNoColumn { .. }
                | BadFlagValue { .. }
                | RenameNoTable { .. }
                | RenameTableExists { .. }
                | RenameNoColumn { .. }
                | RenameColumnExists { .. }
                | FromDbMissing { .. }
                | FromDbManaged { .. }
                | FromDbSchemaExists
                | BadTarget { .. }
                | DowngradeSqlNeedsStart { .. }
                | NotJson { .. }
                | NotAPicture
                | ImportNoDir { .. }
                | FleetEmptyGlob { .. }
                | FleetFlag { .. }
                | FleetNotConfigured
                | SquashTooShort { .. }
                | SquashNeedsTarget
                | LintSince { .. }
                | NotGithub
        )
    }

    /// A suggestion for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        use CommandError::*;
        Some(match self {
            SchemaMissing { .. } => "declare the schema you want there, or start from the database with `strata dump > schema.sql`".into(),
            DatabaseMissing { hint: true, .. } => "`strata upgrade` creates it".into(),
            SeveralHeads { .. } => "join them first with `strata merge -m \"merge heads\"`, then upgrade".into(),
            NotUpToDate { .. } => "run `strata upgrade` first, so the new revision starts from the head".into(),
            EmptySchema { .. } => "if the file was emptied by mistake, restore it; to really drop everything, write the revision by hand: `strata revision -m \"drop everything\"`".into(),
            UndecidedRenames { keep, drop, .. } => format!("keep the data: `{keep}`; or, if it really is a drop: `{drop}`"),
            NotNullWithoutDefault { hint, .. } => hint.clone(),
            ImportNoHistory { .. } => "run the import where the tool's database is: -d PATH or DATABASE_URL".into(),
            ImportSameDir { .. } => "keep strata's revisions elsewhere: `migrations = \"strata/migrations\"` in strata.toml".into(),
            ImportMissingFile { .. } | ImportDivergent { .. } => "restore the tool's migration files from version control as they were when they ran; nothing was written".into(),
            ImportDirty { tool, version, table } => format!("fix the database by hand as {tool} asks, then remove version {version}'s row from {table}; nothing was written"),
            ImportOutOfOrder { .. } => "apply or revert with the tool until its applied migrations are the first ones, then import".into(),
            ImportAlembicHeads { .. } => "run `flask db merge -m \"merge heads\"` and `flask db upgrade`, then import".into(),
            ImportAlembicBehind { .. } => "run `flask db upgrade` first, so the baseline is the last Alembic revision".into(),
            ImportManaged { .. } => "this database is strata's already: `strata history` shows what it records".into(),
            SquashBranchInside { revision, .. } => format!("squash to a revision every branch has reached (after a merge), or to an earlier one; `strata branches` shows where {revision} starts"),
            SquashDataSteps { to, .. } => format!("keep those statements after the schema: `strata squash --to {to} --data keep`; or leave them out: `strata squash --to {to} --data drop`"),
            SquashMismatch { to, .. } => format!("if a kept data statement is the cause, squash without it: `strata squash --to {to} --data drop`"),
            SquashPartWay { .. } => "run `strata upgrade` on each of them first (a fleet: `strata upgrade --fleet`), then prune".into(),
            LintSince { .. } => "give a revision id (`strata history` lists them) or a git ref such as origin/main (`git fetch` it first in CI)".into(),
            SquashNeedsTarget => "`strata squash --to REV`; `strata history` lists the revisions".into(),
            _ => return None,
        })
    }
}
