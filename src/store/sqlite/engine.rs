//! How SQLite connections are driven: reads on the calling thread, writes on one writer thread
//! that commits whatever is queued together.
//!
//! The profile of the earlier sqlx-based store showed its time going into thread hand-offs, not
//! into SQLite: every query was sent to a connection's own thread and every row sent back. Here a
//! short read runs on the task's own thread with a pooled connection (a primary-key lookup takes
//! microseconds, less than one hand-off); a read that may scan runs on the blocking pool; writes
//! are queued to a single writer thread (SQLite admits one writer at a time anyway), which runs
//! every queued write in one transaction, each inside its own savepoint, and answers them all
//! after the one commit. A write that fails rolls back only its savepoint. Every queued write is
//! applied, even when its request has gone (timed out, client left): the request was received
//! whole, and a logout or a role change must not vanish because its client stopped listening.
//! The queue is bounded; a write arriving at a full queue is refused before anything is done.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::metrics::PoolUse;
use crate::store::{Conflict, StoreError, StoreResult};

/// Most writes committed together; bounds how long the first of a batch waits for the last.
const MAX_BATCH: usize = 256;
/// Prepared statements kept per connection: every query the store runs, with room to spare.
const STATEMENT_CACHE: usize = 64;

pub(super) struct Engine {
    readers: Arc<Readers>,
    /// Bounds reads on the blocking pool, each holding a connection for its duration.
    scan_permits: Arc<Semaphore>,
    scan_limit: u32,
    scans_waiting: std::sync::atomic::AtomicUsize,
    /// Most scans waiting for a permit (`SCAN_QUEUE_LIMIT`); past it a listing is refused (503)
    /// rather than queued.
    max_scans_waiting: usize,
    writer: Mutex<Option<mpsc::Sender<Box<dyn WriteJob>>>>,
    writer_done: Mutex<Option<std::thread::JoinHandle<()>>>,
    writer_busy: Arc<AtomicBool>,
    /// Writes enqueued whose callers wait for their answer (see [`PoolUse::writes_waiting`]).
    writes_waiting: AtomicU32,
    /// How long a read or a write waits for a lock another process holds (`DATABASE_TIMEOUT`):
    /// past it the request is answered 503, rather than queueing behind a stuck process.
    busy_timeout: Duration,
}

