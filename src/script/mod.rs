//! Revision files: `migrations/<id>_<slug>.up.sql` and `.down.sql`.
//!
//! Owns header parsing and writing, slugs, checksums and loading the whole
//! directory. It does not know about the graph's shape beyond handing the
//! `(id, parents)` pairs to [`crate::graph`], nor about databases.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::graph::{GraphError, RevisionGraph};

mod squash;

pub use squash::SQUASHED_DIR;

/// The prefix of every header line.
const DIRECTIVE: &str = "-- strata:";
/// Longest slug taken from a message.
const SLUG_MAX: usize = 40;
/// Longest revision id accepted from `--rev-id` or a file.
const ID_MAX: usize = 64;

/// What can be wrong with revision files or with a new revision's inputs.
/// Each variant's message (its `Display`) says what went wrong; the fields
/// are the values that message names.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{file}: missing header: the first line must be `-- strata:revision ID`")]
    MissingHeader { file: String },
    #[error("{file}:{line}: {message}")]
    BadHeader {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: the header says revision '{header}' but the file name says '{name}'")]
    IdMismatch {
        file: String,
        header: String,
        name: String,
    },
    #[error("{file}: revision '{id}' has an up script but no down script (expected {expected})")]
    MissingDown {
        file: String,
        id: String,
        expected: String,
    },
    #[error("{file}: revision '{id}' has a down script but no up script (expected {expected})")]
    MissingUp {
        file: String,
        id: String,
        expected: String,
    },
    #[error("duplicate revision id '{id}': {first} and {second}")]
    Duplicate {
        id: String,
        first: String,
        second: String,
    },
    #[error("{file}: not UTF-8 text")]
    NotUtf8 { file: String },
    #[error("invalid revision id '{0}': use 1 to 64 ASCII letters and digits")]
    InvalidId(String),
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    #[error("revision '{0}' already exists")]
    Exists(String),
    #[error("migrations directory {0} does not exist")]
    NoMigrationsDir(String),
    #[error("{file}: changed on disk while strata was running")]
    ChangedWhileRunning { file: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: revision '{id}' is replaced by the squash {squash}, so its files belong in {dir}")]
    ReplacedInPlace {
        file: String,
        down: String,
        id: String,
        squash: String,
        dir: String,
    },
    #[error("this database is part-way through the revisions squash {squash} replaces, and the file of '{missing}' is gone from {dir}")]
    Pruned {
        squash: String,
        missing: String,
        dir: String,
    },
    #[error("{0}")]
    Graph(#[from] GraphError),
}

impl ScriptError {
    /// A suggestion for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            ScriptError::NoMigrationsDir(_) => Some("run `strata init` first".into()),
            ScriptError::ReplacedInPlace { file, down, dir, .. } => {
                Some(format!("move both of its files there: `mv {file} {down} {dir}/`"))
            }
            ScriptError::Pruned { dir, .. } => Some(format!(
                "restore {dir} from version control: `git log --diff-filter=D --name-only -- {dir}` names the commit that removed it"
            )),
            ScriptError::Graph(e) => e.hint(),
            _ => None,
        }
    }
}

/// One script file of a revision.
#[derive(Debug, Clone)]
pub struct ScriptFile {
    pub path: PathBuf,
    /// The path as shown to the user.
    pub display: String,
    /// sha256 of the text with line endings normalised, hex-encoded.
    pub sha256: String,
    /// Whether strata wraps the script in a transaction (`-- strata:transaction off` turns it off).
    pub transactional: bool,
    /// The text, when it is held in memory — compiled into the program
    /// (`strata::embed!`) or read once for many databases (a fleet) —
    /// rather than read from `path` each time it runs.
    pub embedded: Option<std::sync::Arc<str>>,
}

impl ScriptFile {
    /// Reads the script again, checking it is still the file that was loaded.
    pub fn read(&self) -> Result<String, ScriptError> {
        if let Some(text) = &self.embedded {
            return Ok(text.to_string());
        }
        let text = read_text(&self.path, &self.display)?;
        // A script loaded for the graph only was never hashed.
        if !self.sha256.is_empty() && checksum(&text) != self.sha256 {
            return Err(ScriptError::ChangedWhileRunning {
                file: self.display.clone(),
            });
        }
        Ok(text)
    }
}

