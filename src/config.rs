//! Finding the project and its database: `strata.toml` found upward from the
//! working directory (like cargo) or named by `-C DIR` / `--config FILE`,
//! and the database taken, first wins, from `--database`, `DATABASE_URL`,
//! then `strata.toml`. Relative paths are relative to the directory holding
//! `strata.toml`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dqlite::Cluster;

/// The config file's name.
pub const CONFIG_FILE: &str = "strata.toml";

/// What can be wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {CONFIG_FILE} found in {} or any parent directory", .0.display())]
    NotFound(PathBuf),
    #[error("config file {} does not exist", .0.display())]
    ConfigMissing(PathBuf),
    #[error("directory {} does not exist", .0.display())]
    DirMissing(PathBuf),
    #[error("reading {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", .path.display())]
    Parse { path: PathBuf, message: String },
    #[error("invalid database URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("no database configured")]
    NoDatabase,
    #[error("this command needs a database file, and {url} is a dqlite cluster")]
    ClusterNotFile { url: String },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::NotFound(_) => Some(
                "run `strata init` to start a project here, or point at one with -C DIR or --config FILE".into(),
            ),
            ConfigError::NoDatabase => Some(format!(
                "set `database = \"app.db\"` in {CONFIG_FILE}, export DATABASE_URL, or pass --database"
            )),
            ConfigError::BadUrl { url, .. } if url.starts_with(crate::dqlite::SCHEME) => Some(
                "a cluster is dqlite://HOST:PORT[,HOST:PORT...]/DATABASE, e.g. dqlite://127.0.0.1:9001,127.0.0.1:9002/app".into(),
            ),
            ConfigError::BadUrl { .. } => Some(
                "use a file path, sqlite:app.db, sqlite:///relative/path.db or sqlite:////absolute/path.db (or dqlite://HOST:PORT/DATABASE for a cluster)".into(),
            ),
            ConfigError::ClusterNotFile { .. } => Some(
                "on a cluster, use upgrade, downgrade, stamp, rehash, current, history, diff, check, dump, migrate, lint or squash; this command works on SQLite files only".into(),
            ),
            _ => None,
        }
    }
}

/// What the command line and environment say about where to look.
#[derive(Debug, Default, Clone)]
pub struct Locator {
    /// The directory to act as if started in (`-C DIR`); relative paths below
    /// are taken from here.
    pub dir: Option<PathBuf>,
    /// An explicit config file (`--config FILE`).
    pub config: Option<PathBuf>,
    /// `--database URL`.
    pub database: Option<String>,
    /// The `DATABASE_URL` environment variable.
    pub database_url: Option<String>,
}

/// The contents of `strata.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub database: Option<String>,
    #[serde(default = "default_schema")]
    pub schema: String,
    #[serde(default = "default_migrations")]
    pub migrations: String,
    /// The application's own collations, by name.
    #[serde(default)]
    pub collations: Vec<String>,
    /// The application's own SQL functions, by name.
    #[serde(default)]
    pub functions: std::collections::BTreeMap<String, FunctionSpec>,
    /// Tables strata leaves alone (`*` matches any run of characters):
    /// another tool's bookkeeping, a replication tool's tables.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The tenant databases `--fleet` runs over.
    #[serde(default)]
    pub fleet: Option<FleetConfig>,
}

/// strata.toml's `[fleet]`: `databases = ["tenants/*.db"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// Globs, relative to strata.toml's directory.
    pub databases: Vec<String>,
}

/// How strata.toml declares one of the application's SQL functions:
/// `title_sort = { args = 1 }`, `sortconcat = { args = 2, kind = "aggregate" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// How many arguments it takes; -1 for any number.
    #[serde(default = "any_arity")]
    pub args: i32,
    #[serde(default)]
    pub kind: FunctionKind,
}

fn any_arity() -> i32 {
    -1
}

/// A scalar function (one value per row) or an aggregate (one per group).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    #[default]
    Scalar,
    Aggregate,
}

/// The functions and collations the application registers on its own
/// connections. SQLite stores views, triggers and indexes that use them
/// without complaint, but strata's scratch databases must know them to
/// prepare those objects, so they get stand-ins there (`command::register_app_sql`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSql {
    pub functions: std::collections::BTreeMap<String, FunctionSpec>,
    pub collations: Vec<String>,
}

