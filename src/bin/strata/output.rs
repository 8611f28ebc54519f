//! Where output goes: data on stdout, progress and log lines on stderr;
//! `--format json` prints one JSON document on stdout instead of text.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The printer every subcommand writes through.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
    color: bool,
}

impl Printer {
    pub fn new(format: Format, quiet: bool, verbose: u8, color: ColorChoice) -> Printer {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Printer {
            format,
            quiet,
            verbose,
            color,
        }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// A progress line on stderr (silenced by `-q`).
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// A warning on stderr (never silenced).
    pub fn warn(&self, line: impl AsRef<str>) {
        eprintln!("{} {}", self.paint("warning:", "33"), line.as_ref());
    }

    /// A hint on stderr, after a warning it follows up (never silenced).
    pub fn hint(&self, line: impl AsRef<str>) {
        eprintln!("{} {}", self.paint("hint:", "36"), line.as_ref());
    }

    /// Text data on stdout.
    pub fn data(&self, text: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`strata history | head`) is not an error worth a panic.
        let _ = out.write_all(text.as_ref().as_bytes());
        if !text.as_ref().ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
    }

    /// One JSON document on stdout.
    pub fn emit_json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => self.data(text),
            Err(e) => eprintln!("error: rendering JSON: {e}"),
        }
    }

    /// The error line and its hint, on stderr.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        eprintln!("{} {message}", self.paint("error:", "1;31"));
        if let Some(hint) = hint {
            eprintln!("{} {hint}", self.paint("hint:", "36"));
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