/// A revision: its header and its two scripts.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: String,
    /// Empty for a revision on `base`; two or more for a merge.
    pub parents: Vec<String>,
    pub message: String,
    pub created: String,
    pub up: ScriptFile,
    pub down: ScriptFile,
    /// For a squash (`-- strata:replaces`): the revisions it stands for,
    /// as its header lists them.
    pub replaces: Vec<String>,
    /// For a squash: every revision it stands for, through earlier squashes
    /// it replaces too. Reverting it deletes all of their history rows.
    pub covers: Vec<String>,
}

/// A parsed header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub revision: Option<String>,
    pub parents: Option<Vec<String>>,
    pub message: Option<String>,
    pub created: Option<String>,
    pub transactional: bool,
    /// `-- strata:replaces` lines, in order (a squash lists many).
    pub replaces: Vec<String>,
}

/// sha256 over `text` with CRLF turned into LF and a byte-order mark
/// dropped, so a checkout that converts line endings is not an edit.
pub fn checksum(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut hasher = Sha256::new();
    let mut rest = text;
    while let Some(pos) = rest.find("\r\n") {
        hasher.update(&rest.as_bytes()[..pos]);
        hasher.update(b"\n");
        rest = &rest[pos + 2..];
    }
    hasher.update(rest.as_bytes());
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// The file-name slug for a message: lowercase ASCII `[a-z0-9_]`, at most 40
/// characters, never a path.
pub fn slug(message: &str) -> String {
    let mut out = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        if out.len() >= SLUG_MAX {
            break;
        }
    }
    out.truncate(SLUG_MAX);
    out.trim_end_matches('_').to_string()
}

/// Checks a revision id given with `--rev-id` or found in a file.
pub fn validate_id(id: &str) -> Result<(), ScriptError> {
    let ok = !id.is_empty()
        && id.len() <= ID_MAX
        && id.chars().all(|c| c.is_ascii_alphanumeric())
        && id != "base"
        && id != "head"
        && id != "heads";
    if ok {
        Ok(())
    } else {
        Err(ScriptError::InvalidId(id.chars().take(80).collect()))
    }
}

/// Checks a message: one line of printable text.
pub fn validate_message(message: &str) -> Result<(), ScriptError> {
    if let Some(c) = message.chars().find(|c| c.is_control()) {
        let what = match c {
            '\n' | '\r' => "it must be a single line".to_string(),
            '\0' => "it contains a NUL byte".to_string(),
            c => format!("it contains the control character U+{:04X}", c as u32),
        };
        return Err(ScriptError::InvalidMessage(what));
    }
    let length = message.chars().count();
    if length > MAX_MESSAGE_CHARS {
        return Err(ScriptError::InvalidMessage(format!(
            "it is {length} characters long; keep it to {MAX_MESSAGE_CHARS} (it is a one-line summary; details belong in the script's comments)"
        )));
    }
    Ok(())
}

/// The longest message a revision may carry.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Parses the header lines at the top of a script: the leading lines that
/// start with `-- strata:`.
pub fn parse_header(text: &str, file: &str) -> Result<Header, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut header = Header {
        transactional: true,
        ..Header::default()
    };
    let bad = |line: usize, message: String| ScriptError::BadHeader {
        file: file.to_string(),
        line,
        message,
    };
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let Some(rest) = raw.trim_end().strip_prefix(DIRECTIVE) else {
            break;
        };
        let (key, value) = match rest.find(char::is_whitespace) {
            Some(pos) => (&rest[..pos], rest[pos..].trim()),
            None => (rest, ""),
        };
        let once = |slot: bool, key: &str| {
            if slot {
                Err(bad(line_no, format!("`{DIRECTIVE}{key}` appears twice")))
            } else {
                Ok(())
            }
        };
        match key {
            "revision" => {
                once(header.revision.is_some(), key)?;
                validate_id(value).map_err(|e| bad(line_no, e.to_string()))?;
                header.revision = Some(value.to_string());
            }
            "parent" | "parents" => {
                once(header.parents.is_some(), key)?;
                header.parents = Some(parse_parents(value).map_err(|m| bad(line_no, m))?);
            }
            "message" => {
                once(header.message.is_some(), key)?;
                if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\t') {
                    return Err(bad(
                        line_no,
                        format!(
                            "the message contains the control character U+{:04X}",
                            c as u32
                        ),
                    ));
                }
                header.message = Some(value.to_string());
            }
            "created" => {
                once(header.created.is_some(), key)?;
                header.created = Some(value.to_string());
            }
            "transaction" => match value.to_ascii_lowercase().as_str() {
                "off" => header.transactional = false,
                "on" => header.transactional = true,
                _ => {
                    return Err(bad(
                        line_no,
                        format!("`{DIRECTIVE}transaction` takes `on` or `off`, not '{value}'"),
                    ))
                }
            },
            "replaces" => {
                for id in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    validate_id(id).map_err(|e| bad(line_no, e.to_string()))?;
                    header.replaces.push(id.to_string());
                }
            }
            // Markers a reader may meet in a header: a destructive step, a
            // lint finding accepted on purpose (`strata lint`).
            "destructive" | "allow" => {}
            _ => {
                return Err(bad(
                    line_no,
                    format!("unknown directive `{DIRECTIVE}{key}`"),
                ))
            }
        }
    }
    Ok(header)
}