impl AppSql {
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.collations.is_empty()
    }

    /// The TOML strata.toml holds for these declarations.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.collations.is_empty() {
            let names: Vec<String> = self
                .collations
                .iter()
                .map(|c| toml::Value::String(c.clone()).to_string())
                .collect();
            out.push_str(&format!("collations = [{}]\n", names.join(", ")));
        }
        if !self.functions.is_empty() {
            out.push_str("\n[functions]\n");
            for (name, spec) in &self.functions {
                let bare = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                let key = if bare {
                    name.clone()
                } else {
                    toml::Value::String(name.clone()).to_string()
                };
                let kind = match spec.kind {
                    FunctionKind::Scalar => "scalar",
                    FunctionKind::Aggregate => "aggregate",
                };
                out.push_str(&format!(
                    "{key} = {{ args = {}, kind = \"{kind}\" }}\n",
                    spec.args
                ));
            }
        }
        out
    }
}

fn default_schema() -> String {
    "schema.sql".into()
}

fn default_migrations() -> String {
    "migrations".into()
}

/// Where a database location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Env,
    /// `DATABASE_URL` in the `.env` file beside strata.toml.
    DotEnv,
    Config,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "--database",
            Source::Env => "DATABASE_URL",
            Source::DotEnv => ".env",
            Source::Config => CONFIG_FILE,
        })
    }
}

/// A resolved project: its files and its database.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `strata.toml`.
    pub root: PathBuf,
    pub config_path: PathBuf,
    pub schema: PathBuf,
    pub migrations: PathBuf,
    /// The database path, if one is configured anywhere.
    pub database: Option<PathBuf>,
    /// The dqlite cluster, when the configured database is a
    /// `dqlite://` URL (then `database` is `None`).
    pub cluster: Option<Cluster>,
    pub database_source: Option<Source>,
    /// The application's functions and collations (strata.toml).
    pub app_sql: AppSql,
    /// strata.toml's `exclude` patterns.
    pub exclude: Vec<String>,
    /// strata.toml's `[fleet]` globs, relative to `root`.
    pub fleet: Vec<String>,
}

