//! The stdout outlet (`scan --format`): beside the run directory, not instead of the journal.
//!
//! `jsonl` copies the journal's endpoint and host-finding lines to stdout as the writer appends them
//! (the bytes already encoded for the journal: one encoding per record), then one summary line; `json`
//! copies the finished `report.json`. A reader that goes away (`| head -1`) closes the stream: the
//! writer then stops the scan quietly, never a panic or an error message.

use std::io::{self, Read, Write};
use std::path::Path;

use serde::Serialize;

use super::JournalDigest;
use crate::model::{ScanMeta, Summary};

/// What goes to stdout (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The human summary (written by the caller, not by the stream).
    #[default]
    Text,
    /// The journal's endpoint and host-finding lines as written, then a summary line.
    Jsonl,
    /// `report.json` at the end.
    Json,
}

/// The last line of a `jsonl` stream.
#[derive(Debug, Serialize)]
struct SummaryLine<'a> {
    /// Always `summary`, beside the journal's `endpoint` and `host_finding` lines.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The scan metadata, completed with the end (as `report.json`'s `scan`).
    scan: &'a ScanMeta,
    /// The totals (as `report.json`'s `summary`).
    summary: &'a Summary,
}

/// What the stream writes, and whether its reader is still there.
#[derive(Debug)]
pub struct Stream<W: Write> {
    format: Format,
    out: W,
    /// Set once a write failed: nothing more is written.
    closed: bool,
    /// A write error other than a closed pipe (a full disk behind `> file`), for a warning.
    error: Option<io::Error>,
}

impl<W: Write> Stream<W> {
    /// A stream in `format` onto `out` (`text` writes nothing here: the summary is the caller's).
    pub fn new(format: Format, out: W) -> Self {
        Self { format, out, closed: false, error: None }
    }

    /// Whether journal lines are wanted now (`jsonl`, reader still there).
    pub fn live(&self) -> bool {
        self.format == Format::Jsonl && !self.closed
    }

    /// True once the reader went away or a write failed.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// A write error that was not a closed pipe.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Copies one journal line (newline included) when live.
    pub fn line(&mut self, bytes: &[u8]) {
        if self.live() {
            let r = self.out.write_all(bytes);
            self.check(r);
        }
    }

    /// Hands what was written to the reader (once per batch of records).
    pub fn flush(&mut self) {
        if !self.closed && self.format != Format::Text {
            let r = self.out.flush();
            self.check(r);
        }
    }

    /// The end: the summary line (`jsonl`) or `report.json` from `dir` (`json`).
    pub fn finish(&mut self, digest: &JournalDigest, dir: &Path) {
        if self.closed {
            return;
        }
        let r = match self.format {
            Format::Text => Ok(()),
            Format::Jsonl => {
                let line = SummaryLine { kind: "summary", scan: &digest.meta, summary: &digest.summary };
                serde_json::to_writer(&mut self.out, &line)
                    .map_err(io::Error::from)
                    .and_then(|()| self.out.write_all(b"\n"))
            }
            Format::Json => copy_file(&dir.join("report.json"), &mut self.out),
        };
        self.check(r);
        self.flush();
    }

    fn check(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            self.closed = true;
            // A closed pipe is the reader's choice, not an error.
            if e.kind() != io::ErrorKind::BrokenPipe {
                self.error = Some(e);
            }
        }
    }
}

/// Streams a file to `out` in chunks (a report.json is never held whole).
fn copy_file(path: &Path, out: &mut impl Write) -> io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.write_all(buf.get(..n).unwrap_or_default())?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that takes `room` bytes, then is gone.
    struct Pipe {
        got: Vec<u8>,
        room: usize,
    }

    impl Write for Pipe {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.got.len() + b.len() > self.room {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.got.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn jsonl_copies_lines_until_the_reader_goes_quietly() {
        let mut s = Stream::new(Format::Jsonl, Pipe { got: Vec::new(), room: 10 });
        s.line(b"{\"a\":1}\n");
        assert!(s.live());
        s.line(b"{\"b\":2}\n");
        assert!(s.closed() && !s.live() && s.error().is_none());
        s.line(b"{\"c\":3}\n");
        assert_eq!(s.out.got, b"{\"a\":1}\n");
    }

    #[test]
    fn text_and_json_copy_no_lines() {
        for f in [Format::Text, Format::Json] {
            let mut s = Stream::new(f, Vec::new());
            s.line(b"{}\n");
            assert!(s.out.is_empty() && !s.live());
        }
    }

    #[test]
    fn other_write_errors_are_kept_for_a_warning() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("no space left"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut s = Stream::new(Format::Jsonl, Full);
        s.line(b"{}\n");
        assert!(s.closed() && s.error().is_some());
    }
}
