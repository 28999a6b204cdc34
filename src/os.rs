//! Calls into the operating system that Rust's standard library does not offer. The only
//! module allowed `unsafe` code (`[lints]` in Cargo.toml denies it elsewhere): each call is a plain syscall on
//! the calling thread, with its safety argument beside it.
#![allow(unsafe_code)]

/// Moves the calling thread to the `SCHED_IDLE` class. The password-hashing threads run there: they get every CPU cycle that request handling
/// leaves, and give it back the moment a request needs it. At nice 10 (the earlier choice) a
/// running hash kept its core until its time slice ended, which added up to a scheduler tick to
/// the reads waiting behind it: read p99 during a login flood measured 2.8x to 5.2x the p99
/// without, against 2.2x to 2.3x in `SCHED_IDLE` (BENCHMARKS.md). Logins still complete while
/// reads saturate the server, since request handling waits on I/O often enough; nice 10 is the
/// fallback where the class is unavailable.
#[cfg(target_os = "linux")]
pub fn lower_thread_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain syscalls on the calling thread (id 0 = the caller); `param` outlives them.
    let idle = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if idle == 0 {
        return;
    }
    // SAFETY: as above.
    let niced = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
    if niced != 0 {
        tracing::debug!("could not lower the hashing thread's priority");
    }
}

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
