//! Calls into the operating system that Rust's standard library does not offer. The only
//! module allowed `unsafe` code (`[lints]` in Cargo.toml denies it elsewhere): each call is a plain syscall on
//! the calling thread, with its safety argument beside it.
#![allow(unsafe_code)]

/// Lowers the calling thread to nice [`HASHING_NICE`] in the normal scheduling class. The
/// password-hashing threads run there: a woken request thread (nice 0) preempts a running hash
/// at once, and while both want a core a hash gets about a quarter of a request thread's share.
/// The idle class (`SCHED_IDLE`, the earlier choice) kept reads faster under a login flood but
/// starved logins whenever anything else wanted the CPU: a login took 24 ms on an idle machine
/// and 4.7 s beside two CPU-bound processes. Reads keep a core of their own another way: the
/// pool leaves one core free of hashing (see `startup`).
#[cfg(target_os = "linux")]
pub fn lower_thread_priority() {
    // SAFETY: a plain syscall on the calling thread, named by its own id.
    let niced = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, HASHING_NICE) };
    if niced != 0 {
        tracing::debug!("could not lower the hashing thread's priority");
    }
}

/// The nice level of the hashing threads: weight 335 against a request thread's 1024.
pub const HASHING_NICE: i32 = 5;

#[cfg(not(target_os = "linux"))]
pub fn lower_thread_priority() {}

/// Raises the soft limit of open file descriptors to the hard limit and returns the limit now
/// in force (`None` where it cannot be read). The soft limit is often 1,024 while the hard one
/// is far higher: each connection takes a descriptor, and a server left at 1,024 runs out of
/// them long before it runs out of anything else.
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: `raised` is a valid rlimit for the duration of the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}
