//! Reading a journal back, twice at most: [`JournalIndex::read`] makes one sequential pass that yields the
//! metadata, the end mark, the summary and a small index of the endpoint lines (address, port, where the
//! line is: about 40 bytes per open endpoint, not the record); [`JournalIndex::for_each`] then visits the
//! records in (address, port) order, reading each line once at its offset, with the host-level findings
//! merged in. Every report sink is fed from that second pass, so no report holds the records in memory
//! and two sweeps of the same servers list them in the same order, whatever the visiting order. The
//! second pass is parallel but ordered: [`READERS`] threads read and parse alternate batches, and each
//! lane of sinks ([`JournalIndex::for_each_in`]) sees every batch in order on a thread of its own.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::spool::{RowSpool, Spooled};
use super::{HostFindings, JournalDigest, Raw, ReportError, Sha256, io_err};
use crate::input::{BoundedLines, MAX_JOURNAL_LINE, is_filler};
use crate::model::{
    Counts, EndMark, EndpointRecord, HostFindingLine, JournalLine, Reachability, SCHEMA_READ, ScanMeta, Summary,
};

/// Where one endpoint line is, and the little the host-level pass and the summary need of it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    address: IpAddr,
    port: u16,
    flags: u8,
    /// Where the line is in the journal, or (flag [`SPOOLED`]) where the record is in the row spool.
    offset: u64,
    len: u32,
}

/// The endpoint answered Redis in plaintext.
const PLAINTEXT_REDIS: u8 = 1;
/// The endpoint speaks TLS Redis (PING over TLS answered, or a client certificate is required).
const TLS_REDIS: u8 = 2;
/// The record carries findings of its own.
const HAS_FINDINGS: u8 = 4;
/// The endpoint was open.
const OPEN: u8 = 8;
/// The entry points into the row spool ([`super::spool`]), not the journal.
const SPOOLED: u8 = 16;

/// The start of an endpoint line as [`super::Journal`] writes it: such a line is parsed straight into an
/// [`EndpointRecord`] (its `type` and `position` fields are ignored), without the buffering an
/// internally tagged enum costs.
const ENDPOINT_PREFIX: &[u8] = br#"{"type":"endpoint","#;

/// A journal line with where it starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// Byte offset of the line.
    pub offset: u64,
    /// Its length, newline excluded.
    pub len: u32,
    /// 1-based line number.
    pub number: usize,
    /// False for a last line without a newline (possibly torn).
    pub terminated: bool,
}

/// One parsed line: endpoint lines parsed straight into the record (with the scan-order position when
/// asked for: only `--resume` needs it).
#[derive(Debug)]
pub enum Line {
    /// An endpoint and, when asked for, its position.
    Endpoint(Box<EndpointRecord>, Option<u64>),
    /// Any other line.
    Other(JournalLine),
}

/// The position field of an endpoint line, alone.
#[derive(serde::Deserialize)]
struct Position {
    position: Option<u64>,
}

fn parse(buf: &[u8], with_position: bool) -> Result<Line, serde_json::Error> {
    if buf.starts_with(ENDPOINT_PREFIX) {
        let record = parse_record(buf)?;
        let position = if with_position { serde_json::from_slice::<Position>(buf)?.position } else { None };
        return Ok(Line::Endpoint(Box::new(record), position));
    }
    match serde_json::from_slice::<JournalLine>(buf)? {
        JournalLine::Endpoint(j) => Ok(Line::Endpoint(Box::new(j.record), j.position)),
        other => Ok(Line::Other(other)),
    }
}

/// Calls `f` for every line of a journal, in order. A line that does not parse is a write torn by a crash
/// when nothing but NUL bytes and blank lines follow it (a power loss leaves NULs); elsewhere it is an
/// error. Lines are capped at [`MAX_JOURNAL_LINE`] bytes.
///
/// # Errors
/// When the file cannot be read or holds a corrupt line before its end.
pub fn read_lines(path: &Path, with_position: bool, f: impl FnMut(Line, Span)) -> Result<(), ReportError> {
    read_lines_hashed(path, with_position, f).map(|_| ())
}

