//! A bounded pool of hashing threads: hashing never runs on the async workers, and a login
//! storm waits in a bounded queue up to a deadline instead of without end.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use std::{fmt, io, mem, thread};

use tokio::sync::oneshot;

use super::{MAX_PASSWORD_BYTES, PasswordError, PasswordHasher, Verified};
use crate::Denied;

/// How many hashing threads a [`HashingPool`] runs, how many jobs may wait and for how long.
///
/// ```
/// use std::time::Duration;
/// use warden::password::PoolConfig;
///
/// let config = PoolConfig::with_workers(2);
/// assert_eq!((config.workers, config.queue_capacity, config.retry_after_secs), (2, 1024, 1));
/// assert_eq!(config.max_wait, Duration::from_secs(2)); // then a waiting login is shed
/// assert_eq!(config.nice, 10); // hashing yields the CPU to request handling (Linux)
///
/// // Logins may wait up to 5 s, at most 200 at once; no waiting at all.
/// let patient = PoolConfig { max_wait: Duration::from_secs(5), queue_capacity: 200, ..config };
/// let impatient = PoolConfig { queue_capacity: 0, ..PoolConfig::with_workers(2) };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Dedicated threads, each hashing one password at a time and holding its memory
    /// (`Params::memory_kib`). 0 counts as 1.
    pub workers: usize,
    /// Jobs that may wait for a free thread; beyond, requests are refused at once with
    /// [`PoolError::Busy`]. A waiting job holds a copy of the password and of the stored hash
    /// (bytes; the argon2 memory belongs to the threads), so this bounds memory, not service
    /// time: [`max_wait`](Self::max_wait) does that. 0 means none wait: a request is taken
    /// only by an idle thread.
    pub queue_capacity: usize,
    /// The longest a job may wait for a thread. A job that a thread reaches later is answered
    /// [`PoolError::Busy`] without being hashed: its client has waited long enough, and a
    /// thread spends its time only on logins that can still be answered in time. While jobs
    /// wait they use no CPU (their callers await a channel). [`Duration::MAX`] means no
    /// deadline.
    pub max_wait: Duration,
    /// The `Retry-After` given with [`PoolError::Busy`], in seconds.
    pub retry_after_secs: u32,
    /// The nice value of the hashing threads on Linux (0 to 19; elsewhere ignored). Hashing is
    /// CPU-bound for tens of milliseconds per password; at 10 the scheduler gives a core to a
    /// runtime worker with a request to serve first, so a login storm slows logins rather
    /// than every other route. With nothing else to run, the threads still get whole cores;
    /// logins waiting in the queue leave the runtime idle, so a storm of logins alone keeps
    /// the threads busy at full speed.
    pub nice: i8,
}

impl PoolConfig {
    /// Jobs that may wait per thread by default: a waiting job costs bytes, so the bound is
    /// generous and [`max_wait`](Self::max_wait) decides what is served.
    pub const QUEUE_PER_WORKER: usize = 512;
    /// The default [`max_wait`](Self::max_wait): below the 5 s default timeout of common HTTP
    /// clients (httpx, and so Authlib), far above one hash.
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);

    /// `workers` threads at nice 10; up to [`QUEUE_PER_WORKER`](Self::QUEUE_PER_WORKER)
    /// jobs per thread may wait, each for at most
    /// [`DEFAULT_MAX_WAIT`](Self::DEFAULT_MAX_WAIT); `Retry-After: 1`.
    pub fn with_workers(workers: usize) -> Self {
        Self {
            workers,
            queue_capacity: workers.max(1).saturating_mul(Self::QUEUE_PER_WORKER),
            max_wait: Self::DEFAULT_MAX_WAIT,
            retry_after_secs: 1,
            nice: 10,
        }
    }
}

