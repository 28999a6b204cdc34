//! The threads that decode and resize posters, behind a bounded queue.
//!
//! A 24-megapixel upload takes some 70 MB of pixels and a few hundred milliseconds of one core.
//! On the async runtime it would stall every request sharing the worker; on tokio's blocking
//! pool eight at once would decode side by side (eight times the memory, every core taken). So a
//! fixed set of threads, half the cores and at least one, takes jobs from a queue of a fixed
//! length: memory stays at `workers` decodes however many uploads arrive, reads keep the other
//! cores, and an upload past the queue is refused at once ([`PoolBusy`], a 503 with
//! `Retry-After`) rather than waiting in unbounded memory. The threads run at a lower nice level
//! (`os::lower_thread_priority`, as the password hashers do), so a woken request thread preempts
//! a resize.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

/// The queue was full: nothing was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the poster queue is full")]
pub struct PoolBusy;

/// What a job can end with besides its own answer.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Busy(#[from] PoolBusy),
    /// The job panicked (its thread lives on) or the pool is gone.
    #[error("the poster job failed")]
    Failed,
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PosterPool {
    jobs: mpsc::SyncSender<Job>,
    workers: usize,
    queue: usize,
    /// Uploads admitted at once (bodies being read, waiting or decoding): `workers + queue`.
    uploads: Arc<tokio::sync::Semaphore>,
}

/// An admitted upload: held from before its body is read until it is answered, so that at most
/// `workers + queue` poster bodies (each up to `POSTER_MAX_BYTES`) are in memory at once, however
/// many connections send one.
#[derive(Clone)]
pub struct UploadPermit(#[allow(dead_code)] Arc<tokio::sync::OwnedSemaphorePermit>);

/// Uploads that may wait for a worker (`POSTER_QUEUE_LIMIT`'s default): eight 24-megapixel uploads at once are queued, not
/// refused, and a burst past twice that is.
pub const DEFAULT_QUEUE: usize = 16;

impl PosterPool {
    /// `workers` threads (at least one) and a queue of `queue` waiting jobs (at least one).
    pub fn new(workers: usize, queue: usize) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let queue = queue.max(1);
        let (jobs, receiver) = mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new().name(format!("poster-{index}")).spawn(move || {
                crate::os::lower_thread_priority();
                loop {
                    // The lock is held only while taking a job, never while running one.
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // every sender dropped: the pool is gone
                    }
                }
            })?;
        }
        let uploads = Arc::new(tokio::sync::Semaphore::new(workers + queue));
        Ok(Self { jobs, workers, queue, uploads })
    }

    /// Admits an upload, or `None` when `workers + queue` are already in (a 503 before its body is
    /// read).
    pub fn admit(&self) -> Option<UploadPermit> {
        Arc::clone(&self.uploads).try_acquire_owned().ok().map(|permit| UploadPermit(Arc::new(permit)))
    }

    /// Half the machine's cores, at least one, and a queue of `queue` (`POSTER_QUEUE_LIMIT`,
    /// default [`DEFAULT_QUEUE`]).
    pub fn for_this_machine(queue: usize) -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(default_workers(cores), queue)
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Runs `job` on a pool thread and waits for its answer without blocking the runtime;
    /// refused at once when the queue is full. A job once queued runs even if the caller stops
    /// waiting (its answer is then dropped).
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A panicking decoder must not take the thread with it; the caller sees `Failed`.
            if let Ok(outcome) = std::panic::catch_unwind(AssertUnwindSafe(job)) {
                let _ = reply.send(outcome);
            }
        });
        self.jobs.try_send(job).map_err(|error| match error {
            mpsc::TrySendError::Full(_) => PoolError::Busy(PoolBusy),
            mpsc::TrySendError::Disconnected(_) => PoolError::Failed,
        })?;
        answer.await.map_err(|_| PoolError::Failed)
    }
}

/// Half of `cores`, at least one: on two cores one decodes while the other serves reads.
pub fn default_workers(cores: usize) -> usize {
    (cores / 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_default_is_half_the_cores_and_at_least_one() {
        assert_eq!(default_workers(1), 1);
        assert_eq!(default_workers(2), 1);
        assert_eq!(default_workers(3), 1);
        assert_eq!(default_workers(8), 4);
    }

    #[tokio::test]
    async fn a_job_runs_off_the_runtime_and_answers() {
        let pool = PosterPool::new(1, 1).unwrap();
        let runtime_thread = std::thread::current().id();
        let ran_on = pool.run(|| std::thread::current().id()).await.unwrap();
        assert_ne!(ran_on, runtime_thread);
        let name = pool.run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert_eq!(name.as_deref(), Some("poster-0"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_past_the_full_queue_is_refused_at_once() {
        let pool = PosterPool::new(1, 2).unwrap();
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        // One job holds the only worker until released.
        let blocker = {
            let pool = pool.clone();
            let released = Arc::clone(&released);
            tokio::spawn(async move {
                pool.run(move || {
                    started_tx.send(()).unwrap();
                    released.lock().unwrap().recv().unwrap();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started.recv_timeout(Duration::from_secs(5))).await.unwrap().unwrap();
        // Two wait in the queue.
        let waiting: Vec<_> = (0..2)
            .map(|n| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run(move || n).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The next is refused without waiting.
        let asked = Instant::now();
        assert!(matches!(pool.run(|| 99).await, Err(PoolError::Busy(PoolBusy))));
        assert!(asked.elapsed() < Duration::from_millis(100));
        // Once the worker is free, the queued jobs run.
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        let mut answers = Vec::new();
        for job in waiting {
            answers.push(job.await.unwrap().unwrap());
        }
        answers.sort_unstable();
        assert_eq!(answers, vec![0, 1]);
        // And the queue takes work again.
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[test]
    fn uploads_past_the_workers_and_the_queue_are_not_admitted_until_one_is_answered() {
        let pool = PosterPool::new(1, 2).unwrap();
        let admitted: Vec<_> = (0..3).map(|_| pool.admit().expect("admitted")).collect();
        assert!(pool.admit().is_none());
        drop(admitted);
        assert!(pool.admit().is_some());
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_worker_lives_on() {
        let pool = PosterPool::new(1, 1).unwrap();
        let outcome = pool.run(|| -> u8 { panic!("a decoder bug") }).await;
        assert!(matches!(outcome, Err(PoolError::Failed)));
        assert_eq!(pool.run(|| 5).await.unwrap(), 5);
    }
}