impl Project {
    /// Finds and reads the project's configuration.
    pub fn discover(locator: &Locator) -> Result<Project, ConfigError> {
        let start = start_dir(locator)?;
        let config_path = match &locator.config {
            Some(file) => {
                let file = start.join(file);
                if !file.is_file() {
                    return Err(ConfigError::ConfigMissing(file));
                }
                file
            }
            None => find_upward(&start).ok_or_else(|| ConfigError::NotFound(start.clone()))?,
        };
        let text = std::fs::read_to_string(&config_path).map_err(|source| ConfigError::Read {
            path: config_path.clone(),
            source,
        })?;
        let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: config_path.clone(),
            message: e.message().to_string(),
        })?;
        let root = config_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // `.env` beside strata.toml, as Flask and sqlx projects keep it: the
        // variable in the environment wins over it, `-d` over both.
        let dotenv = match &locator.database_url {
            Some(url) if !url.is_empty() => None,
            _ => read_dotenv(&root.join(".env"))?,
        };
        let located = Locator {
            database_url: locator.database_url.clone().or(dotenv.clone()),
            ..locator.clone()
        };
        let ((database, cluster), database_source) =
            match resolve_database(&located, file.database.as_deref())? {
                // `-d` is a path like any shell tool's: from the working
                // directory (after -C). The others are the project's: from the
                // directory holding strata.toml.
                Some((place, Source::Flag)) => (place.under(&start), Some(Source::Flag)),
                Some((place, Source::Env))
                    if dotenv.is_some() && locator.database_url.is_none() =>
                {
                    (place.under(&root), Some(Source::DotEnv))
                }
                Some((place, source)) => (place.under(&root), Some(source)),
                None => ((None, None), None),
            };
        Ok(Project {
            schema: root.join(&file.schema),
            migrations: root.join(&file.migrations),
            database,
            cluster,
            database_source,
            config_path,
            root,
            app_sql: AppSql {
                functions: file.functions,
                collations: file.collations,
            },
            exclude: file.exclude,
            fleet: file.fleet.map(|f| f.databases).unwrap_or_default(),
        })
    }

    /// The project, or — when there is no strata.toml but `-d` or
    /// `DATABASE_URL` names a database — a project of just that database,
    /// for the commands that need nothing else (`dump`, `current`).
    pub fn discover_or_database(locator: &Locator) -> Result<Project, ConfigError> {
        match Project::discover(locator) {
            Err(ConfigError::NotFound(start)) if locator.config.is_none() => {
                let Some((place, source)) = resolve_database(locator, None)? else {
                    return Err(ConfigError::NotFound(start));
                };
                let (database, cluster) = place.under(&start);
                Ok(Project {
                    config_path: start.join(CONFIG_FILE),
                    schema: start.join(default_schema()),
                    migrations: start.join(default_migrations()),
                    database,
                    cluster,
                    database_source: Some(source),
                    root: start,
                    app_sql: AppSql::default(),
                    exclude: Vec::new(),
                    fleet: Vec::new(),
                })
            }
            other => other,
        }
    }

    /// The database path, or an error saying none is configured.
    /// A project that does not exist yet, for `strata import` to create in
    /// the starting directory: its database from `-d`, `DATABASE_URL` or a
    /// `.env` there (as sqlx and dbmate projects keep it), revisions in
    /// `migrations`.
    pub fn to_create(locator: &Locator, migrations: &str) -> Result<Project, ConfigError> {
        let start = start_dir(locator)?;
        let dotenv = match &locator.database_url {
            Some(url) if !url.is_empty() => None,
            _ => read_dotenv(&start.join(".env"))?,
        };
        let located = Locator {
            database_url: locator.database_url.clone().or(dotenv),
            ..locator.clone()
        };
        let ((database, cluster), database_source) = match resolve_database(&located, None)? {
            Some((place, source)) => (place.under(&start), Some(source)),
            None => ((None, None), None),
        };
        Ok(Project {
            config_path: start.join(CONFIG_FILE),
            schema: start.join(default_schema()),
            migrations: start.join(migrations),
            database,
            cluster,
            database_source,
            root: start,
            app_sql: AppSql::default(),
            exclude: Vec::new(),
            fleet: Vec::new(),
        })
    }

    /// Whether strata.toml's `exclude` names `table`.
    pub fn excludes(&self, table: &str) -> bool {
        self.exclude.iter().any(|p| glob_match(p, table))
    }

    pub fn database(&self) -> Result<&Path, ConfigError> {
        if let Some(cluster) = &self.cluster {
            return Err(ConfigError::ClusterNotFile { url: cluster.url() });
        }
        self.database.as_deref().ok_or(ConfigError::NoDatabase)
    }

    /// The configured database as the user would name it: its path, or
    /// the cluster's URL.
    pub fn database_label(&self) -> Option<String> {
        match (&self.cluster, &self.database) {
            (Some(cluster), _) => Some(cluster.url()),
            (None, Some(path)) => Some(display_path(path)),
            (None, None) => None,
        }
    }

    /// `path` as the user would like to read it: relative to the working
    /// directory when it is below it.
    pub fn display(&self, path: &Path) -> String {
        display_path(path)
    }
}

pub use crate::db::display_path;

/// The directory strata acts from: the working directory, moved by `-C`.
pub fn start_dir(locator: &Locator) -> Result<PathBuf, ConfigError> {
    let cwd = std::env::current_dir().map_err(|source| ConfigError::Read {
        path: PathBuf::from("."),
        source,
    })?;
    match &locator.dir {
        Some(dir) => {
            let dir = cwd.join(dir);
            if !dir.is_dir() {
                return Err(ConfigError::DirMissing(dir));
            }
            Ok(dir)
        }
        None => Ok(cwd),
    }
}