/// [`read_lines`], also hashing every byte of the file (SHA-256) as it is read.
fn read_lines_hashed(path: &Path, with_position: bool, mut f: impl FnMut(Line, Span)) -> Result<Sha256, ReportError> {
    let file = Hashing { inner: open(path)?, hash: Sha256::new() };
    let mut lines = BoundedLines::new(BufReader::with_capacity(1 << 16, file), MAX_JOURNAL_LINE, u64::MAX);
    let bad = |n: usize, reason: String| ReportError::BadJournal {
        path: path.to_path_buf(),
        reason: format!("line {n}: {reason}"),
    };
    let mut buf = Vec::new();
    let mut torn: Option<(usize, String)> = None;
    let mut start = 0u64;
    loop {
        let info = match lines.next_line(&mut buf) {
            Ok(Some(info)) => info,
            Ok(None) => break,
            Err(e) => return Err(bad(lines.line_number(), e.to_string())),
        };
        let span = Span {
            offset: start,
            len: u32::try_from(buf.len()).unwrap_or(u32::MAX),
            number: info.number,
            terminated: info.terminated,
        };
        start = info.end_offset;
        if is_filler(&buf) {
            continue;
        }
        if let Some((n, reason)) = torn.take() {
            return Err(bad(n, reason));
        }
        match parse(&buf, with_position) {
            Ok(l) => f(l, span),
            Err(e) => torn = Some((info.number, e.to_string())),
        }
    }
    Ok(lines.into_inner().into_inner().hash)
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// An index being built: from a read of the journal ([`JournalIndex::read`]), or live, by the writer as it
/// appends (a fresh run then never reads its journal before the reports' pass).
#[derive(Debug)]
pub struct Builder {
    path: PathBuf,
    /// The metadata line.
    pub meta: Option<ScanMeta>,
    /// The end line, if written.
    pub end: Option<EndMark>,
    journaled: Counts,
    own: Summary,
    hosts: HostFindings,
    entries: Vec<Entry>,
    rows: Option<RowSpool>,
}

impl Builder {
    /// An empty index of the journal at `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            meta: None,
            end: None,
            journaled: Counts::default(),
            own: Summary::default(),
            hosts: HostFindings::new(),
            entries: Vec::new(),
            rows: None,
        }
    }

    /// Renders every record's CSV rows into `spool` as it is indexed (a live index of a fresh run).
    #[must_use]
    pub fn with_rows(mut self, spool: RowSpool) -> Self {
        self.rows = Some(spool);
        self
    }

    /// One endpoint line, at `offset`, `len` bytes (newline excluded).
    pub fn endpoint(&mut self, r: &EndpointRecord, offset: u64, len: u32) {
        self.journaled.add(r);
        super::add_findings(&mut self.own, r);
        self.entries.push(Entry { address: r.address, port: r.port, flags: flags(r), offset, len });
    }

    /// The endpoint line the writer has just appended at `offset` (`line`, newline included): indexed,
    /// and spooled with its CSV rows when there is a spool ([`Builder::with_rows`]).
    pub fn appended(&mut self, r: &EndpointRecord, offset: u64, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.endpoint(r, offset, u32::try_from(line.len()).unwrap_or(u32::MAX));
        let spooled = match (&mut self.rows, record_fields(line)) {
            (Some(spool), Some(fields)) => spool.add(r, fields),
            _ => None,
        };
        if let (Some(e), Some((offset, len))) = (self.entries.last_mut(), spooled) {
            (e.offset, e.len) = (offset, len);
            e.flags |= SPOOLED;
        }
    }

    /// The index, given the SHA-256 of the journal's bytes so far.
    ///
    /// # Errors
    /// When there was no metadata line, or it is of a schema this tool does not read.
    pub fn build(self, hash: Sha256) -> Result<JournalIndex, ReportError> {
        let Self { path, meta, end, journaled, mut own, hosts, mut entries, rows } = self;
        let rows = rows.and_then(RowSpool::finish);
        if rows.is_none() && entries.iter().any(|e| e.flags & SPOOLED != 0) {
            // The spool failed after records were spooled: their entries point into it, so the journal
            // (complete, and what the spool only repeats) is read again to index them.
            tracing::warn!("the row spool failed: the journal is read again for the reports");
            return JournalIndex::read(&path);
        }
        let mut meta =
            meta.ok_or_else(|| ReportError::BadJournal { path: path.clone(), reason: "no scan metadata line".into() })?;
        if !SCHEMA_READ.contains(&meta.schema_version.as_str()) {
            return Err(ReportError::BadJournal {
                path,
                reason: format!("schema {} (this tool reads {})", meta.schema_version, SCHEMA_READ.join(", ")),
            });
        }
        // The end mark counts endpoints that were not journaled (closed, filtered); without it (a crash,
        // or a journal still being written), what the journal holds is all we know.
        let (counts, finished_at, interrupted) = match end {
            Some(e) => (e.counts, Some(e.finished_at), e.interrupted),
            None => (journaled, None, true),
        };
        meta.finished_at = finished_at;
        meta.interrupted = interrupted;
        meta.counts = Some(counts.clone());
        // Report order: by (address, port); one entry per endpoint (a record journaled twice, e.g. by an
        // older merge, is listed once: the first).
        // The journal offset breaks ties: an unstable sort (faster) then keeps the first journaled.
        entries.sort_unstable_by_key(|e| (address_key(e.address), e.port, e.offset));
        entries.dedup_by_key(|e| (e.address, e.port));
        own.counts = counts;
        let mut index = JournalIndex {
            path,
            digest: JournalDigest { meta, summary: Summary::default(), hosts },
            entries,
            own,
            hash,
            rows,
        };
        index.summarise();
        Ok(index)
    }
}