fn parse_parents(value: &str) -> Result<Vec<String>, String> {
    if value.eq_ignore_ascii_case("base") {
        return Ok(Vec::new());
    }
    let parents: Vec<String> = value.split(',').map(|p| p.trim().to_string()).collect();
    for p in &parents {
        validate_id(p).map_err(|_| {
            format!("invalid parent '{p}': use `base` or revision ids separated by commas")
        })?;
    }
    Ok(parents)
}

/// The header of a new up script.
pub fn render_up_header(id: &str, parents: &[String], message: &str, created: &str) -> String {
    let parent = if parents.is_empty() {
        "base".to_string()
    } else {
        parents.join(", ")
    };
    format!(
        "{DIRECTIVE}revision {id}\n{DIRECTIVE}parent   {parent}\n{DIRECTIVE}message  {message}\n{DIRECTIVE}created  {created}\n"
    )
}

/// A squash's `-- strata:replaces` lines, a few ids to a line.
pub fn render_replaces(replaces: &[String]) -> String {
    replaces
        .chunks(6)
        .map(|ids| format!("{DIRECTIVE}replaces {}\n", ids.join(", ")))
        .collect()
}

/// The header of a new down script.
pub fn render_down_header(id: &str) -> String {
    format!("{DIRECTIVE}revision {id}\n")
}

/// Which half of a revision a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Up,
    Down,
}

/// Splits `20261126110405_users_table.up.sql` into its id and half.
fn classify(name: &str) -> Option<(&str, Half)> {
    let (stem, half) = if let Some(stem) = name.strip_suffix(".up.sql") {
        (stem, Half::Up)
    } else if let Some(stem) = name.strip_suffix(".down.sql") {
        (stem, Half::Down)
    } else {
        return None;
    };
    let id = stem.split('_').next().unwrap_or(stem);
    Some((id, half))
}

fn read_text(path: &Path, display: &str) -> Result<String, ScriptError> {
    let io = |source| ScriptError::Io {
        file: display.to_string(),
        source,
    };
    // `fs::read` asks for the file's size first; revision files are small,
    // and skipping that call matters when a project has thousands of them.
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(4096);
    std::io::Read::read_to_end(&mut std::io::Read::take(&file, u64::MAX), &mut bytes)
        .map_err(io)?;
    String::from_utf8(bytes).map_err(|_| ScriptError::NotUtf8 {
        file: display.to_string(),
    })
}

/// Reads, hashes and parses the header of one script.
fn parse_file(
    dir: &Path,
    display_dir: &str,
    name: &str,
) -> Result<(Header, ScriptFile), ScriptError> {
    let path = dir.join(name);
    let display = format!("{display_dir}/{name}");
    let io = |source| ScriptError::Io {
        file: display.clone(),
        source,
    };
    let not_utf8 = || ScriptError::NotUtf8 {
        file: display.clone(),
    };
    let mut file = fs::File::open(&path).map_err(io)?;
    // The first KEEP_TEXT bytes (and one more, to know whether there are more).
    let mut head = Vec::with_capacity(4096);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut file, KEEP_TEXT as u64 + 1),
        &mut head,
    )
    .map_err(io)?;
    if head.len() <= KEEP_TEXT {
        // A small script is kept as read, so running it reads no file again.
        let text = String::from_utf8(head).map_err(|_| not_utf8())?;
        let header = parse_header(&text, &display)?;
        let file = ScriptFile {
            path,
            sha256: checksum(&text),
            transactional: header.transactional,
            display,
            embedded: Some(std::sync::Arc::from(text)),
        };
        return Ok((header, file));
    }
    // A large script (a data migration) is hashed as it streams past: a
    // command that only needs its checksum never holds it in memory.
    let mut hasher = StreamHash::default();
    let mut chunk = head;
    let mut header = None;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut bytes = std::mem::take(&mut carry);
        bytes.extend_from_slice(&chunk);
        if bytes.is_empty() {
            break;
        }
        // Valid UTF-8 up to a character cut at the chunk's end.
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) if e.error_len().is_none() && !chunk.is_empty() => e.valid_up_to(),
            Err(_) => return Err(not_utf8()),
        };
        carry = bytes.split_off(valid);
        if header.is_none() {
            let text = std::str::from_utf8(&bytes).expect("checked above");
            header = Some(parse_header(text, &display)?);
        }
        hasher.update(&bytes);
        if chunk.is_empty() {
            break;
        }
        chunk.clear();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut file, KEEP_TEXT as u64),
            &mut chunk,
        )
        .map_err(io)?;
    }
    if !carry.is_empty() {
        return Err(not_utf8());
    }
    let header = header.unwrap_or_default();
    let file = ScriptFile {
        path,
        sha256: hasher.finish(),
        transactional: header.transactional,
        display,
        embedded: None,
    };
    Ok((header, file))
}

