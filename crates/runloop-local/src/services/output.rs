//! Output of a command: raw bytes in memory and on disk, the last-N-lines view the API
//! returns, and byte ranges for the output streams.
//!
//! Each stream (stdout or stderr) keeps its newest bytes in memory. When that window grows
//! past twice [`WINDOW_BYTES`], the oldest bytes move to a spill file in the devbox's
//! server-side directory, so the whole output stays readable through the output streams
//! while memory stays bounded. Spill files are deleted with the devbox's directory when the
//! devbox shuts down; the in-memory window outlives them.

use std::io::Write;
use std::path::PathBuf;

use crate::store::StoredOutput;

/// Bytes of each stream kept in memory after a trim. Once output exceeds it, the window
/// contains between this and twice this many bytes while the command runs, and this many
/// after it has exited.
pub const WINDOW_BYTES: usize = 4 * 1024 * 1024;

/// Bytes of each stream written to its spill file at most. Output past this point is kept
/// only while it is in the memory window.
pub const MAX_SPILL_BYTES: u64 = 1024 * 1024 * 1024;

/// One output stream of a command.
///
/// Invariant: the spill file contains bytes `[0, stored)`, and `window` contains bytes
/// `[window_start, len)`. Bytes `[stored, window_start)` are lost, which happens only when
/// spilling failed or reached [`MAX_SPILL_BYTES`].
#[derive(Debug)]
pub struct OutputLog {
    window: Vec<u8>,
    window_start: u64,
    spill_path: Option<PathBuf>,
    spill_file: Option<std::fs::File>,
    stored: u64,
    spill_failed: bool,
}

/// The last lines of a stream and whether earlier output was left out.
#[derive(Debug, PartialEq, Eq)]
pub struct Tail {
    /// The lines, with their newlines; invalid UTF-8 is replaced by U+FFFD.
    pub text: String,
    /// Whether the stream contains output before `text`.
    pub truncated: bool,
}

/// Location of the bytes of a stream from a given offset, as seen at one moment.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadPlan {
    /// Bytes `[start, end)` are in the spill file at `path`, which never changes once
    /// written, and `then` are the bytes that follow them in memory (possibly none). The
    /// memory window begins at `memory_start`.
    Spilled {
        path: PathBuf,
        start: u64,
        end: u64,
        then: Vec<u8>,
        memory_start: u64,
    },
    /// The bytes from the offset on, copied from memory.
    Memory(Vec<u8>),
    /// The bytes at the offset were not kept; the stream continues at `resume_at`.
    Lost { resume_at: u64 },
}

impl OutputLog {
    /// Creates an empty stream that spills to `spill_path`, or keeps only its memory
    /// window when `None`.
    pub fn new(spill_path: Option<PathBuf>) -> Self {
        Self {
            window: Vec::new(),
            window_start: 0,
            spill_path,
            spill_file: None,
            stored: 0,
            spill_failed: false,
        }
    }

    /// Recreates a finished stream from its kept bytes, as stored in the state database.
    /// Bytes before `output.start` read as lost.
    pub fn restored(output: StoredOutput) -> Self {
        Self {
            window: output.bytes,
            window_start: output.start,
            spill_path: None,
            spill_file: None,
            stored: 0,
            spill_failed: false,
        }
    }

    /// Copies the memory window, the part of the stream the state database keeps.
    pub fn stored_output(&self) -> StoredOutput {
        StoredOutput {
            start: self.window_start,
            bytes: self.window.clone(),
        }
    }

    /// Copies the newest [`WINDOW_BYTES`] of the memory window, the part of a running
    /// stream that an output checkpoint stores.
    pub fn checkpoint_output(&self) -> StoredOutput {
        let skip = self.window.len().saturating_sub(WINDOW_BYTES);
        StoredOutput {
            start: self.window_start + skip as u64,
            bytes: self.window[skip..].to_vec(),
        }
    }

    /// Number of bytes the command has written to the stream.
    pub fn len(&self) -> u64 {
        self.window_start + self.window.len() as u64
    }