/// One thread per CPU the process may use ([`std::thread::available_parallelism`]), otherwise
/// as [`PoolConfig::with_workers`].
impl Default for PoolConfig {
    fn default() -> Self {
        Self::with_workers(thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }
}

/// Why a [`HashingPool`] did not give an answer.
///
/// Converts into [`Denied`] with `?` in a [`Principal`](crate::Principal): `Busy` and `Closed`
/// answer 503 with `Retry-After`, a too-long password 401 like a wrong one, an unusable stored
/// hash 401 (logged as an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The queue was full (the request was refused without waiting), or the request waited
    /// [`PoolConfig::max_wait`] without reaching a thread (it was not hashed).
    #[error("password hashing pool busy, retry after {retry_after_secs} s")]
    Busy {
        /// Seconds after which a retry makes sense ([`PoolConfig::retry_after_secs`]).
        retry_after_secs: u32,
    },
    /// The pool is shutting down, or the job failed unexpectedly (a panic, logged).
    #[error("password hashing pool closed")]
    Closed,
    /// The hasher refused the password or the stored hash.
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// Runs a [`PasswordHasher`] on a few dedicated threads behind a bounded, deadline-checked
/// queue.
///
/// Argon2id is built to be slow and to hold memory (19 MiB for ~20–40 ms at OWASP's
/// parameters). Run on tokio's workers it stalls every other route; run through unbounded
/// `spawn_blocking` a login storm piles up hundreds of concurrent hashes (2.3 GB measured at
/// 64 concurrent logins). This pool runs at most `workers` hashes at once — memory stays
/// below `workers` × the largest `m` among the hashes checked — and lets up to
/// `queue_capacity` more wait, in order, each for at most `max_wait` ([`PoolConfig`]).
/// [`PoolError::Busy`], which becomes 503 with `Retry-After`, answers a request that finds
/// the queue full (at once) and one still waiting when its `max_wait` is over (then, without
/// hashing it).
///
/// Under a login storm the threads therefore never idle while a login can still be answered
/// in time, and the requests that cannot be are shed at the pace of the deadline: a client
/// that retries as soon as it gets its 503 sends one request per `max_wait`, not thousands per
/// second, so shedding does not take the CPU from hashing. With 256 clients posting logins
/// back to back on 2 cores, 2 threads keep hashing at the rate of 4 clients
/// (`docs/benchmarks.md`); the same storm against a 10-job queue that refused at once got
/// a quarter of that.
///
/// - The async methods never block the runtime: a job is queued (or refused) under a short
///   lock and its answer awaited over a oneshot channel; a waiting request uses no CPU.
/// - A request whose future is dropped (the client went away) is skipped when its turn
///   comes, instead of being hashed for nobody.
/// - [`queue_depth`](Self::queue_depth) and [`in_flight`](Self::in_flight) feed metrics.
/// - Dropping the pool closes it: waiting jobs are answered [`PoolError::Closed`], running
///   ones finish, and the threads are joined (so the drop waits for at most one hash).
///
/// Hold it in the application state behind an `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig, Verified};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hasher = PasswordHasher::new(Params::default())?;
/// let pool = Arc::new(HashingPool::new(hasher, PoolConfig::default())?);
///
/// let stored = pool.hash("correct horse battery staple").await?;
/// let outcome = pool.verify_optional("correct horse battery staple", Some(&stored)).await?;
/// assert_eq!(outcome, Verified::Valid { needs_rehash: false });
/// # Ok(())
/// # }
/// ```
///
/// In a [`Principal`](crate::Principal), `?` turns a shed request into 503:
///
/// ```
/// use std::sync::Arc;
/// use warden::password::HashingPool;
/// use warden::{Denied, HttpBasic, Principal, SecurityScopes};
///
/// #[derive(Clone)]
/// struct AppState { pool: Arc<HashingPool> }
///
/// struct User { name: String }
///
/// fn stored_hash(username: &str) -> Option<String> { None } // a database lookup
///
/// impl Principal<AppState> for User {
///     type Credentials = HttpBasic;
///
///     async fn authenticate(basic: HttpBasic, _: &SecurityScopes, state: &AppState) -> Result<Self, Denied> {
///         let stored = stored_hash(&basic.username);
///         let outcome = state.pool.verify_optional(&basic.password, stored.as_deref()).await?;
///         if !outcome.is_valid() {
///             return Err(Denied::InvalidCredentials);
///         }
///         // if outcome.needs_rehash(): pool.hash(&basic.password) and store it
///         Ok(User { name: basic.username })
///     }
///
///     fn has_scope(&self, _: &str) -> bool { false }
/// }
/// ```
pub struct HashingPool {
    shared: Arc<Shared>,
    hasher: Arc<PasswordHasher>,
    threads: Vec<JoinHandle<()>>,
    config: PoolConfig,
}

/// A queued job and the instant after which it is no longer worth starting.
struct Job {
    deadline: Option<Instant>,
    work: Box<dyn Work>,
}

/// What a job does on a worker thread.
trait Work: Send {
    /// Runs the job and returns how to deliver its answer (`None` if nobody waits for it),
    /// which the worker calls only after freeing its slot, so a caller that got an answer
    /// can submit again at once.
    fn run(self: Box<Self>, hasher: &PasswordHasher) -> Option<Delivery>;
    /// Answers `error` without running: the job waited past its deadline.
    fn expire(self: Box<Self>, error: PoolError);
}

type Delivery = Box<dyn FnOnce() + Send>;

/// A task and the channel its caller awaits.
struct Reply<T, F> {
    reply: oneshot::Sender<Result<T, PoolError>>,
    task: F,
}

impl<T, F> Work for Reply<T, F>
where
    T: Send + 'static,
    F: FnOnce(&PasswordHasher) -> Result<T, PasswordError> + Send + 'static,
{
    fn run(self: Box<Self>, hasher: &PasswordHasher) -> Option<Delivery> {
        let Self { reply, task } = *self;
        // The caller went away (client disconnected, timeout): nobody needs the answer.
        if reply.is_closed() {
            return None;
        }
        let result = task(hasher).map_err(PoolError::Password);
        Some(Box::new(move || {
            // The receiver may have gone in the meantime; the answer is then dropped.
            let _ = reply.send(result);
        }))
    }

    fn expire(self: Box<Self>, error: PoolError) {
        let _ = self.reply.send(Err(error));
    }
}

struct Shared {
    state: Mutex<State>,
    wakeup: Condvar,
    /// Jobs accepted at once, waiting or running: workers + queue capacity.
    limit: usize,
    /// The answer to a job that waited too long.
    busy: PoolError,
    /// Mirrors of `State`, for metrics read without the lock.
    queued: AtomicUsize,
    in_flight: AtomicUsize,
}

/// Jobs wait in arrival order with deadlines `max_wait` after arrival, so the expired ones are
/// always at the front.
struct State {
    jobs: VecDeque<Job>,
    running: usize,
    closed: bool,
}

impl Shared {
    /// Jobs never panic while the lock is held, so a poisoned lock still holds a consistent
    /// state.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HashingPool {
    /// Starts `config.workers` threads (named `warden-hash-<n>`) running `hasher`.
    ///
    /// Fails only if a thread cannot be spawned; the threads already started are stopped.
    pub fn new(hasher: PasswordHasher, config: PoolConfig) -> io::Result<Self> {
        let config = PoolConfig {
            workers: config.workers.max(1),
            ..config
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::with_capacity(config.queue_capacity.min(1024)),
                running: 0,
                closed: false,
            }),
            wakeup: Condvar::new(),
            limit: config.workers.saturating_add(config.queue_capacity),
            busy: PoolError::Busy {
                retry_after_secs: config.retry_after_secs,
            },
            queued: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let mut pool = Self {
            shared,
            hasher: Arc::new(hasher),
            threads: Vec::with_capacity(config.workers),
            config,
        };
        let nice = config.nice;
        for n in 0..config.workers {
            let shared = Arc::clone(&pool.shared);
            let hasher = Arc::clone(&pool.hasher);
            // On error `pool` is dropped, which stops the threads already started.
            let thread = thread::Builder::new()
                .name(format!("warden-hash-{n}"))
                .spawn(move || {
                    lower_priority(nice);
                    work(&shared, &hasher)
                })?;
            pool.threads.push(thread);
        }
        Ok(pool)
    }