/// A journal read once: its digest and where each endpoint line is, in (address, port) order.
#[derive(Debug)]
pub struct JournalIndex {
    path: PathBuf,
    /// Metadata (completed with the end time and counts), summary, host findings.
    pub digest: JournalDigest,
    entries: Vec<Entry>,
    /// Finding tallies of the records themselves (host findings are added when the summary is made).
    own: Summary,
    /// SHA-256 of the journal as read: a journal still being written continues it ([`super::Journal::continue_hash`]).
    pub hash: Sha256,
    /// The CSV rows rendered during the sweep (a fresh run's live index only).
    rows: Option<Spooled>,
}

impl JournalIndex {
    /// The first read: one sequential pass over the journal.
    ///
    /// # Errors
    /// When the journal cannot be read, has no metadata line, or is of a schema this tool does not read.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        Self::read_inner(path)
    }

    /// [`JournalIndex::read`] of a finished journal, with its SHA-256 (hex).
    ///
    /// # Errors
    /// As [`JournalIndex::read`].
    pub fn read_hashed(path: &Path) -> Result<(Self, String), ReportError> {
        let index = Self::read_inner(path)?;
        let sha = index.hash.hex();
        Ok((index, sha))
    }

    fn read_inner(path: &Path) -> Result<Self, ReportError> {
        let mut b = Builder::new(path);
        let hash = read_lines_hashed(path, false, |line, span| match line {
            Line::Endpoint(r, _) => b.endpoint(&r, span.offset, span.len),
            Line::Other(JournalLine::Scan(m)) => b.meta = Some(*m),
            Line::Other(JournalLine::End(e)) => b.end = Some(e),
            Line::Other(JournalLine::HostFinding(h)) => b.hosts.entry((h.address, h.port)).or_default().push(h.finding),
            Line::Other(JournalLine::Progress(_) | JournalLine::Endpoint(_)) => {}
        })?;
        b.build(hash)
    }

    /// Completes the digest of a journal read before its end line was written.
    pub fn set_end(&mut self, end: &EndMark) {
        let meta = &mut self.digest.meta;
        meta.finished_at = Some(end.finished_at.clone());
        meta.interrupted = end.interrupted;
        meta.counts = Some(end.counts.clone());
        self.own.counts = end.counts.clone();
        self.summarise();
    }

    /// Adds host-level findings (written to the journal by the caller) and updates the summary.
    pub fn add_host_findings(&mut self, lines: &[HostFindingLine]) {
        for h in lines {
            self.digest.hosts.entry((h.address, h.port)).or_default().push(h.finding.clone());
        }
        self.summarise();
    }

    /// The summary: the records' own findings plus the host-level ones.
    fn summarise(&mut self) {
        let mut s = self.own.clone();
        for ((address, port), found) in &self.digest.hosts {
            let Some(e) = self.entry(*address, *port) else { continue };
            if e.flags & HAS_FINDINGS == 0 && !found.is_empty() {
                s.endpoints_with_findings += 1;
            }
            for f in found {
                *s.findings_by_severity.entry(f.severity).or_default() += 1;
                *s.findings_by_id.entry(f.id).or_default() += 1;
                s.max_severity = s.max_severity.max(Some(f.severity));
            }
        }
        self.digest.summary = s;
    }

    fn entry(&self, address: IpAddr, port: u16) -> Option<&Entry> {
        self.entries
            .binary_search_by_key(&(address, port), |e| (e.address, e.port))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// True when the journal holds an open endpoint `address:port`.
    pub fn has_open(&self, address: IpAddr, port: u16) -> bool {
        self.entry(address, port).is_some_and(|e| e.flags & OPEN != 0)
    }

    /// The hosts with a TLS Redis endpoint, in address order: their plaintext Redis ports and TLS Redis
    /// ports. Hosts with plaintext Redis alone are left out: they raise no host-level finding, and a
    /// plaintext fleet then costs the host pass no memory.
    pub fn redis_hosts(&self) -> Vec<(IpAddr, Vec<u16>, Vec<u16>)> {
        let mut out: Vec<(IpAddr, Vec<u16>, Vec<u16>)> = Vec::new();
        let mut host: Option<(IpAddr, Vec<u16>, Vec<u16>)> = None;
        for e in self.entries.iter().filter(|e| e.flags & (PLAINTEXT_REDIS | TLS_REDIS) != 0) {
            if host.as_ref().is_some_and(|h| h.0 != e.address) {
                out.extend(host.take().filter(|h| !h.2.is_empty()));
            }
            let h = host.get_or_insert_with(|| (e.address, Vec::new(), Vec::new()));
            if e.flags & PLAINTEXT_REDIS != 0 {
                h.1.push(e.port);
            } else {
                h.2.push(e.port);
            }
        }
        out.extend(host.filter(|h| !h.2.is_empty()));
        out
    }

    /// Number of endpoint records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the journal holds no endpoint record.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The second read: every record in (address, port) order, host findings merged in (most severe
    /// first), each line read once at its offset.
    ///
    /// # Errors
    /// When the journal cannot be read, or `f` fails.
    pub fn for_each<E: From<ReportError> + Send>(
        &self,
        f: impl FnMut(&EndpointRecord, &Raw<'_>) -> Result<(), E> + Send,
    ) -> Result<(), E> {
        self.for_each_in(vec![Box::new(f)])
    }

    /// [`JournalIndex::for_each`] for several consumers at once: each lane sees every record, in order,
    /// on a thread of its own. Reading and parsing the lines is the other half of the work: it runs on
    /// [`READERS`] threads, each taking every `READERS`-th batch, and the batches are handed to the lanes
    /// in order. Each reader and each lane holds at most two batches: memory stays flat, whatever the
    /// journal's size, and a slow lane holds the others back rather than letting batches pile up.
    ///
    /// # Errors
    /// When the journal cannot be read, or a lane fails (the first error in lane order).
    pub fn for_each_in<'a, E: From<ReportError> + Send>(&self, lanes: Vec<Lane<'a, E>>) -> Result<(), E> {
        let file = open(&self.path)?;
        let chunks = self.entries.chunks(BATCH).count();
        std::thread::scope(|scope| {
            let file = &file;
            let spawn_failed = |e| E::from(io_err(Path::new("report thread"))(e));
            let readers = (0..READERS)
                .map(|first| {
                    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch, ReportError>>(1);
                    std::thread::Builder::new().name(format!("report-read-{first}")).spawn_scoped(
                        scope,
                        move || {
                            for chunk in self.entries.chunks(BATCH).skip(first).step_by(READERS) {
                                let batch = self.read_batch(file, chunk);
                                let failed = batch.is_err();
                                // A closed channel: a lane failed and the pass stopped.
                                if tx.send(batch).is_err() || failed {
                                    return;
                                }
                            }
                        },
                    )?;
                    Ok(rx)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(spawn_failed)?;
            let (feeds, lanes): (Vec<_>, Vec<_>) = lanes
                .into_iter()
                .enumerate()
                .map(|(n, mut lane)| {
                    let (tx, rx) = std::sync::mpsc::sync_channel::<std::sync::Arc<Batch>>(1);
                    let done = std::thread::Builder::new().name(format!("report-lane-{n}")).spawn_scoped(
                        scope,
                        move || -> Result<(), E> {
                            for batch in rx {
                                for (r, spans) in batch.records.iter().zip(&batch.spans) {
                                    lane(r, &spans.raw(&batch.bytes))?;
                                }
                            }
                            Ok(())
                        },
                    )?;
                    Ok((tx, done))
                })
                .collect::<Result<Vec<_>, std::io::Error>>()
                .map_err(spawn_failed)?
                .into_iter()
                .unzip();
            let mut read_error = None;
            'batches: for i in 0..chunks {
                let batch = match readers.get(i % READERS).map(std::sync::mpsc::Receiver::recv) {
                    Some(Ok(Ok(batch))) => std::sync::Arc::new(batch),
                    Some(Ok(Err(e))) => {
                        read_error = Some(e);
                        break;
                    }
                    // A reader that stopped early has sent its error already; nothing more can come.
                    Some(Err(_)) | None => break,
                };
                for feed in &feeds {
                    // A lane that failed dropped its end: its error is collected below.
                    if feed.send(batch.clone()).is_err() {
                        break 'batches;
                    }
                }
            }
            drop(feeds);
            drop(readers);
            let mut result = Ok(());
            for lane in lanes {
                let outcome = lane.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                result = result.and(outcome);
            }
            match read_error {
                Some(e) => Err(e.into()),
                None => result,
            }
        })
    }

    /// Reads and parses the lines of `entries`, host findings merged in (most severe first).
    fn read_batch(&self, file: &File, entries: &[Entry]) -> Result<Batch, ReportError> {
        // Lines of this schema, as this tool writes them, are passed on as they are (without their
        // `type` and `position`) for sinks that would write the same JSON again.
        let same_schema = self.digest.meta.schema_version == crate::model::SCHEMA_VERSION;
        let mut batch = Batch {
            records: Vec::with_capacity(entries.len()),
            bytes: Vec::new(),
            spans: Vec::with_capacity(entries.len()),
        };
        for e in entries {
            let start = batch.bytes.len();
            batch.bytes.resize(start + e.len as usize, 0);
            let read = batch.bytes.get_mut(start..).unwrap_or_default();
            let (mut r, spans) = match &self.rows {
                Some(spool) if e.flags & SPOOLED != 0 => {
                    // Spooled: one read for the record and its rows.
                    spool.read(e.offset, read).map_err(io_err(spool.path()))?;
                    let bad = |reason: String| ReportError::BadJournal {
                        path: spool.path().to_path_buf(),
                        reason: format!("byte {}: {reason}", e.offset),
                    };
                    let (fields, ep) = super::spool::header(read).ok_or_else(|| bad("a torn entry".into()))?;
                    // `{` over the header's last byte: `{` + members is the record's JSON object.
                    let json = start + super::spool::HEADER - 1;
                    let rows = json + 1 + fields;
                    if let Some(brace) = batch.bytes.get_mut(json) {
                        *brace = b'{';
                    }
                    let r = parse_record(batch.bytes.get(json..rows).unwrap_or_default())
                        .map_err(|err| bad(err.to_string()))?;
                    let end = start + e.len as usize;
                    let spans = Spans {
                        fields: Some(json + 1..rows),
                        endpoint_row: Some(rows..rows + ep),
                        finding_rows: Some(rows + ep..end),
                    };
                    (r, spans)
                }
                _ => {
                    file.read_exact_at(read, e.offset).map_err(io_err(&self.path))?;
                    let r = from_line(read).map_err(|reason| ReportError::BadJournal {
                        path: self.path.clone(),
                        reason: format!("byte {}: {reason}", e.offset),
                    })?;
                    // Where the record's fields sit in `bytes`, when they can be copied as they are.
                    let fields = same_schema
                        .then(|| record_fields(read).map(|f| start + (read.len() - f.len())..start + read.len()))
                        .flatten();
                    (r, Spans { fields, ..Spans::default() })
                }
            };
            // The host-level pass added findings: nothing written earlier is this record any more.
            let spans = match self.digest.hosts.get(&(r.address, r.port)) {
                Some(extra) => {
                    merge_host_findings(&mut r, extra);
                    Spans::default()
                }
                None => spans,
            };
            batch.records.push(r);
            batch.spans.push(spans);
        }
        Ok(batch)
    }
}

/// Records per batch between the reading threads and the lanes. Up to ten batches are in flight (two
/// per reader, two per lane), each record parsed and with its bytes: 512 took the pass from 20 to 60
/// MiB at 262,144 records, 128 keeps it at 26 MiB for the same speed.
const BATCH: usize = 128;

/// Threads reading and parsing journal lines in the second pass.
const READERS: usize = 2;

/// One consumer of [`JournalIndex::for_each_in`]: called with every record (and its JSON members when
/// they can be copied), in (address, port) order, on a thread of its own.
pub type Lane<'a, E> = Box<dyn FnMut(&EndpointRecord, &Raw<'_>) -> Result<(), E> + Send + 'a>;