/// [`checksum`] over text that arrives in pieces.
#[derive(Default)]
struct StreamHash {
    hasher: Sha256,
    started: bool,
    /// The first bytes, held until a byte-order mark can be told apart.
    start: Vec<u8>,
    /// A `\r` at the end of the last piece, not yet known to start `\r\n`.
    cr: bool,
}

impl StreamHash {
    fn update(&mut self, bytes: &[u8]) {
        if self.started {
            return self.normalized(bytes);
        }
        self.start.extend_from_slice(bytes);
        if self.start.len() >= 3 {
            self.begin();
        }
    }

    fn begin(&mut self) {
        self.started = true;
        let start = std::mem::take(&mut self.start);
        let bom = "\u{feff}".as_bytes();
        self.normalized(start.strip_prefix(bom).unwrap_or(&start));
    }

    fn normalized(&mut self, bytes: &[u8]) {
        if self.cr {
            self.cr = false;
            if bytes.first() != Some(&b'\n') {
                self.hasher.update(b"\r");
            }
        }
        let mut rest = bytes;
        while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
            self.hasher.update(&rest[..pos]);
            rest = &rest[pos + 1..];
        }
        if let Some(body) = rest.strip_suffix(b"\r") {
            self.hasher.update(body);
            self.cr = true;
        } else {
            self.hasher.update(rest);
        }
    }

    fn finish(mut self) -> String {
        if !self.started {
            self.begin();
        }
        if self.cr {
            self.hasher.update(b"\r");
        }
        hex(&self.hasher.finalize())
    }
}

/// Scripts up to this size stay in memory once read (a thousand revisions
/// of ordinary DDL are a few hundred KB); larger ones, data scripts, are
/// read again when they run.
const KEEP_TEXT: usize = 64 * 1024;

/// What a command needs of the revision files.
#[derive(Debug, Clone, Copy)]
pub enum Load<'a> {
    /// Everything: both scripts of every revision, read and hashed.
    All,
    /// The graph only: up scripts' headers (and their text); down scripts
    /// are listed, not opened, and carry no checksum. For commands that
    /// show the graph and nothing of the scripts (`current`, `heads`).
    Graph,
    /// The graph, taking the parents and message of applied revisions from
    /// their history rows — what their headers said when they ran — so only
    /// pending revisions' files are opened (`current`). Read as [`Load::Graph`]
    /// when a row names no file here or a squashed folder exists: squashes
    /// need their headers.
    GraphKnowing(&'a [crate::history::Applied]),
}

