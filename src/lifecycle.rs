//! Where the process is in its life: serving, or draining before it stops.
//!
//! A deploy restarts replicas one at a time behind a load balancer, which only learns that a
//! replica is going from its health check. So on SIGTERM the process first drains: `/ready`
//! answers 503 and every answer says `Connection: close` (the balancer opens no new
//! connection to it and keeps none), while requests go on being served for `SHUTDOWN_DRAIN`.
//! Only then does the listener close (see `startup::Application::run_until`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    draining: Arc<AtomicBool>,
}

impl Lifecycle {
    /// From now on `/ready` fails and connections are not kept alive.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}