    /// Appends bytes read from the stream, moving the oldest bytes to the spill file when
    /// the memory window is full. Writes go to the page cache, so this does not wait for
    /// the disk.
    pub fn append(&mut self, chunk: &[u8]) {
        self.window.extend_from_slice(chunk);
        if self.window.len() > 2 * WINDOW_BYTES {
            self.trim_to(WINDOW_BYTES);
        }
    }

    /// Trims the memory window to [`WINDOW_BYTES`] and closes the spill file once the
    /// command has exited; readers open the file by path.
    pub fn finish(&mut self) {
        if self.window.len() > WINDOW_BYTES {
            self.trim_to(WINDOW_BYTES);
        }
        self.spill_file = None;
    }

    /// Deletes the spill file, if any. Its bytes then read as lost, like bytes that were
    /// never spilled.
    pub fn remove_spill(&mut self) {
        self.spill_file = None;
        if let Some(path) = self.spill_path.take() {
            if let Err(error) = std::fs::remove_file(&path) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), %error, "failed to delete a spill file");
                }
            }
        }
    }

    /// Returns the last `last_n` lines of the memory window. While the command runs
    /// (`finished` false), an incomplete UTF-8 sequence at the end is held back until the
    /// rest of it arrives.
    pub fn tail(&self, last_n: usize, finished: bool) -> Tail {
        let data = if finished {
            &self.window[..]
        } else {
            &self.window[..complete_utf8_len(&self.window)]
        };
        let start = tail_start(data, last_n);
        Tail {
            text: String::from_utf8_lossy(&data[start..]).into_owned(),
            truncated: start > 0 || self.window_start > 0,
        }
    }

    /// Returns the memory window as text: all output when it never exceeded
    /// [`WINDOW_BYTES`], else its newest part.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.window).into_owned()
    }

    /// Locates up to `max` bytes starting at `offset`, which must not exceed [`Self::len`].
    pub fn plan_read(&self, offset: u64, max: usize) -> ReadPlan {
        if offset < self.stored {
            if let Some(path) = &self.spill_path {
                let end = self.stored.min(offset + max as u64);
                let room = max - (end - offset) as usize;
                let then = if end == self.window_start {
                    self.window[..room.min(self.window.len())].to_vec()
                } else {
                    Vec::new()
                };
                return ReadPlan::Spilled {
                    path: path.clone(),
                    start: offset,
                    end,
                    then,
                    memory_start: self.window_start,
                };
            }
        }
        if offset < self.window_start {
            return ReadPlan::Lost {
                resume_at: self.window_start,
            };
        }

        let from = usize::try_from(offset - self.window_start).unwrap_or(usize::MAX);
        let from = from.min(self.window.len());
        let to = from.saturating_add(max).min(self.window.len());
        ReadPlan::Memory(self.window[from..to].to_vec())
    }

    /// Moves the oldest bytes of the window to the spill file until `keep` bytes remain.
    fn trim_to(&mut self, keep: usize) {
        let excess = self.window.len() - keep;
        self.spill(excess);
        self.window.drain(..excess);
        self.window_start += excess as u64;
    }

    /// Writes the oldest `count` bytes of the window to the spill file if every byte before
    /// them is there too; otherwise they are lost.
    fn spill(&mut self, count: usize) {
        let contiguous = self.stored == self.window_start;
        let fits = self.stored + count as u64 <= MAX_SPILL_BYTES;
        if self.spill_failed || !contiguous || !fits {
            return;
        }
        let Some(path) = &self.spill_path else {
            return;
        };

        let written = (|| -> std::io::Result<()> {
            if self.spill_file.is_none() {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                self.spill_file = Some(std::fs::File::create(path)?);
            }
            if let Some(file) = &mut self.spill_file {
                file.write_all(&self.window[..count])?;
            }
            Ok(())
        })();

        match written {
            Ok(()) => self.stored += count as u64,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "failed to write command output to its spill file; older output is dropped");
                self.spill_failed = true;
                self.spill_file = None;
            }
        }
    }
}

/// Returns the index where the last `last_n` lines of `data` begin. A final newline ends
/// the last line rather than starting an empty one.
fn tail_start(data: &[u8], last_n: usize) -> usize {
    if last_n == 0 {
        return data.len();
    }
    let mut cut = match data.last() {
        Some(b'\n') => data.len() - 1,
        _ => data.len(),
    };
    for _ in 0..last_n {
        match data[..cut].iter().rposition(|&byte| byte == b'\n') {
            Some(newline) => cut = newline,
            None => return 0,
        }
    }
    cut + 1
}