/// `DATABASE_URL` from a `.env` file, if the file exists and sets it.
fn read_dotenv(path: &Path) -> Result<Option<String>, ConfigError> {
    if !path.is_file() {
        return Ok(None);
    }
    let entries = dotenvy::from_path_iter(path).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    for entry in entries {
        let (key, value) = entry.map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if key == "DATABASE_URL" {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

fn find_upward(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(CONFIG_FILE))
        .find(|candidate| candidate.is_file())
}

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A SQLite file, relative paths not yet resolved.
    File(PathBuf),
    /// A dqlite cluster.
    Cluster(Cluster),
}

impl Place {
    /// (the file, resolved from `base`; the cluster).
    fn under(self, base: &Path) -> (Option<PathBuf>, Option<Cluster>) {
        match self {
            Place::File(path) => (Some(base.join(path)), None),
            Place::Cluster(cluster) => (None, Some(cluster)),
        }
    }
}

/// Reads a database URL: a `dqlite://` cluster, or anything
/// [`parse_database_url`] takes.
pub fn parse_place(url: &str) -> Result<Place, ConfigError> {
    if url.starts_with(crate::dqlite::SCHEME) {
        return Cluster::parse(url)
            .map(Place::Cluster)
            .map_err(|reason| ConfigError::BadUrl {
                url: url.to_string(),
                reason,
            });
    }
    parse_database_url(url).map(Place::File)
}

/// Picks the database location, first wins: flag, environment, config file.
fn resolve_database(
    locator: &Locator,
    configured: Option<&str>,
) -> Result<Option<(Place, Source)>, ConfigError> {
    let candidates = [
        (locator.database.as_deref(), Source::Flag),
        (
            locator.database_url.as_deref().filter(|s| !s.is_empty()),
            Source::Env,
        ),
        (configured, Source::Config),
    ];
    for (value, source) in candidates {
        if let Some(value) = value {
            return Ok(Some((parse_place(value)?, source)));
        }
    }
    Ok(None)
}

/// Accepts the ways Flask, SQLAlchemy and sqlx users write a SQLite URL,
/// and plain paths:
/// - `sqlite:///relative.db` and `sqlite:////absolute.db` (SQLAlchemy's
///   reading: three slashes are relative, four absolute; sqlx reads
///   `sqlite:///x.db` as absolute, strata follows SQLAlchemy);
/// - `sqlite://app.db` and `sqlite:app.db` (sqlx), relative unless the path
///   itself starts with `/`;
/// - anything after `?` (driver options such as `?mode=rwc`) is ignored.
pub fn parse_database_url(url: &str) -> Result<PathBuf, ConfigError> {
    let bad = |reason: &str| ConfigError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if url.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    if url.contains('\0') {
        return Err(bad("it contains a NUL byte"));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite:") {
        // sqlite:// + "/" + path (SQLAlchemy): "/rel.db" is relative,
        // "//abs.db" absolute; sqlite://path and sqlite:path (sqlx).
        let rest = match rest.strip_prefix("//") {
            Some(after) => after.strip_prefix('/').unwrap_or(after),
            None => rest,
        };
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" || path.starts_with("file::memory:") {
            return Err(bad(
                "strata needs a database file, not an in-memory database",
            ));
        }
        path
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(bad(&format!(
            "strata works with SQLite files, not '{scheme}' databases"
        )));
    } else if url == ":memory:" {
        return Err(bad(
            "strata needs a database file, not an in-memory database",
        ));
    } else {
        url
    };
    Ok(PathBuf::from(path))
}

/// The text `strata init` writes into `strata.toml`.
/// `*` matches any run of characters, case-insensitively (SQLite's names are).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_lowercase(), name.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let mut rest = n.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

