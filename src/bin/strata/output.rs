//! Where output goes: data on stdout, progress and log lines on stderr;
//! `--format json` prints one JSON document on stdout instead of text.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// Graphviz DOT (`graph`, `erd`)
    Dot,
    /// Mermaid (`graph`, `erd`)
    Mermaid,
    /// GitHub Actions annotations (`lint`)
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The version of the JSON documents `--format json` prints. It goes up
/// when a key is removed or changes meaning; new keys may appear within a
/// version.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// `value` as a document: `format_version` first, then its keys. Every
/// command prints an object; anything else is carried under `value`.
fn versioned(value: serde_json::Value) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("format_version".into(), JSON_FORMAT_VERSION.into());
    match value {
        serde_json::Value::Object(map) => doc.extend(map),
        other => {
            doc.insert("value".into(), other);
        }
    }
    serde_json::Value::Object(doc)
}

/// Writes bytes to stdout; a closed pipe (`strata … | head`) is not an
/// error worth reporting.
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// The printer every subcommand writes through.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
    color: anstream::ColorChoice,
}

/// The one colour decision for everything strata and clap print: `--color`,
/// else `NO_COLOR` / `CLICOLOR_FORCE` and whether the stream is a terminal
/// (anstream's rules).
pub fn color_choice(color: ColorChoice) -> anstream::ColorChoice {
    match color {
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
        ColorChoice::Auto => anstream::ColorChoice::Auto,
    }
}

const ERROR: anstyle::Style = anstyle::AnsiColor::Red.on_default().bold();
const WARNING: anstyle::Style = anstyle::AnsiColor::Yellow.on_default();
const HINT: anstyle::Style = anstyle::AnsiColor::Cyan.on_default();

impl Printer {
    pub fn new(format: Format, quiet: bool, verbose: u8, color: ColorChoice) -> Printer {
        Printer {
            format,
            quiet,
            verbose,
            color: color_choice(color),
        }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// Whether progress bars may be drawn: stderr is a terminal, and
    /// neither `-q` nor `--format json` asked for quiet.
    pub fn progress(&self) -> bool {
        !self.quiet && self.verbose == 0 && !self.json() && std::io::stderr().is_terminal()
    }

    /// One line on stderr. A closed stderr (`strata upgrade 2>&1 | head -1`)
    /// is ignored: it must never stop, or change, what strata is doing.
    fn line(&self, label: Option<(&str, anstyle::Style)>, text: &str) {
        let mut err = anstream::AutoStream::new(std::io::stderr(), self.color).lock();
        let _ = match label {
            Some((label, style)) => writeln!(err, "{style}{label}{style:#} {text}"),
            None => writeln!(err, "{text}"),
        };
    }

    /// A progress line on stderr (silenced by `-q`).
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.quiet {
            self.line(None, line.as_ref());
        }
    }

    /// A warning on stderr (never silenced).
    pub fn warn(&self, line: impl AsRef<str>) {
        self.line(Some(("warning:", WARNING)), line.as_ref());
    }

    /// A hint on stderr, after a warning it follows up (never silenced).
    pub fn hint(&self, line: impl AsRef<str>) {
        self.line(Some(("hint:", HINT)), line.as_ref());
    }

    /// Text data on stdout.
    pub fn data(&self, text: impl AsRef<str>) {
        let text = text.as_ref();
        let mut out = anstream::AutoStream::new(std::io::stdout(), self.color).lock();
        // A closed pipe (`strata history | head`) is not an error worth a panic.
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// One JSON document on stdout: an object whose first key is
    /// `format_version` ([`JSON_FORMAT_VERSION`]), then the value's own keys
    /// in the order its type declares them (docs/json.md).
    pub fn emit_json<T: Serialize>(&self, value: &T) {
        let rendered = serde_json::to_value(value)
            .map(versioned)
            .and_then(|doc| serde_json::to_string_pretty(&doc));
        match rendered {
            Ok(text) => self.data(text),
            Err(e) => self.line(Some(("error:", ERROR)), &format!("rendering JSON: {e}")),
        }
    }

    /// The error line and its hint, on stderr.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        self.line(Some(("error:", ERROR)), message);
        if let Some(hint) = hint {
            self.hint(hint);
        }
    }
}

/// A bar of n/N steps on stderr, drawn only where [`Printer::progress`]
/// allows (a terminal, no `-q`, no `--format json`); elsewhere it does
/// nothing, so callers need not ask.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Printer {
    /// A progress bar over `len` steps of `what` (`revisions`).
    pub fn bar(&self, len: u64, what: &str) -> Progress {
        let bar = (self.progress() && len > 1).then(|| {
            let bar = indicatif::ProgressBar::new(len);
            let style = indicatif::ProgressStyle::with_template(&format!(
                "{{bar:30}} {{pos}}/{{len}} {what} ({{elapsed}}) {{msg}}"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress { bar }
    }

    /// A spinner for one long step (`copying app.db`).
    pub fn spinner(&self, message: String) -> Progress {
        let bar = self.progress().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(message);
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }
}

impl Progress {
    /// No bar at all.
    pub fn none() -> Progress {
        Progress { bar: None }
    }

    /// Moves to step `pos`, showing `message`.
    pub fn set(&self, pos: u64, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
            bar.set_message(message);
        }
    }

    /// Prints a status line above the bar (or plainly, without one).
    pub fn above(&self, out: &Printer, line: String) {
        match &self.bar {
            Some(bar) => bar.suspend(|| out.status(line)),
            None => out.status(line),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
