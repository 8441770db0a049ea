//! A thin safe wrapper over one Linux epoll instance, shared by the Bolt workers.
//!
//! Connections are registered with `EPOLLONESHOT`: an event hands the connection to exactly one
//! worker, and nobody else sees it until that worker re-arms it, so a connection is served by
//! one thread at a time without further locking. Registration is level-triggered, so a
//! connection re-armed with unread input fires again at once (behind the ones already ready,
//! which is what makes the polling fair).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Interest in input (and the peer closing its side).
pub const READABLE: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
/// Interest in room to write.
pub const WRITABLE: u32 = libc::EPOLLOUT as u32;

pub struct Epoll {
    fd: OwnedFd,
}

/// One readiness report: the registration's token. (What became ready does not matter: a
/// connection's turn tries what it waits for and treats would-block as "not yet".)
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub token: u64,
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; the returned descriptor is checked and then owned.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        let r = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Registers `fd` for one report of `interest` (then it must be [`rearm`](Self::rearm)ed).
    pub fn add_oneshot(&self, fd: RawFd, token: u64, interest: u32) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd,
            interest | libc::EPOLLONESHOT as u32,
            token,
        )
    }

    /// Arms a one-shot registration again, with a possibly different interest.
    pub fn rearm(&self, fd: RawFd, token: u64, interest: u32) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_MOD,
            fd,
            interest | libc::EPOLLONESHOT as u32,
            token,
        )
    }

    /// Registers `fd` level-triggered and permanently (the wake-up descriptor: once readable,
    /// every waiter sees it).
    pub fn add_level(&self, fd: RawFd, token: u64, interest: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, interest, token)
    }

    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits for at most `events.len()` reports (`timeout_ms` -1: no limit). A signal
    /// interrupting the wait reports nothing.
    pub fn wait(&self, events: &mut [Event], timeout_ms: i32) -> io::Result<usize> {
        const MAX: usize = 64;
        let mut raw = [libc::epoll_event { events: 0, u64: 0 }; MAX];
        let cap = events.len().min(MAX);
        // SAFETY: `raw` has room for `cap` events.
        let r = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                raw.as_mut_ptr(),
                cap as libc::c_int,
                timeout_ms,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(e);
        }
        let n = r as usize;
        for (dst, src) in events.iter_mut().zip(&raw[..n]) {
            // Copies out of the (packed on x86-64) struct.
            let token = src.u64;
            *dst = Event { token };
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn oneshot_reports_once_until_rearmed() {
        let ep = Epoll::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        ep.add_oneshot(b.as_raw_fd(), 7, READABLE).unwrap();
        let mut evs = [Event { token: 0 }; 4];
        assert_eq!(ep.wait(&mut evs, 0).unwrap(), 0);
        a.write_all(b"x").unwrap();
        assert_eq!(ep.wait(&mut evs, 1000).unwrap(), 1);
        assert_eq!(evs[0].token, 7);
        // Still readable, but disarmed.
        assert_eq!(ep.wait(&mut evs, 0).unwrap(), 0);
        ep.rearm(b.as_raw_fd(), 8, READABLE).unwrap();
        assert_eq!(ep.wait(&mut evs, 1000).unwrap(), 1);
        assert_eq!(evs[0].token, 8);
        ep.delete(b.as_raw_fd()).unwrap();
    }
}