    /// Hashes `password` into an argon2id PHC string ([`PasswordHasher::hash`]).
    pub async fn hash(&self, password: &str) -> Result<String, PoolError> {
        let password = OwnedPassword::new(password)?;
        self.run(move |hasher| hasher.hash(password.as_str())).await
    }

    /// Checks `password` against `stored` ([`PasswordHasher::verify`]).
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verified, PoolError> {
        let password = OwnedPassword::new(password)?;
        let stored = stored.to_owned();
        self.run(move |hasher| hasher.verify(password.as_str(), &stored))
            .await
    }

    /// Spends a verification's cost and answers `Invalid`
    /// ([`PasswordHasher::verify_unknown_user`]).
    pub async fn verify_unknown_user(&self, password: &str) -> Result<Verified, PoolError> {
        let password = OwnedPassword::new(password)?;
        self.run(move |hasher| hasher.verify_unknown_user(password.as_str()))
            .await
    }

    /// [`verify`](Self::verify) for a known user, [`verify_unknown_user`](Self::verify_unknown_user)
    /// for `None` ([`PasswordHasher::verify_optional`]). Both take one slot of the pool, so
    /// they are shed alike.
    pub async fn verify_optional(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, PoolError> {
        match stored {
            Some(stored) => self.verify(password, stored).await,
            None => self.verify_unknown_user(password).await,
        }
    }

    /// Jobs waiting for a thread now.
    pub fn queue_depth(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Jobs being hashed now (at most [`PoolConfig::workers`]).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// The configuration, with `workers` at least 1.
    pub fn config(&self) -> PoolConfig {
        self.config
    }

    /// The hasher the threads run, for cheap synchronous calls such as
    /// [`PasswordHasher::needs_rehash`].
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Queues `task` (or refuses it at once) and awaits its answer.
    async fn run<T, F>(&self, task: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&PasswordHasher) -> Result<T, PasswordError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(Box::new(Reply { reply, task }))?;
        // A oneshot receiver: the waiting task is parked until a worker answers.
        answer.await.unwrap_or(Err(PoolError::Closed))
    }

    /// Queues `work` with a deadline `max_wait` from now, or refuses it at once.
    fn submit(&self, work: Box<dyn Work>) -> Result<(), PoolError> {
        self.submit_until(work, Instant::now().checked_add(self.config.max_wait))
    }

    /// Queues `work` to be started before `deadline` (`None`: whenever), or refuses it at
    /// once.
    fn submit_until(
        &self,
        work: Box<dyn Work>,
        deadline: Option<Instant>,
    ) -> Result<(), PoolError> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(PoolError::Closed);
        }
        if state.jobs.len() + state.running >= self.shared.limit {
            drop(state);
            tracing::debug!(
                queue_depth = self.queue_depth(),
                "password hashing queue full, request shed"
            );
            return Err(self.shared.busy);
        }
        state.jobs.push_back(Job { deadline, work });
        self.shared
            .queued
            .store(state.jobs.len(), Ordering::Relaxed);
        drop(state);
        self.shared.wakeup.notify_one();
        Ok(())
    }
}

