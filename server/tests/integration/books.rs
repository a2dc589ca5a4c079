//! The server's books in its store: a snapshot of the live state with the
//! records of the log's past, written together, so that a start loads the
//! snapshot and replays only what came after it, and gets exactly the books a
//! replay of the whole log gives.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::log::Log;
use minhbach_ledger::rules::State;
use minhbach_ledger::statement::Statement;
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_server::books::table::{self as books, Unwritten};
use minhbach_server::books::{Books, RecentEntries};
use minhbach_server::datadir::DataDir;
use minhbach_server::demo::{self, DemoOptions};

fn now() -> DateTime<Utc> {
    DateTime::from(std::time::SystemTime::now())
}

/// Everything the books answer about a log: the live state, the recent
/// entries, and for every entry what the history and the trace index say of
/// it.
#[derive(PartialEq)]
struct Answers {
    state: State<()>,
    recent: RecentEntries,
    entries: Vec<String>,
}

impl Answers {
    fn of(books: &Books, store: &RocksStore) -> Self {
        let size = store.tree_size().unwrap();
        assert_eq!(books.state.next_index(), size);
        let mut entries = Vec::new();
        for (index, leaf) in store.read_leaves(0, size).unwrap().iter().enumerate() {
            let index = index as u64;
            let envelope = Leaf::parse(leaf).unwrap().envelope;
            let statement = Statement::from_json(envelope.payload()).unwrap();
            // No maps in these: their Debug text is deterministic.
            entries.push(format!(
                "{index}: {:?} {:?} {:?} {:?} {:?}",
                books.state.entry_of_id(statement.id().as_str()),
                books.state.donation_record(index),
                books.state.disbursement_record(index),
                books.trace.trace(&books.state, index),
                books.trace.sources(index),
            ));
        }
        Self {
            state: books.state.clone().map_history(|_| ()),
            recent: books.recent.clone(),
            entries,
        }
    }

    /// Asserts equality, naming the first difference (the whole books are
    /// too long to print).
    fn assert_eq(&self, expected: &Self) {
        assert!(self.state == expected.state, "the live states differ");
        assert!(self.recent == expected.recent, "the recent entries differ");
        assert_eq!(self.entries.len(), expected.entries.len());
        for (a, b) in self.entries.iter().zip(&expected.entries) {
            assert_eq!(a, b);
        }
    }
}

/// A demo log (seeded and stopped cleanly), its store and its size.
fn demo_log(dir: &std::path::Path) -> (Arc<RocksStore>, u64) {
    drop(
        demo::prepare(
            dir,
            DemoOptions { donations: 120 },
            now(),
            &mut rand_core::OsRng,
        )
        .unwrap(),
    );
    let store = Arc::new(RocksStore::open(&DataDir::new(dir).log_dir()).unwrap());
    let size = store.tree_size().unwrap();
    assert!(size > 300, "a demo log with every kind of entry");
    (store, size)
}

/// A new store holding the first `n` leaves of `from`, appended as the
/// sequencer would (the checkpoint's text does not matter to the books).
fn copy_leaves(from: &RocksStore, to: Arc<RocksStore>, start: u64, end: u64) -> Arc<RocksStore> {
    let leaves = from.read_leaves(start, end).unwrap();
    let mut log = Log::open(Arc::clone(&to)).unwrap();
    log.append(&leaves, &[], |size, root| {
        format!("copy\n{size}\n{}\n", root.to_base64()).into_bytes()
    })
    .unwrap();
    to
}

#[test]
fn a_clean_stop_leaves_books_that_the_next_start_loads_without_replaying() {
    let dir = tempfile::tempdir().unwrap();
    let (store, size) = demo_log(dir.path());

    let opened = Books::open(&store).unwrap();
    // Nothing was replayed and nothing of the past is held in memory.
    assert_eq!(opened.unflushed(), 0);
    assert_eq!(opened.unwritten(), Unwritten::default());
    let loaded = Answers::of(&opened, &store);
    // Some donation has a trace with steps, some disbursement sources:
    // the comparison below covers the stored traces, not only empty ones.
    assert!(
        loaded.entries.iter().any(|a| a.contains("Disbursed")),
        "no trace steps"
    );
    drop(opened);

    let rebuilt = Books::rebuild(&store).unwrap();
    assert_eq!(rebuilt.unflushed(), size, "a rebuild replays every entry");
    Answers::of(&rebuilt, &store).assert_eq(&loaded);
}

