//! epoll instances: an interest list over open file descriptions, level- and edge-triggered,
//! with EPOLLONESHOT (epoll_create1, epoll_ctl, epoll_wait, epoll_pwait).
//!
//! Readiness is computed on demand from each file's [`File::poll`]; edge-triggered interests
//! report again when the level gains bits or the file's [`File::activity`] counter moved
//! since the last report, which is how "new data arrived" shows when the level stays high.
#![forbid(unsafe_code)]

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use spin::Mutex;

use super::stat::Stat;
use super::{Events, File, OpenFile};
use crate::errno::{self, Errno};

pub const EPOLL_CTL_ADD: u32 = 1;
pub const EPOLL_CTL_DEL: u32 = 2;
pub const EPOLL_CTL_MOD: u32 = 3;

pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// Always reported, whether asked for or not.
const ALWAYS: Events = Events(Events::ERR.0 | Events::HUP.0);

#[derive(Debug)]
struct Interest {
    fd: i32,
    desc: Weak<OpenFile>,
    events: u32,
    data: u64,
    /// EPOLLONESHOT fired: silent until EPOLL_CTL_MOD.
    disabled: bool,
    /// Edge-triggered bookkeeping: the level and activity at the last report.
    last_level: Events,
    last_activity: u64,
}

impl Interest {
    fn same(&self, fd: i32, desc: &Arc<OpenFile>) -> bool {
        self.fd == fd && core::ptr::eq(self.desc.as_ptr(), Arc::as_ptr(desc))
    }
}

#[derive(Debug)]
pub struct Epoll {
    interests: Mutex<Vec<Interest>>,
    ino: u64,
}

/// One reported event, as `struct epoll_event` carries it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ready {
    pub events: u32,
    pub data: u64,
}

impl Epoll {
    pub fn new(ino: u64) -> Epoll {
        Epoll {
            interests: Mutex::new(Vec::new()),
            ino,
        }
    }

    /// epoll_ctl. `desc` is what `fd` names now; `this` is the epoll instance's own
    /// description (adding an epoll instance to itself is EINVAL).
    pub fn ctl(
        &self,
        this: &OpenFile,
        op: u32,
        fd: i32,
        desc: &Arc<OpenFile>,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        if core::ptr::eq(Arc::as_ptr(desc), this) {
            return Err(errno::EINVAL);
        }
        if desc.file.as_any().downcast_ref::<Epoll>().is_some() && events & EPOLLEXCLUSIVE != 0 {
            return Err(errno::EINVAL);
        }
        let mut list = self.interests.lock();
        list.retain(|i| i.desc.strong_count() > 0);
        let at = list.iter().position(|i| i.same(fd, desc));
        match (op, at) {
            (EPOLL_CTL_ADD, Some(_)) => Err(errno::EEXIST),
            (EPOLL_CTL_ADD, None) => {
                list.try_reserve(1).map_err(|_| errno::ENOMEM)?;
                list.push(Interest {
                    fd,
                    desc: Arc::downgrade(desc),
                    events,
                    data,
                    disabled: false,
                    last_level: Events::NONE,
                    last_activity: desc.file.activity().wrapping_sub(1),
                });
                Ok(())
            }
            (EPOLL_CTL_MOD, Some(i)) => {
                if events & EPOLLEXCLUSIVE != 0 {
                    return Err(errno::EINVAL);
                }
                let it = &mut list[i];
                it.events = events;
                it.data = data;
                it.disabled = false;
                it.last_level = Events::NONE;
                it.last_activity = desc.file.activity().wrapping_sub(1);
                Ok(())
            }
            (EPOLL_CTL_DEL, Some(i)) => {
                list.remove(i);
                Ok(())
            }
            (EPOLL_CTL_MOD | EPOLL_CTL_DEL, None) => Err(errno::ENOENT),
            _ => Err(errno::EINVAL),
        }
    }