/// Parsed records and the bytes of their lines.
struct Batch {
    records: Vec<EndpointRecord>,
    bytes: Vec<u8>,
    /// Per record: where in `bytes` is what sinks may copy ([`Raw`]).
    spans: Vec<Spans>,
}

/// [`Raw`] as ranges of a batch's bytes.
#[derive(Default)]
struct Spans {
    fields: Option<std::ops::Range<usize>>,
    endpoint_row: Option<std::ops::Range<usize>>,
    finding_rows: Option<std::ops::Range<usize>>,
}

impl Spans {
    fn raw<'a>(&self, bytes: &'a [u8]) -> Raw<'a> {
        let get = |span: &Option<std::ops::Range<usize>>| span.clone().and_then(|s| bytes.get(s));
        Raw { fields: get(&self.fields), endpoint_row: get(&self.endpoint_row), finding_rows: get(&self.finding_rows) }
    }
}

/// The record's fields of an endpoint line written by this tool: what follows `{"type":"endpoint",` and
/// `"position":N,` (a JSON object's members, closing brace included).
fn record_fields(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(ENDPOINT_PREFIX)?;
    let Some(after) = rest.strip_prefix(br#""position":"#) else { return Some(rest) };
    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
    after.get(digits..)?.strip_prefix(b",")
}

fn open(path: &Path) -> Result<File, ReportError> {
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path).map_err(io_err(path))
}