#[test]
fn after_a_crash_only_the_entries_after_the_snapshot_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (original, size) = demo_log(&dir.path().join("demo"));
    let expected = Answers::of(&Books::open(&original).unwrap(), &original);

    // A log whose books were last flushed at `half`: the entries after it
    // were committed, then the process died before the next flush.
    let half = size / 2;
    let copy = Arc::new(RocksStore::open(&dir.path().join("crashed")).unwrap());
    let copy = copy_leaves(&original, copy, 0, half);
    let mut books = Books::rebuild(&copy).unwrap();
    books.flush(&copy).unwrap();
    drop(books);
    let copy = copy_leaves(&original, copy, half, size);

    let opened = Books::open(&copy).unwrap();
    assert_eq!(opened.unflushed(), size - half, "only the tail is replayed");
    Answers::of(&opened, &copy).assert_eq(&expected);
    // Flushed, and opened again: nothing left to replay, same answers.
    let mut opened = opened;
    opened.flush(&copy).unwrap();
    drop(opened);
    let again = Books::open(&copy).unwrap();
    assert_eq!(again.unflushed(), 0);
    Answers::of(&again, &copy).assert_eq(&expected);
}

#[test]
fn an_unusable_snapshot_is_dropped_and_the_books_rebuilt_from_the_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let (store, size) = demo_log(dir.path());
    let expected = Answers::of(&Books::open(&store).unwrap(), &store);
    let snapshot = books::key("snapshot", b"");

    // Garbage where the snapshot was, and a stray record that no entry made.
    let stray = books::key("donation", &u64::MAX.to_be_bytes());
    store
        .put_meta(&[
            (snapshot.clone(), b"not cbor".to_vec()),
            (stray.clone(), vec![1, 2, 3]),
        ])
        .unwrap();
    let rebuilt = Books::open(&store).unwrap();
    assert_eq!(rebuilt.unflushed(), size, "rebuilt from entry 0");
    Answers::of(&rebuilt, &store).assert_eq(&expected);
    assert_eq!(
        store.read_meta(&stray).unwrap(),
        None,
        "the old books are dropped"
    );

    // A snapshot of a longer log than this one (books copied from
    // elsewhere): not used either.
    let mut rebuilt = rebuilt;
    rebuilt.flush(&store).unwrap();
    drop(rebuilt);
    let bytes = store.read_meta(&snapshot).unwrap().unwrap();
    let short = Arc::new(RocksStore::open(&dir.path().join("short")).unwrap());
    let short = copy_leaves(&store, short, 0, size - 10);
    short.put_meta(&[(snapshot, bytes)]).unwrap();
    let opened = Books::open(&short).unwrap();
    assert_eq!(opened.unflushed(), size - 10, "rebuilt from entry 0");
    assert_eq!(opened.state.next_index(), size - 10);
}

#[test]
fn the_books_go_on_while_a_flush_is_written_and_keep_what_a_failed_one_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let (original, size) = demo_log(&dir.path().join("demo"));
    let expected = Answers::of(&Books::open(&original).unwrap(), &original);
    let (third, two_thirds) = (size / 3, 2 * size / 3);

    let copy = Arc::new(RocksStore::open(&dir.path().join("copy")).unwrap());
    let copy = copy_leaves(&original, copy, 0, third);
    let mut books = Books::rebuild(&copy).unwrap();
    assert_eq!(books.unflushed(), third);

    // A flush begins: its records are frozen, and one flush is in flight
    // at a time (a second one, or a flush on this thread, does nothing).
    let job = books.begin_flush().expect("something to flush");
    assert_eq!(job.ticket().size(), third);
    assert!(books.begin_flush().is_none());
    books.flush(&copy).unwrap();
    assert!(books.unwritten().frozen > 0);
    assert_eq!(books.unwritten().pending, 0);

    // While it is written, the log goes on: the replay reads the pending,
    // the frozen and the stored records.
    let copy = copy_leaves(&original, copy, third, two_thirds);
    books.catch_up(&copy).unwrap();
    assert!(books.unwritten().pending > 0);
    let ticket = job.ticket();
    let writer = {
        let copy = Arc::clone(&copy);
        std::thread::spawn(move || job.write(&copy))
    };
    assert!(
        writer.join().unwrap().unwrap() > 1,
        "records and a snapshot"
    );
    books.end_flush(ticket, true);
    assert_eq!(books.unwritten().frozen, 0);
    assert_eq!(books.unflushed(), two_thirds - third);

    // A flush whose write fails: nothing of it is forgotten, and what came
    // after it stays on top.
    let job = books.begin_flush().unwrap();
    let ticket = job.ticket();
    drop(job);
    let copy = copy_leaves(&original, copy, two_thirds, size);
    books.catch_up(&copy).unwrap();
    Answers::of(&books, &copy).assert_eq(&expected);
    books.end_flush(ticket, false);
    assert_eq!(books.unwritten().frozen, 0);
    assert_eq!(books.unflushed(), size - third);
    Answers::of(&books, &copy).assert_eq(&expected);

    // The store holds the books at `third` (the snapshot the flush wrote
    // over the stored records): a start replays from there.
    drop(books);
    let opened = Books::open(&copy).unwrap();
    assert_eq!(opened.unflushed(), size - third);
    Answers::of(&opened, &copy).assert_eq(&expected);
}