    /// Up to `max` ready interests, updating edge and one-shot state as epoll_wait does.
    pub fn collect(&self, max: usize) -> Vec<Ready> {
        let mut out = Vec::new();
        let mut list = self.interests.lock();
        list.retain(|i| i.desc.strong_count() > 0);
        for it in list.iter_mut() {
            if out.len() >= max {
                break;
            }
            if it.disabled {
                continue;
            }
            let Some(desc) = it.desc.upgrade() else {
                continue;
            };
            let wanted = Events(it.events & 0xffff) | ALWAYS;
            let level = desc.file.poll().and(wanted);
            if level.is_empty() {
                it.last_level = Events::NONE;
                continue;
            }
            if it.events & EPOLLET != 0 {
                let activity = desc.file.activity();
                let gained = Events(level.0 & !it.last_level.0);
                if gained.is_empty() && activity == it.last_activity {
                    continue;
                }
                it.last_level = level;
                it.last_activity = activity;
            }
            if it.events & EPOLLONESHOT != 0 {
                it.disabled = true;
            }
            out.push(Ready {
                events: level.0,
                data: it.data,
            });
        }
        out
    }

    /// The least of `f` over the live interests' files (when a wait must look again).
    pub fn earliest(&self, f: impl Fn(&dyn File) -> Option<u64>) -> Option<u64> {
        let list = self.interests.lock();
        list.iter()
            .filter(|it| !it.disabled)
            .filter_map(|it| it.desc.upgrade().and_then(|d| f(&*d.file)))
            .min()
    }

    /// Whether anything would be reported now (for polling the epoll fd itself).
    fn any_ready(&self) -> bool {
        let list = self.interests.lock();
        list.iter().any(|it| {
            !it.disabled
                && it.desc.upgrade().is_some_and(|d| {
                    !d.file
                        .poll()
                        .and(Events(it.events & 0xffff) | ALWAYS)
                        .is_empty()
                })
        })
    }
}