/// An address as a number that sorts as `IpAddr` does (IPv4 first, each family in numeric order), and
/// compares faster.
fn address_key(a: IpAddr) -> (bool, u128) {
    match a {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (true, u128::from(v6)),
    }
}

/// Adds the host-level pass's findings to a record's own (most severe first).
fn merge_host_findings(r: &mut EndpointRecord, extra: &[crate::model::Finding]) {
    // The audit may have raised the same id from the server's configuration: one is enough.
    let own: Vec<_> = r.findings.iter().map(|f| f.id).collect();
    r.findings.extend(extra.iter().filter(|f| !own.contains(&f.id)).cloned());
    r.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
}

/// A record's JSON object (as `report.json` holds it, or an endpoint line: its `type` and `position` are
/// ignored), checked for UTF-8 once, then parsed without a check per string.
fn parse_record(buf: &[u8]) -> Result<EndpointRecord, serde_json::Error> {
    match std::str::from_utf8(buf) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(buf),
    }
}

/// An endpoint line's record.
fn from_line(buf: &[u8]) -> Result<EndpointRecord, String> {
    match parse(buf, false).map_err(|e| e.to_string())? {
        Line::Endpoint(r, _) => Ok(*r),
        Line::Other(_) => Err("not an endpoint line".into()),
    }
}