impl Engine {
    /// Opens the writer and prepares the readers of the (already migrated) file at `path`.
    /// At most `limits.write_queue` writes wait for the writer at once.
    pub(super) fn open(path: &Path, limits: &crate::store::StoreLimits) -> anyhow::Result<Self> {
        let (write_queue, busy_timeout) = (limits.write_queue, limits.database_timeout);
        let writer_connection = open_writer(path, busy_timeout)?;
        let readers = Arc::new(Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            open: AtomicU32::new(0),
            max: limits.readers.max(1),
            closed: AtomicBool::new(false),
        });
        // Fail at startup, not on the first request, when the file cannot be read.
        let first_reader = readers.take()?;
        readers.give_back(first_reader);
        let (sender, receiver) = mpsc::channel(write_queue.max(1));
        let writer_busy = Arc::new(AtomicBool::new(false));
        let busy = Arc::clone(&writer_busy);
        let writer_done = std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || run_writer(writer_connection, receiver, &busy))?;
        let scan_limit = std::thread::available_parallelism().map_or(2, |n| n.get() as u32 * 2);
        Ok(Self {
            readers,
            scan_permits: Arc::new(Semaphore::new(scan_limit as usize)),
            scan_limit,
            scans_waiting: std::sync::atomic::AtomicUsize::new(0),
            max_scans_waiting: limits.scan_queue,
            writer: Mutex::new(Some(sender)),
            writer_done: Mutex::new(Some(writer_done)),
            writer_busy,
            writes_waiting: AtomicU32::new(0),
            busy_timeout,
        })
    }

    /// Runs a short read (a lookup by key) on the calling thread. Should the database be busy,
    /// the read is retried on the blocking pool, where waiting does not stall other requests.
    pub(super) async fn read<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let connection = self.readers.take()?;
        // No waiting on this thread: a busy database sends the read to the blocking pool.
        let first_try = connection.busy_timeout(Duration::ZERO).and_then(|()| read(&connection));
        match first_try {
            Err(error) if is_busy(&error) => {
                self.readers.give_back(connection);
                self.scan(read).await
            }
            other => {
                self.readers.give_back(connection);
                other.map_err(StoreError::from)
            }
        }
    }

    /// Runs a read that may scan many rows on the blocking pool.
    pub(super) async fn scan<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let permit = match Arc::clone(&self.scan_permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(closed()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                if self.scans_waiting.fetch_add(1, Ordering::AcqRel) >= self.max_scans_waiting {
                    self.scans_waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(StoreError::Overloaded("SQLite scan"));
                }
                let permit = Arc::clone(&self.scan_permits).acquire_owned().await;
                self.scans_waiting.fetch_sub(1, Ordering::AcqRel);
                permit.map_err(|_| closed())?
            }
        };
        let (readers, busy_timeout) = (Arc::clone(&self.readers), self.busy_timeout);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let connection = readers.take()?;
            connection.busy_timeout(busy_timeout)?;
            let result = read(&connection);
            readers.give_back(connection);
            Ok(result?)
        })
        .await
        .map_err(StoreError::other)?
    }

    /// Queues a write for the writer thread and waits for the commit that includes it.
    pub(super) async fn write<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let _waiting = self.enqueue(Box::new(PendingWrite { work: Some(write), outcome: None, reply }))?;
        answer.await.map_err(|_| closed())?
    }

    /// Queues a write that runs in a transaction of its own, with no savepoint around it (a
    /// savepoint journals every page the write touches: a bulk load would pay for it twice),
    /// committed or rolled back as it answers.
    pub(super) async fn write_alone<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<Finish<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let _waiting = self.enqueue(Box::new(AloneWrite { work: Some(write), outcome: None, commit: false, reply }))?;
        answer.await.map_err(|_| closed())?
    }

    /// Hands a write to the writer thread, or refuses it at once when the queue is full; the
    /// guard counts the write as waiting until the caller drops it.
    fn enqueue(&self, job: Box<dyn WriteJob>) -> StoreResult<Waiting<'_>> {
        let writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        writer.as_ref().ok_or_else(closed)?.try_send(job).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StoreError::Overloaded("SQLite write"),
            mpsc::error::TrySendError::Closed(_) => closed(),
        })?;
        self.writes_waiting.fetch_add(1, Ordering::Relaxed);
        Ok(Waiting(&self.writes_waiting))
    }

    pub(super) fn pool_use(&self) -> PoolUse {
        let idle = self.readers.idle_count();
        let open = self.readers.open.load(Ordering::Relaxed);
        let writing = u32::from(self.writer_busy.load(Ordering::Relaxed));
        PoolUse {
            in_use: open.saturating_sub(idle) + writing,
            idle: idle + 1 - writing,
            max: self.scan_limit + 1,
            writes_waiting: self.writes_waiting.load(Ordering::Relaxed),
        }
    }

    /// Finishes the queued writes, then closes every connection.
    pub(super) async fn close(&self) {
        drop(self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take());
        let done = self.writer_done.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(done) = done {
            let _ = tokio::task::spawn_blocking(move || done.join()).await;
        }
        self.readers.close();
    }
}

/// A write counted in [`Engine::writes_waiting`] while its caller waits.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn closed() -> StoreError {
    StoreError::unavailable("the database is closed")
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        if is_busy(&error) || matches!(error.sqlite_error_code(), Some(ErrorCode::CannotOpen)) {
            Self::unavailable(error)
        } else {
            Self::other(error)
        }
    }
}

/// Turns a unique-constraint failure into the conflict it means.
pub(super) fn unique_as(conflict: Conflict) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| match &error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict(conflict)
        }
        _ => StoreError::from(error),
    }
}