impl File for Epoll {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::anonymous(0, self.ino))
    }

    fn poll(&self) -> Events {
        if self.any_ready() {
            Events::IN
        } else {
            Events::NONE
        }
    }

    fn next_event_ns(&self) -> Option<u64> {
        self.earliest(|f| f.next_event_ns())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd::eventfd::EventFd;
    use crate::fd::pipe::pipe;
    use crate::fd::{O_RDONLY, O_RDWR, O_WRONLY};

    fn epoll() -> Arc<OpenFile> {
        OpenFile::new(Arc::new(Epoll::new(9)), O_RDWR)
    }

    fn ep(d: &Arc<OpenFile>) -> &Epoll {
        d.file.as_any().downcast_ref::<Epoll>().unwrap()
    }

    const IN: u32 = Events::IN.0;
    const OUT: u32 = Events::OUT.0;

    #[test]
    fn level_triggered_reports_while_ready() {
        let e = epoll();
        let (r, w) = pipe(1);
        let (r, w) = (
            OpenFile::new(Arc::new(r), O_RDONLY),
            OpenFile::new(Arc::new(w), O_WRONLY),
        );
        ep(&e).ctl(&e, EPOLL_CTL_ADD, 3, &r, IN, 33).unwrap();
        assert!(ep(&e).collect(8).is_empty());
        w.write(b"x").unwrap();
        assert_eq!(
            ep(&e).collect(8),
            [Ready {
                events: IN,
                data: 33
            }]
        );
        assert_eq!(
            ep(&e).collect(8).len(),
            1,
            "level-triggered: again while unread"
        );
        assert_eq!(e.file.poll(), Events::IN);
        r.read(&mut [0u8; 4]).unwrap();
        assert!(ep(&e).collect(8).is_empty());
    }

    #[test]
    fn edge_triggered_reports_once_per_arrival() {
        let e = epoll();
        let (r, w) = pipe(1);
        let (r, w) = (
            OpenFile::new(Arc::new(r), O_RDONLY),
            OpenFile::new(Arc::new(w), O_WRONLY),
        );
        ep(&e)
            .ctl(&e, EPOLL_CTL_ADD, 3, &r, IN | EPOLLET, 1)
            .unwrap();
        w.write(b"a").unwrap();
        assert_eq!(ep(&e).collect(8).len(), 1);
        assert!(ep(&e).collect(8).is_empty(), "no new data: no new edge");
        w.write(b"b").unwrap();
        assert_eq!(
            ep(&e).collect(8).len(),
            1,
            "new data while still readable: a new edge"
        );
        // Drained to EAGAIN, then data arrives before the next wait: reported.
        r.read(&mut [0u8; 8]).unwrap();
        w.write(b"c").unwrap();
        assert_eq!(ep(&e).collect(8).len(), 1);
    }

    #[test]
    fn oneshot_until_mod() {
        let e = epoll();
        let efd = OpenFile::new(Arc::new(EventFd::new(1, false, 2)), O_RDWR);
        ep(&e)
            .ctl(&e, EPOLL_CTL_ADD, 4, &efd, IN | EPOLLONESHOT, 7)
            .unwrap();
        assert_eq!(ep(&e).collect(8).len(), 1);
        assert!(ep(&e).collect(8).is_empty());
        ep(&e)
            .ctl(&e, EPOLL_CTL_MOD, 4, &efd, IN | OUT | EPOLLONESHOT, 8)
            .unwrap();
        assert_eq!(
            ep(&e).collect(8),
            [Ready {
                events: IN | OUT,
                data: 8
            }]
        );
    }

    #[test]
    fn ctl_errors() {
        let e = epoll();
        let efd = OpenFile::new(Arc::new(EventFd::new(0, false, 2)), O_RDWR);
        assert_eq!(
            ep(&e).ctl(&e, EPOLL_CTL_MOD, 4, &efd, IN, 0),
            Err(errno::ENOENT)
        );
        assert_eq!(
            ep(&e).ctl(&e, EPOLL_CTL_DEL, 4, &efd, 0, 0),
            Err(errno::ENOENT)
        );
        ep(&e).ctl(&e, EPOLL_CTL_ADD, 4, &efd, IN, 0).unwrap();
        assert_eq!(
            ep(&e).ctl(&e, EPOLL_CTL_ADD, 4, &efd, IN, 0),
            Err(errno::EEXIST)
        );
        assert_eq!(
            ep(&e).ctl(&e, EPOLL_CTL_ADD, 5, &e, IN, 0),
            Err(errno::EINVAL)
        );
        assert_eq!(ep(&e).ctl(&e, 99, 4, &efd, IN, 0), Err(errno::EINVAL));
        ep(&e).ctl(&e, EPOLL_CTL_DEL, 4, &efd, 0, 0).unwrap();
    }

    #[test]
    fn closed_descriptions_drop_out_and_hup_is_always_reported() {
        let e = epoll();
        let (r, w) = pipe(1);
        let (r, w) = (
            OpenFile::new(Arc::new(r), O_RDONLY),
            OpenFile::new(Arc::new(w), O_WRONLY),
        );
        ep(&e).ctl(&e, EPOLL_CTL_ADD, 3, &r, 0, 1).unwrap();
        drop(w);
        assert_eq!(
            ep(&e).collect(8),
            [Ready {
                events: Events::HUP.0,
                data: 1
            }]
        );
        drop(r);
        assert!(ep(&e).collect(8).is_empty());
    }

    #[test]
    fn max_events_is_honoured() {
        let e = epoll();
        let fds: Vec<_> = (0..5)
            .map(|i| OpenFile::new(Arc::new(EventFd::new(1, false, i)), O_RDWR))
            .collect();
        for (i, f) in fds.iter().enumerate() {
            ep(&e)
                .ctl(&e, EPOLL_CTL_ADD, i as i32, f, IN, i as u64)
                .unwrap();
        }
        assert_eq!(ep(&e).collect(3).len(), 3);
        assert_eq!(ep(&e).collect(64).len(), 5);
    }
}