/// Reads the scripts `load` asks for; a down script under [`Load::Graph`]
/// is a placeholder naming its file.
fn parse_needed(
    dir: &Path,
    display_dir: &str,
    names: &[String],
    load: Load<'_>,
) -> Vec<Result<(Header, ScriptFile), ScriptError>> {
    let known: std::collections::HashMap<&str, &crate::history::Applied> = match load {
        Load::All => return parse_files(dir, display_dir, names),
        Load::Graph => Default::default(),
        Load::GraphKnowing(rows) => rows.iter().map(|r| (r.revision.as_str(), r)).collect(),
    };
    let ups: Vec<String> = names
        .iter()
        .filter(|n| {
            classify(n).is_some_and(|(id, half)| half == Half::Up && !known.contains_key(id))
        })
        .cloned()
        .collect();
    let mut parsed = parse_files(dir, display_dir, &ups).into_iter();
    let unread = |name: &str| ScriptFile {
        path: dir.join(name),
        display: format!("{display_dir}/{name}"),
        sha256: String::new(),
        transactional: true,
        embedded: None,
    };
    names
        .iter()
        .map(|name| match classify(name) {
            Some((id, Half::Up)) if known.contains_key(id) => {
                let row = known[id];
                Ok((
                    Header {
                        revision: Some(id.to_string()),
                        parents: Some(row.parents.clone()),
                        message: Some(row.message.clone()),
                        transactional: true,
                        ..Header::default()
                    },
                    unread(name),
                ))
            }
            Some((id, Half::Down)) => Ok((
                Header {
                    revision: Some(id.to_string()),
                    transactional: true,
                    ..Header::default()
                },
                unread(name),
            )),
            _ => parsed.next().expect("one parse per up script"),
        })
        .collect()
}

/// Parses `names` in order, on a few threads when there are many: loading a
/// project of a thousand revisions is mostly waiting on the file system.
fn parse_files(
    dir: &Path,
    display_dir: &str,
    names: &[String],
) -> Vec<Result<(Header, ScriptFile), ScriptError>> {
    const PER_THREAD: usize = 256;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(names.len().div_ceil(PER_THREAD));
    if threads <= 1 {
        return names
            .iter()
            .map(|n| parse_file(dir, display_dir, n))
            .collect();
    }
    let chunk = names.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|n| parse_file(dir, display_dir, n))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a parser thread panicked"))
            .collect()
    })
}

/// Every revision in a migrations directory, with its graph.
#[derive(Debug, Clone)]
pub struct Migrations {
    pub dir: PathBuf,
    pub graph: RevisionGraph,
    /// The revisions of this view (`squash.rs`): the directory's, or for a
    /// database part-way through a squashed range, the files it replaced.
    revisions: BTreeMap<String, Revision>,
    shelf: std::sync::Arc<squash::Shelf>,
    /// The squashes this view undoes.
    undone: std::collections::BTreeSet<String>,
}

impl Migrations {
    /// Loads and checks every `*.up.sql` / `*.down.sql` pair in `dir`, and
    /// in its `squashed/` folder the revisions squashes replaced.
    /// `display_dir` is how the directory is shown in messages.
    pub fn load(dir: &Path, display_dir: &str) -> Result<Migrations, ScriptError> {
        Self::load_for(dir, display_dir, Load::All)
    }

    /// [`Migrations::load`], reading only what `load` asks for.
    pub fn load_for(
        dir: &Path,
        display_dir: &str,
        load: Load<'_>,
    ) -> Result<Migrations, ScriptError> {
        let Some(names) = revision_files(dir, display_dir)? else {
            return Err(ScriptError::NoMigrationsDir(display_dir.to_string()));
        };
        let load = match load {
            Load::GraphKnowing(rows) => {
                let ids: std::collections::HashSet<&str> =
                    names.iter().filter_map(|n| classify(n).map(|(id, _)| id)).collect();
                let all_here = rows.iter().all(|r| ids.contains(r.revision.as_str()));
                if all_here && !dir.join(SQUASHED_DIR).exists() {
                    load
                } else {
                    Load::Graph
                }
            }
            other => other,
        };
        let main = pair(&names, parse_needed(dir, display_dir, &names, load))?;
        let shelf_dir = dir.join(SQUASHED_DIR);
        let shelf_display = format!("{display_dir}/{SQUASHED_DIR}");
        let squashed = match revision_files(&shelf_dir, &shelf_display)? {
            Some(names) => pair(
                &names,
                parse_needed(&shelf_dir, &shelf_display, &names, load),
            )?,
            None => BTreeMap::new(),
        };
        Self::from_parts(dir, display_dir, main, squashed)
    }