/// Returns the length of `bytes` without a trailing UTF-8 sequence that is still missing
/// bytes. Invalid bytes count as complete: they decode to U+FFFD whatever follows.
pub fn complete_utf8_len(bytes: &[u8]) -> usize {
    let earliest = bytes.len().saturating_sub(3);
    for index in (earliest..bytes.len()).rev() {
        let byte = bytes[index];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let needed = match byte {
            0xF0..=0xF7 => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
        return if bytes.len() - index < needed {
            index
        } else {
            bytes.len()
        };
    }
    bytes.len()
}

/// Returns how many bytes before the end of `before` the UTF-8 character that continues
/// into the bytes after it starts, or 0 when `before` ends on a character boundary.
/// `before` contains the up to three bytes that precede a position, and `at` is the byte at
/// it.
pub fn split_character_back(before: &[u8], at: Option<u8>) -> usize {
    let continues = at.is_some_and(|byte| byte & 0xC0 == 0x80);
    if !continues {
        return 0;
    }
    for back in 1..=before.len().min(3) {
        let byte = before[before.len() - back];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let needed = match byte {
            0xF0..=0xF7 => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => return 0,
        };
        return if back < needed { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(text: &[u8]) -> OutputLog {
        let mut log = OutputLog::new(None);
        log.append(text);
        log
    }

    #[test]
    fn tail_returns_last_lines_with_newlines() {
        let tail = log(b"a\nb\nc\n").tail(2, true);
        assert_eq!(tail.text, "b\nc\n");
        assert!(tail.truncated);
    }

    #[test]
    fn tail_of_short_output_is_not_truncated() {
        let tail = log(b"a\nb\n").tail(5, true);
        assert_eq!(tail.text, "a\nb\n");
        assert!(!tail.truncated);
    }

    #[test]
    fn tail_counts_unterminated_last_line() {
        let tail = log(b"a\nb\nc").tail(1, true);
        assert_eq!(tail.text, "c");
        assert!(tail.truncated);
    }

    #[test]
    fn tail_of_zero_lines_is_empty() {
        let tail = log(b"a\n").tail(0, true);
        assert_eq!(tail.text, "");
        assert!(tail.truncated);
    }

    #[test]
    fn split_character_is_decoded_whole() {
        let mut output = OutputLog::new(None);
        output.append(&[b'x', 0xC3]);
        assert_eq!(output.tail(10, false).text, "x");

        output.append(&[0xA9, b'\n']);
        assert_eq!(output.tail(10, false).text, "x\u{e9}\n");
    }

    #[test]
    fn incomplete_character_at_end_is_replaced_once_finished() {
        let output = log(&[b'x', 0xE2, 0x82]);
        assert_eq!(output.tail(10, true).text, "x\u{fffd}");
    }

    #[test]
    fn complete_utf8_len_holds_back_partial_sequences() {
        assert_eq!(complete_utf8_len(b"ab"), 2);
        assert_eq!(complete_utf8_len(&[b'a', 0xE2, 0x82]), 1);
        assert_eq!(complete_utf8_len(&[b'a', 0xE2, 0x82, 0xAC]), 4);
        assert_eq!(complete_utf8_len(&[0xF0, 0x9F, 0x98]), 0);
        assert_eq!(complete_utf8_len(&[b'a', 0xFF]), 2);
    }

    #[test]
    fn split_character_back_finds_character_start() {
        let euro = "\u{20ac}".as_bytes();
        assert_eq!(split_character_back(&euro[..1], Some(euro[1])), 1);
        assert_eq!(split_character_back(&euro[..2], Some(euro[2])), 2);
        assert_eq!(split_character_back(b"ab", Some(b'c')), 0);
        assert_eq!(split_character_back(euro, Some(b'x')), 0);
        assert_eq!(split_character_back(b"", Some(0x80)), 0);
    }

    #[test]
    fn window_without_spill_path_loses_oldest_bytes() {
        let mut output = OutputLog::new(None);
        output.append(&vec![b'a'; 2 * WINDOW_BYTES]);
        output.append(b"\nlast\n");
        assert_eq!(output.window.len(), WINDOW_BYTES);
        assert_eq!(output.len(), 2 * WINDOW_BYTES as u64 + 6);

        let tail = output.tail(1, true);
        assert_eq!(tail.text, "last\n");
        assert!(tail.truncated);
        assert_eq!(
            output.plan_read(0, 10),
            ReadPlan::Lost {
                resume_at: WINDOW_BYTES as u64 + 6
            }
        );
    }

    #[test]
    fn spilled_bytes_are_read_back_in_order() {
        let dir = tempfile::tempdir().expect("temporary dir");
        let path = dir.path().join("executions").join("exe_1.stdout");
        let mut output = OutputLog::new(Some(path.clone()));
        let data: Vec<u8> = (0..(2 * WINDOW_BYTES + 100))
            .map(|i| (i % 251) as u8)
            .collect();
        output.append(&data[..WINDOW_BYTES + 50]);
        output.append(&data[WINDOW_BYTES + 50..]);
        assert_eq!(
            output.stored,
            WINDOW_BYTES as u64 + 100,
            "trimmed past twice the window"
        );

        output.append(b"");
        output.finish();
        let spilled = WINDOW_BYTES as u64 + 100;
        assert_eq!(output.window.len(), WINDOW_BYTES);
        let on_disk = std::fs::read(&path).expect("spill file exists");
        assert_eq!(on_disk.len() as u64, spilled);
        assert_eq!(on_disk[..], data[..on_disk.len()]);

        match output.plan_read(spilled - 2, 5) {
            ReadPlan::Spilled {
                start, end, then, ..
            } => {
                assert_eq!((start, end), (spilled - 2, spilled));
                assert_eq!(then, data[spilled as usize..spilled as usize + 3]);
            }
            other => panic!("expected a spilled range, got {other:?}"),
        }
        assert_eq!(
            output.plan_read(spilled + 1, 2),
            ReadPlan::Memory(data[spilled as usize + 1..spilled as usize + 3].to_vec())
        );
    }

    #[test]
    fn restored_stream_keeps_offsets() {
        let mut output = OutputLog::new(None);
        output.append(&vec![b'a'; 2 * WINDOW_BYTES]);
        output.append(b"\nlast\n");
        output.finish();
        let stored = output.stored_output();
        assert_eq!(stored.start, WINDOW_BYTES as u64 + 6);

        let restored = OutputLog::restored(stored);
        assert_eq!(restored.len(), output.len());
        assert_eq!(restored.tail(1, true), output.tail(1, true));
        assert_eq!(
            restored.plan_read(0, 10),
            ReadPlan::Lost {
                resume_at: WINDOW_BYTES as u64 + 6
            }
        );
        assert_eq!(
            restored.plan_read(output.len() - 5, 10),
            ReadPlan::Memory(b"last\n".to_vec())
        );
    }

    #[test]
    fn checkpoint_keeps_newest_window_bytes() {
        let mut output = OutputLog::new(None);
        output.append(b"short\n");
        assert_eq!(output.checkpoint_output(), output.stored_output());

        output.append(&vec![b'a'; WINDOW_BYTES]);
        let checkpoint = output.checkpoint_output();
        assert_eq!(checkpoint.bytes.len(), WINDOW_BYTES);
        assert_eq!(checkpoint.start, 6);
        assert_eq!(checkpoint.start + WINDOW_BYTES as u64, output.len());
    }

    #[test]
    fn finish_trims_window_to_its_size() {
        let dir = tempfile::tempdir().expect("temporary dir");
        let path = dir.path().join("exe_2.stderr");
        let mut output = OutputLog::new(Some(path.clone()));
        output.append(&vec![b'e'; WINDOW_BYTES + 10]);
        assert_eq!(output.stored, 0, "no spill below twice the window");

        output.finish();
        assert_eq!(output.window.len(), WINDOW_BYTES);
        assert_eq!(output.len(), WINDOW_BYTES as u64 + 10);
        assert_eq!(std::fs::read(&path).expect("spill file"), vec![b'e'; 10]);
    }
}