pub fn render_config(database: &str, app_sql: &AppSql) -> String {
    let database = toml::Value::String(database.to_string());
    let mut out = format!(
        "# strata project configuration (see docs/commands.md).\n\
         # The database path is relative to this file; DATABASE_URL and --database override it.\n\
         database   = {database}\n\
         schema     = \"schema.sql\"\n\
         migrations = \"migrations\"\n"
    );
    if !app_sql.is_empty() {
        out.push_str(
            "\n# The application's own collations and SQL functions, which its views,\n\
             # triggers and indexes use: strata gives them stand-ins in its scratch\n\
             # databases (see docs/guide.md, \"The application's functions\").\n",
        );
        out.push_str(&app_sql.render());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9.6: the application's functions and collations, read and
    /// written back the same.
    #[test]
    fn exclude_patterns() {
        assert!(glob_match("_litestream_*", "_litestream_seq"));
        assert!(glob_match("schema_migrations", "Schema_Migrations"));
        assert!(glob_match("*_audit", "user_audit"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(!glob_match("user", "users"));
    }

    #[test]
    fn application_sql_round_trips_through_toml() {
        let text = "database = \"app.db\"\ncollations = [\"unicase\"]\n[functions]\ntitle_sort = { args = 1 }\nsortconcat = { args = 2, kind = \"aggregate\" }\n";
        let file: ConfigFile = toml::from_str(text).unwrap();
        assert_eq!(file.functions["title_sort"].kind, FunctionKind::Scalar);
        assert_eq!(file.functions["sortconcat"].args, 2);
        let app = AppSql {
            functions: file.functions,
            collations: file.collations,
        };
        let again: ConfigFile = toml::from_str(&render_config("app.db", &app)).unwrap();
        assert_eq!(again.functions, app.functions);
        assert_eq!(again.collations, app.collations);
        assert!(toml::from_str::<ConfigFile>("[functions]\nf = { kind = \"window\" }\n").is_err());
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            parse_database_url("sqlite:///app.db").unwrap(),
            PathBuf::from("app.db")
        );
        assert_eq!(
            parse_database_url("sqlite:///data/app.db").unwrap(),
            PathBuf::from("data/app.db")
        );
        assert_eq!(
            parse_database_url("sqlite:////srv/app.db").unwrap(),
            PathBuf::from("/srv/app.db")
        );
        assert_eq!(
            parse_database_url("app.db").unwrap(),
            PathBuf::from("app.db")
        );
        assert_eq!(
            parse_database_url("sqlite:///app.db?timeout=5").unwrap(),
            PathBuf::from("app.db")
        );
        // sqlx's forms (issue 10.9).
        assert_eq!(
            parse_database_url("sqlite:app.db").unwrap(),
            PathBuf::from("app.db")
        );
        assert_eq!(
            parse_database_url("sqlite://app.db").unwrap(),
            PathBuf::from("app.db")
        );
        assert_eq!(
            parse_database_url("sqlite://data/app.db?mode=rwc").unwrap(),
            PathBuf::from("data/app.db")
        );
        for bad in [
            "",
            "postgresql://u@h/db",
            "sqlite:///:memory:",
            "sqlite::memory:",
            ":memory:",
            "sqlite:",
        ] {
            assert!(
                parse_database_url(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn first_source_wins() {
        let mut locator = Locator {
            database_url: Some("sqlite:///env.db".into()),
            ..Locator::default()
        };
        let (path, source) = resolve_database(&locator, Some("conf.db"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (path, source),
            (Place::File(PathBuf::from("env.db")), Source::Env)
        );
        locator.database = Some("flag.db".into());
        let (path, source) = resolve_database(&locator, Some("conf.db"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (path, source),
            (Place::File(PathBuf::from("flag.db")), Source::Flag)
        );
        let (path, source) = resolve_database(&Locator::default(), Some("conf.db"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (path, source),
            (Place::File(PathBuf::from("conf.db")), Source::Config)
        );
        assert!(resolve_database(&Locator::default(), None)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_cluster_url_is_a_place_of_its_own() {
        let place = parse_place("dqlite://10.0.0.1:9001,10.0.0.2:9001/app").unwrap();
        let Place::Cluster(cluster) = &place else {
            panic!("{place:?}");
        };
        assert_eq!(cluster.seeds, ["10.0.0.1:9001", "10.0.0.2:9001"]);
        assert_eq!(cluster.database, "app");
        let (file, cluster) = place.under(Path::new("/srv"));
        assert!(file.is_none() && cluster.is_some());
        let err = parse_place("dqlite://10.0.0.1/app").unwrap_err();
        assert!(err.to_string().contains("is not HOST:PORT"), "{err}");
        assert!(err.hint().unwrap().starts_with("a cluster is dqlite://"));
        // A file URL is still a file.
        assert_eq!(
            parse_place("sqlite:///app.db").unwrap(),
            Place::File(PathBuf::from("app.db"))
        );
    }

    #[test]
    fn config_round_trips() {
        let file: ConfigFile =
            toml::from_str(&render_config("my \"app\".db", &AppSql::default())).unwrap();
        assert_eq!(file.database.as_deref(), Some("my \"app\".db"));
        assert_eq!(file.schema, "schema.sql");
        assert!(toml::from_str::<ConfigFile>("databse = \"x\"").is_err());
    }
}