    /// Revisions compiled into the program: `(file name, text)` pairs, as
    /// `strata::build::embed` found them in `display_dir` (those of its
    /// `squashed/` folder named `squashed/<file>`).
    pub fn from_texts(
        display_dir: &str,
        files: &[(&str, &'static str)],
    ) -> Result<Migrations, ScriptError> {
        let dir = Path::new(display_dir);
        let shelf_prefix = format!("{SQUASHED_DIR}/");
        let (mut main, mut shelf) = (Vec::new(), Vec::new());
        for &(name, text) in files {
            match name.strip_prefix(&shelf_prefix) {
                Some(rest) => shelf.push((rest, text)),
                None => main.push((name, text)),
            }
        }
        let shelf_display = format!("{display_dir}/{SQUASHED_DIR}");
        let main = pair_texts(dir, display_dir, main)?;
        let squashed = pair_texts(&dir.join(SQUASHED_DIR), &shelf_display, shelf)?;
        Self::from_parts(dir, display_dir, main, squashed)
    }

    /// Reads every script into memory now (checking each is still the
    /// file that was loaded), for a run that applies them to many
    /// databases: a fleet reads each file once, not once per tenant.
    pub fn preload(&mut self) -> Result<(), ScriptError> {
        self.preload_shelf()
    }

    /// The revision with this exact id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.revisions.get(id)
    }

    /// Every revision, parents before children.
    pub fn in_order(&self) -> impl DoubleEndedIterator<Item = &Revision> {
        self.graph.topological().map(|id| {
            self.revisions
                .get(id)
                .expect("graph built from these revisions")
        })
    }

    /// A fresh revision id: the UTC time `YYYYMMDDHHMMSS`, bumped by a second
    /// while it collides with an existing revision.
    pub fn new_id(&self, now: time::OffsetDateTime) -> String {
        let mut t = now;
        loop {
            let id = format_id(t);
            if !self.revisions.contains_key(&id)
                && !self.squashed().any(|r| r.id == id)
                && !self.file_exists_for(&id)
            {
                return id;
            }
            t += time::Duration::seconds(1);
        }
    }

    fn file_exists_for(&self, id: &str) -> bool {
        fs::read_dir(&self.dir)
            .map(|entries| {
                entries.flatten().any(|e| {
                    classify(&e.file_name().to_string_lossy())
                        .is_some_and(|(file_id, _)| file_id == id)
                })
            })
            .unwrap_or(false)
    }

    /// Writes a new revision's two files; never overwrites an existing file.
    pub fn write_new(&self, new: &NewRevision) -> Result<(PathBuf, PathBuf), ScriptError> {
        validate_id(&new.id)?;
        validate_message(&new.message)?;
        if self.revisions.contains_key(&new.id) || self.file_exists_for(&new.id) {
            return Err(ScriptError::Exists(new.id.clone()));
        }
        let slug = slug(&new.message);
        let stem = if slug.is_empty() {
            new.id.clone()
        } else {
            format!("{}_{slug}", new.id)
        };
        let up_path = self.dir.join(format!("{stem}.up.sql"));
        let down_path = self.dir.join(format!("{stem}.down.sql"));
        let up = format!(
            "{}\n{}",
            render_up_header(&new.id, &new.parents, &new.message, &new.created)
                + &render_replaces(&new.replaces),
            new.up_body
        );
        let down = format!("{}\n{}", render_down_header(&new.id), new.down_body);
        write_new_file(&up_path, &up)?;
        if let Err(e) = write_new_file(&down_path, &down) {
            let _ = fs::remove_file(&up_path);
            return Err(e);
        }
        Ok((up_path, down_path))
    }
}

/// Pairs parsed up and down scripts into revisions.
fn pair(
names: &[String],
parsed: Vec<Result<(Header, ScriptFile), ScriptError>>,
) -> Result<BTreeMap<String, Revision>, ScriptError> {
    let mut ups: BTreeMap<String, (String, Header, ScriptFile)> = BTreeMap::new();
    let mut downs: BTreeMap<String, (String, Header, ScriptFile)> = BTreeMap::new();
    for (name, parsed) in names.iter().zip(parsed) {
        let (header, file) = parsed?;
        let (name_id, half) = classify(name).expect("filtered above");
        let display = file.display.clone();
        let Some(id) = header.revision.clone() else {
            return Err(ScriptError::MissingHeader { file: display });
        };
        if id != name_id {
            return Err(ScriptError::IdMismatch {
                file: display,
                header: id,
                name: name_id.to_string(),
            });
        }
        let map = if half == Half::Up {
            &mut ups
        } else {
            &mut downs
        };
        if let Some((first, _, _)) = map.get(&id) {
            return Err(ScriptError::Duplicate {
                id,
                first: first.clone(),
                second: display,
            });
        }
        if half == Half::Up && header.parents.is_none() {
            return Err(ScriptError::BadHeader {
                file: display,
                line: 1,
                message: format!(
                    "missing `{DIRECTIVE}parent` line (use `base` for a first revision)"
                ),
            });
        }
        map.insert(id, (display, header, file));
    }
    let mut revisions = BTreeMap::new();
    for (id, (display, header, up)) in ups {
        let Some((_, _, down)) = downs.remove(&id) else {
            let expected = display.replace(".up.sql", ".down.sql");
            return Err(ScriptError::MissingDown {
                file: display,
                id,
                expected,
            });
        };
        revisions.insert(
            id.clone(),
            Revision {
                parents: header.parents.unwrap_or_default(),
                message: header.message.unwrap_or_default(),
                created: header.created.unwrap_or_default(),
                replaces: header.replaces,
                covers: Vec::new(),
                id,
                up,
                down,
            },
        );
    }
    if let Some((id, (display, _, _))) = downs.into_iter().next() {
        let expected = display.replace(".down.sql", ".up.sql");
        return Err(ScriptError::MissingUp {
            file: display,
            id,
            expected,
        });
    }
    Ok(revisions)
}

/// Reads a revision's two scripts into memory.
fn preload_revision(rev: &mut Revision) -> Result<(), ScriptError> {
    for file in [&mut rev.up, &mut rev.down] {
        if file.embedded.is_none() {
            file.embedded = Some(std::sync::Arc::from(file.read()?));
        }
    }
    Ok(())
}

/// Parses embedded `(file name, text)` pairs of one directory.
fn pair_texts(
    dir: &Path,
    display_dir: &str,
    mut files: Vec<(&str, &'static str)>,
) -> Result<BTreeMap<String, Revision>, ScriptError> {
    files.retain(|(name, _)| classify(name).is_some());
    files.sort();
    let names: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    let parsed = files
        .iter()
        .map(|(name, text)| {
            let display = format!("{display_dir}/{name}");
            let header = parse_header(text, &display)?;
            Ok((
                header.clone(),
                ScriptFile {
                    path: dir.join(name),
                    sha256: checksum(text),
                    transactional: header.transactional,
                    display,
                    embedded: Some(std::sync::Arc::from(*text)),
                },
            ))
        })
        .collect();
    pair(&names, parsed)
}

/// The revision file names in `dir`, sorted; `None` when it does not exist.
fn revision_files(dir: &Path, display_dir: &str) -> Result<Option<Vec<String>>, ScriptError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ScriptError::Io {
                file: display_dir.to_string(),
                source,
            })
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ScriptError::Io {
            file: display_dir.to_string(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // The directory entry's type costs no system call; only a
        // symlink needs a look at its target.
        let is_file = entry
            .file_type()
            .is_ok_and(|t| t.is_file() || (t.is_symlink() && entry.path().is_file()));
        if is_file && classify(&name).is_some() {
            names.push(name);
        }
    }
    names.sort();
    Ok(Some(names))
}

/// What a new revision's files will hold.
#[derive(Debug, Clone)]
pub struct NewRevision {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    pub created: String,
    pub up_body: String,
    pub down_body: String,
    /// For a squash: the revisions it replaces.
    pub replaces: Vec<String>,
}

fn write_new_file(path: &Path, text: &str) -> Result<(), ScriptError> {
    let io = |source| ScriptError::Io {
        file: path.display().to_string(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// `YYYYMMDDHHMMSS` in UTC.
pub fn format_id(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// RFC 3339 UTC with second precision: `2026-11-26T11:04:05Z`.
pub fn format_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_line_endings_and_bom() {
        let lf = checksum("CREATE TABLE a(x);\nSELECT 1;\n");
        assert_eq!(lf, checksum("CREATE TABLE a(x);\r\nSELECT 1;\r\n"));
        assert_eq!(lf, checksum("\u{feff}CREATE TABLE a(x);\nSELECT 1;\n"));
        assert_ne!(lf, checksum("CREATE TABLE a(y);\nSELECT 1;\n"));
        assert_eq!(lf.len(), 64);
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_streamed_checksum_is_the_checksum() {
        let texts = [
            "\u{feff}SELECT 1;\r\nSELECT 2;\r\n".to_string(),
            "a\r".to_string(),
            "\r\r\n\n\r".to_string(),
            format!("-- é ü 漢\r\n{}", "x\r\ny\n".repeat(1000)),
        ];
        for text in &texts {
            let bytes = text.as_bytes();
            for cut in [1, 2, 3, 7, 64, bytes.len()] {
                let mut stream = StreamHash::default();
                for piece in bytes.chunks(cut) {
                    stream.update(piece);
                }
                assert_eq!(stream.finish(), checksum(text), "{text:?} in pieces of {cut}");
            }
        }
    }

    #[test]
    fn a_large_script_is_hashed_streaming_and_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let body = format!(
            "-- strata:revision 1\r\n-- strata:parent base\r\n{}",
            "INSERT INTO t VALUES ('é');\r\n".repeat(10_000)
        );
        assert!(body.len() > KEEP_TEXT);
        std::fs::write(tmp.path().join("1_a.up.sql"), &body).unwrap();
        let (header, file) = parse_file(tmp.path(), "m", "1_a.up.sql").unwrap();
        assert_eq!(header.revision.as_deref(), Some("1"));
        assert_eq!(file.sha256, checksum(&body));
        assert!(file.embedded.is_none());
        assert_eq!(file.read().unwrap(), body);
        std::fs::write(tmp.path().join("2_b.up.sql"), [b"-- x\n".as_slice(), &vec![0xff; KEEP_TEXT + 10]].concat()).unwrap();
        assert!(matches!(parse_file(tmp.path(), "m", "2_b.up.sql"), Err(ScriptError::NotUtf8 { .. })));
    }

    #[test]
    fn slugs_never_escape() {
        assert_eq!(slug("users table"), "users_table");
        assert_eq!(slug("../../etc/passwd"), "etc_passwd");
        assert_eq!(slug("Größe ändern!"), "gr_e_ndern");
        assert_eq!(slug("///"), "");
        assert_eq!(slug(&"x".repeat(10_000)).len(), 40);
        assert_eq!(
            slug("a b c d e f g h i j k l m n o p q r s t u v"),
            "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q_r_s_t"
        );
    }

    #[test]
    fn ids_and_messages() {
        assert!(validate_id("20261126110405").is_ok());
        assert!(validate_id("e517276bb1c2").is_ok());
        for bad in ["", "a/b", "..", "a b", "base", "x\0", &"1".repeat(65)] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_message("users table").is_ok());
        assert!(validate_message("a\nb").is_err());
        assert!(validate_message("a\0b").is_err());
    }

    #[test]
    fn headers() {
        let text = "\u{feff}-- strata:revision 2\r\n-- strata:parent   1, 0\n-- strata:message  posts table\n-- strata:created  2026-11-26T11:04:05Z\n-- strata:transaction off\n\nCREATE TABLE p(x);\n-- strata:message not header\n";
        let h = parse_header(text, "f").unwrap();
        assert_eq!(h.revision.as_deref(), Some("2"));
        assert_eq!(h.parents, Some(vec!["1".to_string(), "0".to_string()]));
        assert_eq!(h.message.as_deref(), Some("posts table"));
        assert!(!h.transactional);
        let base = parse_header("-- strata:revision 1\n-- strata:parent base\n", "f").unwrap();
        assert_eq!(base.parents, Some(vec![]));
        assert!(parse_header("-- strata:revison 1\n", "f").is_err());
        assert!(parse_header("-- strata:revision 1\n-- strata:revision 2\n", "f").is_err());
        assert!(parse_header("-- strata:revision ../1\n", "f").is_err());
        assert!(parse_header("-- strata:revision 1\n-- strata:transaction maybe\n", "f").is_err());
        assert_eq!(
            parse_header("CREATE TABLE x(y);", "f").unwrap().revision,
            None
        );
    }

    #[test]
    fn header_round_trip() {
        let text = render_up_header(
            "3",
            &["1".into(), "2".into()],
            "merge heads",
            "2026-11-26T00:00:00Z",
        );
        let h = parse_header(&text, "f").unwrap();
        assert_eq!(h.parents, Some(vec!["1".to_string(), "2".to_string()]));
        assert_eq!(h.message.as_deref(), Some("merge heads"));
        assert_eq!(classify("3_merge_heads.up.sql"), Some(("3", Half::Up)));
        assert_eq!(classify("3.down.sql"), Some(("3", Half::Down)));
        assert_eq!(classify("notes.sql"), None);
    }

    #[test]
    fn ids_from_time() {
        let t = time::macros::datetime!(2026-11-26 11:04:05 UTC);
        assert_eq!(format_id(t), "20261126110405");
        assert_eq!(format_time(t), "2026-11-26T11:04:05Z");
    }
}