/// Lowers the calling thread's priority to `nice` (Linux: the nice value is per thread, and
/// `setpriority(PRIO_PROCESS, tid)` sets it for that thread alone — setpriority(2), NOTES).
/// Raising one's own nice value needs no privilege; a failure only costs the isolation.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i8) {
    let nice = i32::from(nice.clamp(0, 19));
    if nice == 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(tid), nice) {
        tracing::warn!(%error, "could not lower the priority of a password-hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_: i8) {}

/// A worker thread: takes jobs until the pool closes, answering those past their deadline
/// without running them.
fn work(shared: &Shared, hasher: &PasswordHasher) {
    let mut expired = Vec::new();
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                let job = take(&mut state, &mut expired);
                shared.queued.store(state.jobs.len(), Ordering::Relaxed);
                if job.is_some() {
                    state.running += 1;
                    shared.in_flight.store(state.running, Ordering::Relaxed);
                    break job;
                }
                if !expired.is_empty() {
                    break None;
                }
                if state.closed {
                    return;
                }
                state = shared
                    .wakeup
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if !expired.is_empty() {
            tracing::debug!(
                shed = expired.len(),
                "password hashing jobs waited past their deadline, shed"
            );
            for work in expired.drain(..) {
                work.expire(shared.busy);
            }
        }
        let Some(work) = job else { continue };
        // A panic drops the job's reply sender, so its caller gets `Closed`; the thread lives.
        let delivery = catch_unwind(AssertUnwindSafe(|| work.run(hasher))).unwrap_or_else(|_| {
            tracing::error!("password hashing job panicked");
            None
        });
        {
            let mut state = shared.lock();
            state.running -= 1;
            shared.in_flight.store(state.running, Ordering::Relaxed);
        }
        if let Some(deliver) = delivery {
            deliver();
        }
    }
}

/// Pops the first job still within its deadline, moving the expired ones before it to
/// `expired`.
fn take(state: &mut State, expired: &mut Vec<Box<dyn Work>>) -> Option<Box<dyn Work>> {
    let now = Instant::now();
    while let Some(job) = state.jobs.pop_front() {
        if job.deadline.is_some_and(|deadline| deadline < now) {
            expired.push(job.work);
        } else {
            return Some(job.work);
        }
    }
    None
}

impl Drop for HashingPool {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.shared.lock();
            state.closed = true;
            self.shared.queued.store(0, Ordering::Relaxed);
            mem::take(&mut state.jobs)
        };
        // Dropping the jobs drops their reply senders: their callers get `Closed`.
        drop(waiting);
        self.shared.wakeup.notify_all();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("password hashing thread panicked");
            }
        }
    }
}