/// Read-only connections, opened on demand and kept for reuse.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    open: AtomicU32,
    /// Most open at once (`SQLITE_READERS`). Inline reads hold one only within a poll (so at
    /// most one per runtime thread) and scans one per scan permit: the default is never reached
    /// in normal work, and bounds the memory of a pathological one.
    max: u32,
    /// Set by `close`: no connection is handed out or opened afterwards.
    closed: AtomicBool,
}

impl Readers {
    fn take(&self) -> StoreResult<Connection> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        if let Some(connection) = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop() {
            return Ok(connection);
        }
        // Count the connection before opening it, so that racing takes cannot pass the bound.
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < self.max).then_some(open + 1))
            .map_err(|_| StoreError::Overloaded("SQLite reader"))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let opened = Connection::open_with_flags(&self.path, flags);
        let connection = match opened {
            Ok(connection) => connection,
            Err(error) => {
                self.open.fetch_sub(1, Ordering::AcqRel);
                return Err(error.into());
            }
        };
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        if self.closed.load(Ordering::Acquire) {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(connection);
    }

    fn idle_count(&self) -> u32 {
        let idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len();
        u32::try_from(idle).unwrap_or(u32::MAX)
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let closed = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        self.open.fetch_sub(u32::try_from(closed.len()).unwrap_or(0), Ordering::Relaxed);
    }
}