fn flags(r: &EndpointRecord) -> u8 {
    let mut f = 0;
    if r.reachability == Reachability::Open {
        f |= OPEN;
    }
    if r.plaintext.as_ref().is_some_and(|p| p.status.is_redis()) {
        f |= PLAINTEXT_REDIS;
    } else if r
        .tls
        .as_ref()
        .is_some_and(|t| t.speaks_tls && (t.is_redis() || t.client_auth == crate::model::ClientAuth::Required))
    {
        f |= TLS_REDIS;
    }
    if !r.findings.is_empty() {
        f |= HAS_FINDINGS;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scan metadata of this schema, as a journal's first line holds it.
    fn test_meta() -> ScanMeta {
        serde_json::from_value(serde_json::json!({
            "tool": "redis-tls-scan", "version": "0", "schema_version": crate::model::SCHEMA_VERSION,
            "started_at": "x", "scanner_host": "h", "command_line": [], "targets": [], "ports": [],
            "exclusions": [], "unresolved": [], "trust": {"roots": "system", "ca_files": [], "anchors": 0},
            "timeouts_ms": {"connect": 1, "read": 1, "endpoint": 1}, "concurrency": 1, "rate": 0,
            "host_concurrency": 1, "endpoints_planned": 2, "seed": "1", "cipher_scan": "full", "warn_days": 30,
            "reserved_excluded": true, "merged_from": [], "interrupted": false
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// An open endpoint of 10.0.0.2 with `findings` and nothing else.
    fn test_record(port: u16, findings: Vec<crate::model::Finding>) -> EndpointRecord {
        EndpointRecord {
            address: "10.0.0.2".parse().unwrap(),
            port,
            name: None,
            reachability: Reachability::Open,
            plaintext: None,
            tls: None,
            certificate: None,
            audit: None,
            findings,
            started_at: "2026-12-01T00:00:00Z".into(),
            duration_ms: 1,
            connections: 1,
            deadline_exceeded: false,
        }
    }

    #[test]
    fn endpoint_lines_parse_straight_into_records_and_others_through_the_enum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let meta = test_meta();
        let mut text = serde_json::to_string(&JournalLine::Scan(Box::new(meta))).unwrap() + "\n";
        for port in [6380, 6379] {
            let line = JournalLine::Endpoint(Box::new(crate::model::JournaledEndpoint {
                position: Some(u64::from(port)),
                record: test_record(port, Vec::new()),
            }));
            text += &(serde_json::to_string(&line).unwrap() + "\n");
        }
        std::fs::write(&path, &text).unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(b"{\"type\":\"scan\""));
        let index = JournalIndex::read(&path).unwrap();
        assert_eq!(index.len(), 2);
        let mut ports = Vec::new();
        index
            .for_each(|r, raw| {
                ports.push(r.port);
                // The journal's bytes are exactly the record's serialization (what report.json copies).
                let json = serde_json::to_vec(r).unwrap();
                assert_eq!(raw.fields, json.get(1..));
                Ok::<(), ReportError>(())
            })
            .unwrap();
        assert_eq!(ports, vec![6379, 6380], "sorted, whatever the journal order");
    }

    /// A live index with a row spool, as a fresh run's writer builds it; `break_after` records, the
    /// spool fails as on a full disk. The pass must give the same records either way, with spooled
    /// rows only when the spool held.
    fn live_pass(break_after: Option<usize>) -> Vec<(u16, usize, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let meta = test_meta();
        let mut journal = super::super::Journal::create(dir.path(), &meta).unwrap();
        let mut b = Builder::new(&dir.path().join(super::super::JOURNAL))
            .with_rows(RowSpool::create(dir.path(), false).unwrap());
        b.meta = Some(meta);
        for (i, port) in (7000..7010u16).rev().enumerate() {
            if break_after == Some(i) {
                b.rows.as_mut().unwrap().break_for_test();
            }
            let finding = crate::model::Finding {
                id: crate::model::FindingId::PlaintextEnabled,
                severity: crate::model::Severity::High,
                evidence: format!("=cmd|' /C calc'!A{port}, \"quoted\""),
            };
            let record = test_record(port, vec![finding; usize::from(port % 3)]);
            let line =
                JournalLine::Endpoint(Box::new(crate::model::JournaledEndpoint { position: Some(i as u64), record }));
            let (offset, _) = journal.append_unflushed(&line).unwrap();
            let JournalLine::Endpoint(j) = &line else { unreachable!() };
            b.appended(&j.record, offset, journal.last_line());
        }
        journal.flush().unwrap();
        let index = b.build(journal.hash().unwrap()).unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        index
            .for_each(|r, raw| {
                // What was spooled is what the sinks would render now.
                let mut rendered = (Vec::new(), Vec::new());
                let (mut ep, mut fnd) =
                    (super::super::csv::RowWriter::default(), super::super::csv::RowWriter::default());
                ep.endpoint(r).unwrap();
                ep.take_into(&mut rendered.0);
                fnd.findings(r).unwrap();
                fnd.take_into(&mut rendered.1);
                if let (Some(e), Some(f)) = (raw.endpoint_row, raw.finding_rows) {
                    assert_eq!((e, f), (rendered.0.as_slice(), rendered.1.as_slice()));
                }
                assert_eq!(raw.fields, serde_json::to_vec(r).unwrap().get(1..));
                seen.lock().unwrap().push((r.port, r.findings.len(), raw.endpoint_row.is_some()));
                Ok::<(), ReportError>(())
            })
            .unwrap();
        drop(index);
        let left = std::fs::read_dir(dir.path()).unwrap().flatten();
        assert_eq!(left.filter(|e| e.file_name().to_string_lossy().contains("spool")).count(), 0, "spool removed");
        seen.into_inner().unwrap()
    }

    #[test]
    fn spooled_records_come_back_whole_and_a_failed_spool_falls_back_to_the_journal() {
        let spooled = live_pass(None);
        let fallback = live_pass(Some(4));
        let without = |v: &[(u16, usize, bool)]| v.iter().map(|(p, n, _)| (*p, *n)).collect::<Vec<_>>();
        assert_eq!(spooled.len(), 10);
        assert_eq!(without(&spooled), without(&fallback), "the same records, in order");
        assert_eq!(spooled.first().map(|s| s.0), Some(7000), "in (address, port) order");
        assert!(spooled.iter().all(|s| s.2), "every row spooled");
        assert!(fallback.iter().all(|s| !s.2), "after a failure, every row rendered from the journal");
    }

    #[test]
    fn address_keys_sort_as_addresses_do() {
        let mut addrs: Vec<IpAddr> =
            ["::1", "10.0.0.2", "255.255.255.255", "::ffff:1.2.3.4", "0.0.0.0", "fe80::1", "10.0.0.10"]
                .iter()
                .map(|a| a.parse().unwrap())
                .collect();
        let mut by_key = addrs.clone();
        addrs.sort();
        by_key.sort_by_key(|a| address_key(*a));
        assert_eq!(addrs, by_key);
    }

    #[test]
    fn every_lane_sees_every_record_in_order_and_a_failing_lane_stops_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let meta = serde_json::to_string(&JournalLine::Scan(Box::new(test_meta()))).unwrap();
        let mut text = format!("{meta}\n");
        // More than two batches, written in descending order: both readers take part, and order is the index's.
        let n = BATCH * 2 + 100;
        for i in (0..n).rev() {
            let (a, b) = (i / 256, i % 256);
            text += &format!(
                r#"{{"type":"endpoint","position":{i},"address":"10.0.{a}.{b}","port":6379,"reachability":"open","findings":[],"started_at":"x","duration_ms":1,"connections":1}}"#
            );
            text.push('\n');
        }
        std::fs::write(&path, &text).unwrap();
        let index = JournalIndex::read(&path).unwrap();
        let seen: Vec<std::sync::Mutex<Vec<IpAddr>>> = (0..3).map(|_| std::sync::Mutex::new(Vec::new())).collect();
        let lanes: Vec<Lane<'_, ReportError>> = seen
            .iter()
            .map(|out| -> Lane<'_, ReportError> {
                Box::new(move |r, _| {
                    out.lock().unwrap().push(r.address);
                    Ok(())
                })
            })
            .collect();
        index.for_each_in(lanes).unwrap();
        let mut sorted: Vec<IpAddr> = seen[0].lock().unwrap().clone();
        sorted.sort();
        assert_eq!(sorted.len(), n);
        for lane in &seen {
            assert_eq!(*lane.lock().unwrap(), sorted, "every lane, every record, in (address, port) order");
        }
        // A lane that fails: its error comes back, and the other lanes stop too (they see no more than
        // what was read before the failure, a few batches at most).
        let count = std::sync::Mutex::new(0usize);
        let mut calls = 0;
        let lanes: Vec<Lane<'_, ReportError>> = vec![
            Box::new(|_, _| {
                calls += 1;
                if calls == n / 2 {
                    return Err(ReportError::Refused { path: "lane".into(), reason: "full".into() });
                }
                Ok(())
            }),
            Box::new(|_, _| {
                *count.lock().unwrap() += 1;
                Ok(())
            }),
        ];
        let err = index.for_each_in(lanes).unwrap_err().to_string();
        assert!(err.contains("full"), "{err}");
        assert!(*count.lock().unwrap() <= n);
    }
}