impl fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingPool")
            .field("config", &self.config)
            .field("queue_depth", &self.queue_depth())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// A password copied for a worker thread: never printed, overwritten when dropped.
///
/// The overwrite is best effort (no `zeroize` dependency): it clears this copy, not the
/// caller's, nor what the allocator or argon2 left elsewhere.
struct OwnedPassword(Vec<u8>);

impl OwnedPassword {
    /// Refuses too-long passwords here, before they take a slot in the queue.
    fn new(password: &str) -> Result<Self, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong {
                max: MAX_PASSWORD_BYTES,
            });
        }
        Ok(Self(password.as_bytes().to_vec()))
    }

    fn as_str(&self) -> &str {
        // Copied from a `&str`, so always UTF-8; the fallback cannot happen.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Drop for OwnedPassword {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

impl From<PoolError> for Denied {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Busy { retry_after_secs } => Denied::Unavailable {
                retry_after: retry_after_secs,
            },
            PoolError::Closed => Denied::Unavailable { retry_after: 1 },
            PoolError::Password(error) => error.into(),
        }
    }
}

impl From<PasswordError> for Denied {
    /// A too-long password is a wrong one (401). An unusable stored hash is the server's
    /// fault but must not let anyone in nor tell the client more: 401, logged as an error.
    /// A failing random generator or allocator: 503.
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::TooLong { .. } => Denied::InvalidCredentials,
            PasswordError::Internal(_) => {
                tracing::error!(%error, "password hashing failed");
                Denied::Unavailable { retry_after: 1 }
            }
            _ => {
                tracing::error!(%error, "stored password hash unusable");
                Denied::InvalidCredentials
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Params;

    fn pool(workers: usize, queue_capacity: usize) -> HashingPool {
        let hasher = PasswordHasher::new(Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let config = PoolConfig {
            workers,
            queue_capacity,
            max_wait: Duration::from_secs(60),
            retry_after_secs: 7,
            nice: 10,
        };
        HashingPool::new(hasher, config).unwrap()
    }

    /// A test job: `run` calls the closure; `expire` reports its error on `expired`, if any.
    struct Call<F> {
        run: F,
        expired: Option<std::sync::mpsc::Sender<PoolError>>,
    }

    impl<F: FnOnce() + Send> Work for Call<F> {
        fn run(self: Box<Self>, _: &PasswordHasher) -> Option<Delivery> {
            (self.run)();
            None
        }

        fn expire(self: Box<Self>, error: PoolError) {
            if let Some(expired) = self.expired {
                let _ = expired.send(error);
            }
        }
    }

    fn call(run: impl FnOnce() + Send + 'static) -> Box<dyn Work> {
        Box::new(Call { run, expired: None })
    }

    /// The nice values of this process's threads named `warden-hash-*`, from
    /// `/proc/self/task/*/stat` (field 19, after the parenthesised name).
    #[cfg(target_os = "linux")]
    fn hashing_thread_nice_values() -> Vec<i32> {
        let mut values = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let Ok(stat) = std::fs::read_to_string(task.unwrap().path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if !stat[open + 1..close].starts_with("warden-hash") {
                continue;
            }
            // After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
            // cmajflt utime stime cutime cstime priority nice(19).
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            values.push(fields[16].parse().unwrap());
        }
        values
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority() {
        let pool = pool(2, 0);
        // Let both threads start and set their priority.
        pool.hash("warm-up").await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = hashing_thread_nice_values();
            if seen.len() >= 2 && seen.iter().all(|&n| n == 10) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(seen.len() >= 2, "hashing threads found: {seen:?}");
        assert!(seen.iter().all(|&n| n == 10), "nice values: {seen:?}");
    }

    #[test]
    fn default_config_scales_with_cpus() {
        let config = PoolConfig::default();
        assert!(config.workers >= 1);
        assert_eq!(config.queue_capacity, 512 * config.workers);
        assert_eq!(config.max_wait, Duration::from_secs(2));
    }

    #[tokio::test]
    async fn jobs_past_their_deadline_are_answered_busy_without_running() {
        let pool = pool(1, 16);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        pool.submit(call(move || {
            let _ = gate.recv();
        }))
        .unwrap();
        while pool.in_flight() == 0 {
            tokio::task::yield_now().await; // until the worker holds the gate
        }
        // Behind the gate, in turn: jobs whose deadline passes while they wait, and jobs
        // with time to spare.
        let now = Instant::now();
        let ran = Arc::new(AtomicUsize::new(0));
        let (expired, busy) = std::sync::mpsc::channel();
        for i in 0..8 {
            let ran = Arc::clone(&ran);
            let job = Box::new(Call {
                run: move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                },
                expired: Some(expired.clone()),
            });
            let deadline = if i % 2 == 0 {
                now
            } else {
                now + Duration::from_secs(3600)
            };
            pool.submit_until(job, Some(deadline)).unwrap();
        }
        drop(expired);
        assert_eq!(pool.queue_depth(), 8);
        std::thread::sleep(Duration::from_millis(1)); // `now` is now in the past
        release.send(()).unwrap();
        // The four late jobs are answered Busy with the configured Retry-After, unrun.
        let answers: Vec<PoolError> = busy.iter().collect();
        assert_eq!(
            answers,
            vec![
                PoolError::Busy {
                    retry_after_secs: 7
                };
                4
            ]
        );
        while pool.queue_depth() + pool.in_flight() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(ran.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_waiting_longer_than_max_wait_gets_busy() {
        let hasher = PasswordHasher::new(Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let config = PoolConfig {
            max_wait: Duration::from_millis(20),
            retry_after_secs: 3,
            ..PoolConfig::with_workers(1)
        };
        let pool = Arc::new(HashingPool::new(hasher, config).unwrap());
        let stored = pool.hash("pw").await.unwrap();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        pool.submit_until(
            call(move || {
                let _ = gate.recv();
            }),
            None,
        )
        .unwrap();
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let (pool, stored) = (Arc::clone(&pool), stored.clone());
                tokio::spawn(async move { pool.verify("pw", &stored).await })
            })
            .collect();
        // All three submitted (the blocker running or still queued): every deadline is now
        // at most 20 ms away, however late a loaded machine ran the spawned tasks.
        while pool.queue_depth() + pool.in_flight() < 4 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(40)).await; // past their deadline
        release.send(()).unwrap();
        for answer in waiting {
            assert_eq!(
                answer.await.unwrap(),
                Err(PoolError::Busy {
                    retry_after_secs: 3
                })
            );
        }
    }

    #[tokio::test]
    async fn round_trip_through_the_pool() {
        let pool = pool(1, 1);
        let stored = pool.hash("pw").await.unwrap();
        assert_eq!(
            pool.verify("pw", &stored).await,
            Ok(Verified::Valid {
                needs_rehash: false
            })
        );
        assert_eq!(pool.verify("nope", &stored).await, Ok(Verified::Invalid));
        assert_eq!(
            pool.verify_optional("pw", None).await,
            Ok(Verified::Invalid)
        );
        assert_eq!(
            pool.verify("pw", "plain").await,
            Err(PoolError::Password(PasswordError::UnknownFormat))
        );
        assert_eq!((pool.queue_depth(), pool.in_flight()), (0, 0));
    }

    #[tokio::test]
    async fn too_long_is_refused_before_queueing() {
        let pool = pool(1, 0);
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(
            pool.hash(&long).await,
            Err(PoolError::Password(PasswordError::TooLong {
                max: MAX_PASSWORD_BYTES
            }))
        );
    }

    #[tokio::test]
    async fn full_pool_sheds_at_once_and_recovers() {
        let pool = pool(1, 1);
        // Hold the only worker and the only queue slot with jobs that wait on a signal.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let blocked = |gate: Arc<Mutex<std::sync::mpsc::Receiver<()>>>| {
            call(move || {
                let _ = gate.lock().unwrap().recv();
            })
        };
        pool.submit(blocked(Arc::clone(&gate))).unwrap();
        pool.submit(blocked(Arc::clone(&gate))).unwrap();
        assert_eq!(
            pool.hash("pw").await,
            Err(PoolError::Busy {
                retry_after_secs: 7
            })
        );
        assert_eq!(
            Denied::from(PoolError::Busy {
                retry_after_secs: 7
            }),
            Denied::Unavailable { retry_after: 7 }
        );
        release.send(()).unwrap();
        release.send(()).unwrap();
        // Once the two jobs are done, the pool takes work again.
        while pool.queue_depth() + pool.in_flight() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(pool.hash("pw").await.is_ok());
    }

    #[tokio::test]
    async fn dropping_the_pool_answers_waiting_jobs_closed() {
        let pool = pool(1, 4);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        pool.submit(call(move || {
            let _ = gate.recv();
        }))
        .unwrap();
        while pool.in_flight() == 0 {
            tokio::task::yield_now().await; // until the worker holds the first job
        }
        let (reply, answer) = oneshot::channel::<()>();
        pool.submit(call(move || {
            let _ = reply.send(());
        }))
        .unwrap();
        assert_eq!(pool.queue_depth(), 1);
        // Drop on another thread: it closes the pool, drops the waiting job, then joins the
        // worker, which is still held by the first job.
        let dropper = thread::spawn(move || drop(pool));
        assert!(answer.await.is_err());
        release.send(()).unwrap();
        dropper.join().unwrap();
    }

    #[test]
    fn password_errors_map_to_denied() {
        assert_eq!(
            Denied::from(PasswordError::TooLong { max: 1 }),
            Denied::InvalidCredentials
        );
        assert_eq!(
            Denied::from(PasswordError::UnknownFormat),
            Denied::InvalidCredentials
        );
        assert_eq!(
            Denied::from(PoolError::Closed),
            Denied::Unavailable { retry_after: 1 }
        );
    }
}