/// Turns off SQLite's memory statistics, once per process and before its first connection.
/// With them on (the default), every allocation of every connection takes one global mutex to
/// count itself; a create's trigger allocates hundreds of times, and the profile of creates
/// showed that lock and its allocator beside it as a sixth of the writer thread's time. Nothing
/// here reads those statistics. Once SQLite is initialised the call is refused
/// (`SQLITE_MISUSE`) and changes nothing, so a late call is harmless.
#[allow(unsafe_code)]
pub(super) fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` is documented as not thread-safe and to be called before
        // `sqlite3_initialize`; the `Once` makes this the only call in the process, and this
        // option takes one int argument, passed as the C vararg it expects.
        let status = unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, std::ffi::c_int::from(0u8))
        };
        if status != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(status, "SQLite was already initialised: its memory statistics stay on");
        }
    });
}

fn open_writer(path: &Path, busy_timeout: Duration) -> anyhow::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.busy_timeout(busy_timeout)?;
    // WAL was set when the file was created (it persists); synchronous=NORMAL in WAL mode loses
    // nothing on a process crash, only possibly the last commits on a power cut.
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(connection)
}

/// A queued write, type-erased so writes of any result type share one queue.
trait WriteJob: Send {
    /// Runs the write inside the open transaction; false when it failed.
    fn apply(&mut self, connection: &Connection) -> bool;
    /// Answers the request once the transaction's fate is known.
    fn answer(self: Box<Self>, commit: Result<(), &rusqlite::Error>);
    /// Runs in a transaction of its own, without a savepoint (see [`Engine::write_alone`]).
    fn alone(&self) -> bool {
        false
    }
}

/// What a write run alone asks for its transaction.
pub(super) enum Finish<T> {
    Commit(T),
    /// Undo everything it did (a dry run), and answer with this.
    RollBack(T),
}

struct PendingWrite<T, F> {
    work: Option<F>,
    outcome: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> WriteJob for PendingWrite<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn apply(&mut self, connection: &Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        let outcome = run_caught(work, connection);
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn answer(self: Box<Self>, commit: Result<(), &rusqlite::Error>) {
        let PendingWrite { outcome, reply, .. } = *self;
        let _ = reply.send(answer_of(outcome, commit));
    }
}

/// Runs a write; a panicking one must not take the writer thread (and every later write) with
/// it, so a panic becomes that write's error.
fn run_caught<T>(work: impl FnOnce(&Connection) -> StoreResult<T>, connection: &Connection) -> StoreResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(connection)))
        .unwrap_or_else(|_| Err(StoreError::other(anyhow::anyhow!("the write panicked"))))
}

/// What a write's request is told, from the write's own outcome and its transaction's.
fn answer_of<T>(outcome: Option<StoreResult<T>>, commit: Result<(), &rusqlite::Error>) -> StoreResult<T> {
    match (outcome, commit) {
        // A failed write was rolled back on its own; its error stands whatever the commit did.
        (Some(Err(error)), _) => Err(error),
        (Some(Ok(value)), Ok(())) => Ok(value),
        (Some(Ok(_)) | None, Err(error)) => Err(commit_failure(error)),
        (None, Ok(())) => Err(StoreError::other(anyhow::anyhow!("write was never applied"))),
    }
}

fn commit_failure(error: &rusqlite::Error) -> StoreError {
    let message = format!("transaction failed: {error}");
    if is_busy(error) { StoreError::unavailable(message) } else { StoreError::other(anyhow::anyhow!(message)) }
}

/// A write run alone: its closure says whether to commit.
struct AloneWrite<T, F> {
    work: Option<F>,
    outcome: Option<StoreResult<T>>,
    commit: bool,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> WriteJob for AloneWrite<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<Finish<T>> + Send,
{
    fn apply(&mut self, connection: &Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        let outcome = run_caught(work, connection);
        self.outcome = Some(outcome.map(|finish| match finish {
            Finish::Commit(value) => {
                self.commit = true;
                value
            }
            Finish::RollBack(value) => value,
        }));
        self.commit
    }

    fn answer(self: Box<Self>, commit: Result<(), &rusqlite::Error>) {
        let AloneWrite { outcome, reply, .. } = *self;
        let _ = reply.send(answer_of(outcome, commit));
    }

    fn alone(&self) -> bool {
        true
    }
}

/// The writer thread: takes whatever is queued, applies it in one transaction, commits, answers.
/// A write that must run alone gets a transaction of its own, between two batches.
fn run_writer(connection: Connection, mut queue: mpsc::Receiver<Box<dyn WriteJob>>, busy: &AtomicBool) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::with_capacity(MAX_BATCH);
    let mut held: Option<Box<dyn WriteJob>> = None;
    loop {
        let first = match held.take() {
            Some(job) => job,
            None => match queue.blocking_recv() {
                Some(job) => job,
                None => return,
            },
        };
        if first.alone() {
            busy.store(true, Ordering::Relaxed);
            let mut job = first;
            let commit = apply_alone(&connection, job.as_mut());
            busy.store(false, Ordering::Relaxed);
            job.answer(commit.as_ref().map(|_| ()));
            continue;
        }
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) if job.alone() => {
                    held = Some(job);
                    break;
                }
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        busy.store(true, Ordering::Relaxed);
        let commit = apply_batch(&connection, &mut batch);
        busy.store(false, Ordering::Relaxed);
        for job in batch.drain(..) {
            job.answer(commit.as_ref().map(|_| ()));
        }
    }
}

/// Applies each job in its own savepoint of one `BEGIN IMMEDIATE` transaction and commits.
/// `BEGIN IMMEDIATE` takes the write lock up front, so another process on the same file makes
/// this wait (busy timeout) instead of failing halfway.
fn apply_batch(connection: &Connection, batch: &mut [Box<dyn WriteJob>]) -> rusqlite::Result<()> {
    connection.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    for job in batch.iter_mut() {
        if let Err(error) = apply_one(connection, job.as_mut()) {
            let _ = connection.execute_batch("ROLLBACK");
            return Err(error);
        }
    }
    let committed = connection.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([]));
    if committed.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    committed.map(|_| ())
}

/// One job in its own `BEGIN IMMEDIATE` transaction, committed when it asks to be.
fn apply_alone(connection: &Connection, job: &mut dyn WriteJob) -> rusqlite::Result<()> {
    connection.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    if !job.apply(connection) {
        connection.execute_batch("ROLLBACK")?;
        return Ok(());
    }
    let committed = connection.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([]));
    if committed.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    committed.map(|_| ())
}

fn apply_one(connection: &Connection, job: &mut dyn WriteJob) -> rusqlite::Result<()> {
    connection.prepare_cached("SAVEPOINT write")?.execute([])?;
    if !job.apply(connection) {
        connection.prepare_cached("ROLLBACK TO write")?.execute([])?;
    }
    connection.prepare_cached("RELEASE write")?.execute([])?;
    Ok(())
}
