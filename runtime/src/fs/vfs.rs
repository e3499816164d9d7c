//! The inode table, path resolution and every operation on names and contents, with Linux's
//! error semantics.

use alloc::vec::Vec;

use super::consts::*;
use super::node::{Budget, Data, Dir, Inode, Kind, ENTRY_COST, FIRST_POS, INODE_COST};
use super::{
    Ctx, Device, FileType, Ino, Stat, StatFs, TimeSet, Timespec, DEV, MAX_SYMLINKS, NAME_MAX,
    PATH_MAX, ROOT, TMPFS_MAGIC,
};
use crate::errno::{self, Errno};

type Result<T> = core::result::Result<T, Errno>;

/// The in-memory file system. `'img` is the lifetime of the archives its initial files
/// point into (`'static` in the kernel: the image and the initrd stay mapped).
pub struct Vfs<'img> {
    /// Slot `i` holds inode number `i`; slot 0 is never used.
    nodes: Vec<Option<Inode<'img>>>,
    free: Vec<usize>,
    budget: Budget,
}

impl core::fmt::Debug for Vfs<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vfs")
            .field("inodes", &(self.nodes.len() - 1 - self.free.len()))
            .field("budget", &self.budget)
            .finish()
    }
}

/// The result of [`Vfs::open`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Opened {
    /// The inode, now holding one more reference (give it back with [`Vfs::release`]).
    pub ino: Ino,
    pub file_type: FileType,
    /// The file did not exist and `O_CREAT` made it.
    pub created: bool,
}

/// A path component's meaning (trailing `/`, `.`, `..`, or the root itself).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Special {
    Name,
    Dot,
    DotDot,
    Root,
}

/// What one directory entry leads to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Found {
    Node(Ino),
    /// An entry of `/proc/self/fd`: a "magic" link straight to the descriptor's inode.
    FdLink(u32),
}

/// A walk to the last component of a path.
#[derive(Debug)]
struct Walked {
    /// The directory holding the last component.
    dir: Ino,
    /// The last component (empty for the root).
    name: Vec<u8>,
    special: Special,
    /// What the last component names, if it exists.
    found: Option<Found>,
    /// The path ended in `/`: the last component must be a directory.
    trailing: bool,
}

fn classify(name: &[u8]) -> Special {
    match name {
        b"." => Special::Dot,
        b".." => Special::DotDot,
        b"" => Special::Root,
        _ => Special::Name,
    }
}

impl<'img> Vfs<'img> {
    /// An empty file system (a root directory, mode 0755) whose data, inodes and names may
    /// use `limit` bytes.
    pub fn new(limit: u64, now: Timespec) -> Vfs<'img> {
        Vfs {
            nodes: alloc::vec![
                None,
                Some(Inode::new(Kind::Dir(Dir::new(ROOT)), 0o755, now))
            ],
            free: Vec::new(),
            budget: Budget {
                used: INODE_COST,
                limit,
            },
        }
    }

    /// Bytes charged so far, and the limit.
    pub fn usage(&self) -> (u64, u64) {
        (self.budget.used, self.budget.limit)
    }

    // ---- inode table -----------------------------------------------------------------

    fn node(&self, ino: Ino) -> Result<&Inode<'img>> {
        self.nodes
            .get(ino as usize)
            .and_then(Option::as_ref)
            .ok_or(errno::EBADF)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Inode<'img>> {
        self.nodes
            .get_mut(ino as usize)
            .and_then(Option::as_mut)
            .ok_or(errno::EBADF)
    }

    fn dir(&self, ino: Ino) -> Result<&Dir> {
        match &self.node(ino)?.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(errno::ENOTDIR),
        }
    }

    fn dir_mut(&mut self, ino: Ino) -> Result<&mut Dir> {
        match &mut self.node_mut(ino)?.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(errno::ENOTDIR),
        }
    }

    fn alloc(&mut self, inode: Inode<'img>) -> Result<Ino> {
        self.budget.charge(INODE_COST + inode.charged())?;
        if let Some(slot) = self.free.pop() {
            self.nodes[slot] = Some(inode);
            return Ok(slot as Ino);
        }
        if self.nodes.try_reserve(1).is_err() {
            self.budget.refund(INODE_COST + inode.charged());
            return Err(errno::ENOSPC);
        }
        self.nodes.push(Some(inode));
        Ok((self.nodes.len() - 1) as Ino)
    }

    /// Frees `ino` if no name and no reference keeps it.
    fn maybe_free(&mut self, ino: Ino) {
        let Ok(node) = self.node(ino) else { return };
        if node.nlink > 0 || node.opens > 0 || ino == ROOT {
            return;
        }
        let cost = INODE_COST + node.charged();
        self.nodes[ino as usize] = None;
        self.free.push(ino as usize);
        self.budget.refund(cost);
    }

    fn parent_of(&self, ino: Ino) -> Result<Ino> {
        match &self.node(ino)?.kind {
            Kind::Dir(d) => Ok(d.parent),
            Kind::FdDir { parent } => Ok(*parent),
            _ => Err(errno::ENOTDIR),
        }
    }

    /// Adds the entry `name` → `ino` to `dir` (charged), without touching link counts.
    fn add_entry(&mut self, dir: Ino, name: &[u8], ino: Ino, now: Timespec) -> Result<()> {
        self.budget.charge(ENTRY_COST + 2 * name.len() as u64)?;
        let parent = self.node_mut(dir)?;
        parent.mtime = now;
        parent.ctime = now;
        match &mut parent.kind {
            Kind::Dir(d) => d.insert(name, ino),
            _ => return Err(errno::ENOTDIR),
        }
        Ok(())
    }

    fn remove_entry(&mut self, dir: Ino, name: &[u8], now: Timespec) -> Result<Ino> {
        let parent = self.node_mut(dir)?;
        parent.mtime = now;
        parent.ctime = now;
        let ino = match &mut parent.kind {
            Kind::Dir(d) => d.remove(name).ok_or(errno::ENOENT)?,
            _ => return Err(errno::ENOTDIR),
        };
        self.budget.refund(ENTRY_COST + 2 * name.len() as u64);
        Ok(ino)
    }

    // ---- references held by the syscall layer ----------------------------------------

    /// Takes one more reference on `ino` (a descriptor duplicated into a new open file, the
    /// working directory).
    pub fn retain(&mut self, ino: Ino) -> Result<()> {
        let node = self.node_mut(ino)?;
        node.opens = node.opens.saturating_add(1);
        Ok(())
    }

    /// Gives back a reference from [`Vfs::open`], [`Vfs::retain`] or [`Vfs::create_anon`];
    /// an inode with no names and no references is freed.
    pub fn release(&mut self, ino: Ino) {
        if let Ok(node) = self.node_mut(ino) {
            node.opens = node.opens.saturating_sub(1);
            self.maybe_free(ino);
        }
    }

    /// An inode with no name (a pipe, a socket), holding one reference.
    pub fn create_anon(&mut self, ctx: &Ctx<'_>, file_type: FileType, perm: u32) -> Result<Ino> {
        let kind = match file_type {
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::Regular => Kind::File(Data::default()),
            _ => return Err(errno::EINVAL),
        };
        let mut inode = Inode::new(kind, perm, ctx.now);
        inode.nlink = 0;
        inode.opens = 1;
        self.alloc(inode)
    }

    // ---- path resolution -------------------------------------------------------------

    /// What `name` in directory `dir` leads to (`None` if it does not exist).
    fn child(&self, ctx: &Ctx<'_>, dir: Ino, name: &[u8]) -> Result<Option<Found>> {
        let node = self.node(dir)?;
        match &node.kind {
            Kind::Dir(d) => Ok(match name {
                b"." => Some(Found::Node(dir)),
                b".." => Some(Found::Node(d.parent)),
                _ => d.get(name).map(Found::Node),
            }),
            Kind::FdDir { parent } => Ok(match name {
                b"." => Some(Found::Node(dir)),
                b".." => Some(Found::Node(*parent)),
                _ => parse_fd(name)
                    .filter(|&fd| ctx.fds.fd(fd).is_some())
                    .map(Found::FdLink),
            }),
            _ => Err(errno::ENOTDIR),
        }
    }

    /// The inode `found` leads to, following a descriptor link.
    fn target(&self, ctx: &Ctx<'_>, found: Found) -> Result<Ino> {
        match found {
            Found::Node(ino) => Ok(ino),
            Found::FdLink(fd) => ctx.fds.fd(fd).map(|f| f.ino).ok_or(errno::ENOENT),
        }
    }

    fn symlink_target(&self, found: Found) -> Option<&[u8]> {
        match found {
            Found::Node(ino) => match &self.node(ino).ok()?.kind {
                Kind::Symlink(target) => Some(target),
                _ => None,
            },
            Found::FdLink(_) => None,
        }
    }

    /// Walks `path` from `start` (or the root if absolute) to its last component, following
    /// symbolic links on the way — and in the last component too when `follow_last` (or the
    /// path ends in `/`).
    fn walk(&self, ctx: &Ctx<'_>, start: Ino, path: &[u8], follow_last: bool) -> Result<Walked> {
        if path.is_empty() {
            return Err(errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(errno::ENAMETOOLONG);
        }
        let trailing = path.ends_with(b"/");
        let mut dir = if path[0] == b'/' { ROOT } else { start };
        // Components still to walk, the next one last.
        let mut todo: Vec<&[u8]> = components(path).rev().collect();
        let mut links = 0u32;
        let Some(mut name) = todo.pop() else {
            return Ok(Walked {
                dir: ROOT,
                name: Vec::new(),
                special: Special::Root,
                found: Some(Found::Node(ROOT)),
                trailing,
            });
        };
        loop {
            if name.len() > NAME_MAX {
                return Err(errno::ENAMETOOLONG);
            }
            let found = self.child(ctx, dir, name)?;
            let last = todo.is_empty();
            if let Some(target) = found.and_then(|f| self.symlink_target(f)) {
                if !last || follow_last || trailing {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(errno::ELOOP);
                    }
                    if target.is_empty() {
                        return Err(errno::ENOENT);
                    }
                    if target[0] == b'/' {
                        dir = ROOT;
                    }
                    todo.extend(components(target).rev());
                    match todo.pop() {
                        Some(next) => name = next,
                        // The link points at "/".
                        None => {
                            dir = ROOT;
                            name = b".";
                        }
                    }
                    continue;
                }
            }
            if last {
                return Ok(Walked {
                    dir,
                    name: name.to_vec(),
                    special: classify(name),
                    found,
                    trailing,
                });
            }
            dir = self.target(ctx, found.ok_or(errno::ENOENT)?)?;
            name = todo.pop().unwrap_or(b".");
        }
    }

    /// The inode `path` names (from `at` if relative), following a final symbolic link when
    /// `follow`. `ENOTDIR` if the path ends in `/` and names no directory.
    pub fn lookup(&self, ctx: &Ctx<'_>, at: Ino, path: &[u8], follow: bool) -> Result<Ino> {
        let w = self.walk(ctx, at, path, follow)?;
        let found = w.found.ok_or(errno::ENOENT)?;
        if let (Found::FdLink(_), false) = (found, follow) {
            // Not followed, a descriptor link is not an inode of ours.
            return Err(errno::ELOOP);
        }
        let ino = self.target(ctx, found)?;
        if w.trailing && !self.node(ino)?.is_dir() {
            return Err(errno::ENOTDIR);
        }
        Ok(ino)
    }

    /// The type of `ino`.
    pub fn file_type(&self, ino: Ino) -> Result<FileType> {
        Ok(self.node(ino)?.kind.file_type())
    }

    /// The path of directory `ino` from the root (`getcwd`); `ENOENT` once it was removed.
    pub fn dir_path(&self, ino: Ino) -> Result<Vec<u8>> {
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut cur = ino;
        while cur != ROOT {
            let node = self.node(cur)?;
            if node.nlink == 0 {
                return Err(errno::ENOENT);
            }
            let parent = self.parent_of(cur)?;
            let name = self
                .dir(parent)?
                .by_name
                .iter()
                .find(|(_, &(i, _))| i == cur)
                .map(|(n, _)| &n[..])
                .ok_or(errno::ENOENT)?;
            parts.push(name);
            cur = parent;
            if parts.len() > PATH_MAX / 2 {
                return Err(errno::ENAMETOOLONG);
            }
        }
        let mut out = Vec::new();
        for part in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(part);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }

    // ---- open and create -------------------------------------------------------------

    /// `openat`: resolves `path` from `at` with the semantics of the `O_*` bits in `flags`
    /// (`O_CREAT`, `O_EXCL`, `O_TRUNC`, `O_DIRECTORY`, `O_NOFOLLOW`, `O_PATH`, `O_TMPFILE`;
    /// the access mode decides `EISDIR`), creating a regular file with `mode & ~umask` if
    /// asked. `O_APPEND`, `O_NONBLOCK` and `O_CLOEXEC` are the open file's business. The
    /// returned inode holds a reference for the new open file.
    pub fn open(
        &mut self,
        ctx: &Ctx<'_>,
        at: Ino,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<Opened> {
        let writable = flags & O_ACCMODE != O_RDONLY;
        if flags & O_TMPFILE == O_TMPFILE {
            if !writable {
                return Err(errno::EINVAL);
            }
            let dir = self.lookup(ctx, at, path, true)?;
            if !self.node(dir)?.is_dir() {
                return Err(errno::ENOTDIR);
            }
            if self.node(dir)?.sealed {
                return Err(errno::EOPNOTSUPP);
            }
            let ino = self.create_anon(ctx, FileType::Regular, mode & !ctx.umask)?;
            return Ok(Opened {
                ino,
                file_type: FileType::Regular,
                created: true,
            });
        }
        if flags & O_CREAT != 0 && flags & O_DIRECTORY != 0 {
            return Err(errno::EINVAL);
        }
        let follow = flags & O_NOFOLLOW == 0 && !(flags & O_CREAT != 0 && flags & O_EXCL != 0);
        let w = self.walk(ctx, at, path, follow)?;
        let (ino, created) = match w.found {
            Some(found) => {
                if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                    return Err(errno::EEXIST);
                }
                if let Some(_target) = self.symlink_target(found) {
                    // Only reached when not followed: O_NOFOLLOW (or O_CREAT|O_EXCL above).
                    if flags & O_PATH != 0 {
                        (self.target(ctx, found)?, false)
                    } else {
                        return Err(errno::ELOOP);
                    }
                } else if let (Found::FdLink(_), false) = (found, follow) {
                    return Err(errno::ELOOP);
                } else {
                    (self.target(ctx, found)?, false)
                }
            }
            None if flags & O_CREAT != 0 => {
                if w.trailing || w.special != Special::Name {
                    return Err(errno::EISDIR);
                }
                let ino = self.make(
                    ctx,
                    w.dir,
                    &w.name,
                    Kind::File(Data::default()),
                    mode & !ctx.umask,
                )?;
                (ino, true)
            }
            None => return Err(errno::ENOENT),
        };
        let node = self.node(ino)?;
        let file_type = node.kind.file_type();
        let is_dir = node.is_dir();
        if flags & O_PATH == 0 {
            if w.trailing && !is_dir {
                return Err(errno::ENOTDIR);
            }
            if flags & O_DIRECTORY != 0 && !is_dir {
                return Err(errno::ENOTDIR);
            }
            if is_dir && (writable || flags & O_CREAT != 0) {
                return Err(errno::EISDIR);
            }
            if flags & O_TRUNC != 0 && !created {
                if let Kind::File(data) = &self.node(ino)?.kind {
                    if data.size() != 0 {
                        self.truncate(ctx, ino, 0)?;
                    }
                }
            }
        } else if flags & O_DIRECTORY != 0 && !is_dir {
            return Err(errno::ENOTDIR);
        }
        self.retain(ino)?;
        Ok(Opened {
            ino,
            file_type,
            created,
        })
    }

    /// Makes a new inode named `name` in `dir` (which must not hold that name).
    fn make(
        &mut self,
        ctx: &Ctx<'_>,
        dir: Ino,
        name: &[u8],
        kind: Kind<'img>,
        perm: u32,
    ) -> Result<Ino> {
        let parent = self.node(dir)?;
        if parent.sealed {
            return Err(errno::EACCES);
        }
        if parent.nlink == 0 {
            return Err(errno::ENOENT);
        }
        if name.len() > NAME_MAX {
            return Err(errno::ENAMETOOLONG);
        }
        let is_dir = matches!(kind, Kind::Dir(_));
        let ino = self.alloc(Inode::new(kind, perm, ctx.now))?;
        if let Err(e) = self.add_entry(dir, name, ino, ctx.now) {
            if let Ok(node) = self.node_mut(ino) {
                node.nlink = 0;
            }
            self.maybe_free(ino);
            return Err(e);
        }
        if is_dir {
            self.node_mut(dir)?.nlink += 1;
        }
        Ok(ino)
    }

    /// Resolves the parent of a name about to be created, with `mkdir`/`symlink`/`link`
    /// errors: `EEXIST` if it exists (never following it), `ENOENT` for a missing name with
    /// a trailing `/` unless `dir_ok`.
    fn create_slot(
        &self,
        ctx: &Ctx<'_>,
        at: Ino,
        path: &[u8],
        dir_ok: bool,
    ) -> Result<(Ino, Vec<u8>)> {
        let w = self.walk(ctx, at, path, false)?;
        if w.found.is_some() || w.special != Special::Name {
            return Err(errno::EEXIST);
        }
        if w.trailing && !dir_ok {
            return Err(errno::ENOENT);
        }
        Ok((w.dir, w.name))
    }

    /// `mkdirat`.
    pub fn mkdir(&mut self, ctx: &Ctx<'_>, at: Ino, path: &[u8], mode: u32) -> Result<Ino> {
        let (dir, name) = self.create_slot(ctx, at, path, true)?;
        self.make(ctx, dir, &name, Kind::Dir(Dir::new(dir)), mode & !ctx.umask)
    }

    /// `symlinkat`: a link named `path` whose content is `target`.
    pub fn symlink(&mut self, ctx: &Ctx<'_>, target: &[u8], at: Ino, path: &[u8]) -> Result<Ino> {
        if target.is_empty() {
            return Err(errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(errno::ENAMETOOLONG);
        }
        let (dir, name) = self.create_slot(ctx, at, path, false)?;
        let mut copy = Vec::new();
        copy.try_reserve_exact(target.len())
            .map_err(|_| errno::ENOSPC)?;
        copy.extend_from_slice(target);
        self.make(ctx, dir, &name, Kind::Symlink(copy.into()), 0o777)
    }

    /// A socket inode named `path` (what `bind` of an AF_UNIX socket to a path makes):
    /// `EEXIST` if the name exists, never following it.
    pub fn mknod_socket(&mut self, ctx: &Ctx<'_>, at: Ino, path: &[u8], perm: u32) -> Result<Ino> {
        let (dir, name) = self.create_slot(ctx, at, path, false)?;
        self.make(ctx, dir, &name, Kind::Socket, perm & 0o7777)
    }

    /// `mknodat` for a character device.
    pub fn mknod_device(
        &mut self,
        ctx: &Ctx<'_>,
        at: Ino,
        path: &[u8],
        device: Device,
        perm: u32,
    ) -> Result<Ino> {
        let (dir, name) = self.create_slot(ctx, at, path, false)?;
        self.make(ctx, dir, &name, Kind::CharDev(device), perm)
    }

    /// `linkat`: a new name `new` for the inode `old` names (following a final symbolic link
    /// of `old` only when `follow`, as `AT_SYMLINK_FOLLOW`).
    #[allow(clippy::too_many_arguments)] // the syscall's own shape: two (dir, path) pairs
    pub fn link(
        &mut self,
        ctx: &Ctx<'_>,
        old_at: Ino,
        old: &[u8],
        new_at: Ino,
        new: &[u8],
        follow: bool,
    ) -> Result<()> {
        let ino = self.lookup(ctx, old_at, old, follow)?;
        self.link_ino(ctx, ino, new_at, new)
    }

    /// `linkat` with `AT_EMPTY_PATH`: a name for an open inode (also an `O_TMPFILE` one).
    pub fn link_ino(&mut self, ctx: &Ctx<'_>, ino: Ino, new_at: Ino, new: &[u8]) -> Result<()> {
        let node = self.node(ino)?;
        if node.is_dir() {
            return Err(errno::EPERM);
        }
        if matches!(node.kind, Kind::Fifo | Kind::Socket) && node.nlink == 0 {
            return Err(errno::ENOENT);
        }
        let (dir, name) = self.create_slot(ctx, new_at, new, false)?;
        if self.node(dir)?.sealed {
            return Err(errno::EACCES);
        }
        if self.node(dir)?.nlink == 0 {
            return Err(errno::ENOENT);
        }
        self.add_entry(dir, &name, ino, ctx.now)?;
        let node = self.node_mut(ino)?;
        node.nlink += 1;
        node.ctime = ctx.now;
        Ok(())
    }

    /// `unlinkat` without `AT_REMOVEDIR`.
    pub fn unlink(&mut self, ctx: &Ctx<'_>, at: Ino, path: &[u8]) -> Result<()> {
        let w = self.walk(ctx, at, path, false)?;
        if w.special != Special::Name {
            return Err(errno::EISDIR);
        }
        let found = w.found.ok_or(errno::ENOENT)?;
        let Found::Node(ino) = found else {
            return Err(errno::EACCES);
        };
        let node = self.node(ino)?;
        if node.is_dir() {
            return Err(errno::EISDIR);
        }
        if w.trailing {
            return Err(errno::ENOTDIR);
        }
        if self.node(w.dir)?.sealed {
            return Err(errno::EACCES);
        }
        self.remove_entry(w.dir, &w.name, ctx.now)?;
        let node = self.node_mut(ino)?;
        node.nlink = node.nlink.saturating_sub(1);
        node.ctime = ctx.now;
        self.maybe_free(ino);
        Ok(())
    }

    /// `unlinkat` with `AT_REMOVEDIR` (`rmdir`).
    pub fn rmdir(&mut self, ctx: &Ctx<'_>, at: Ino, path: &[u8]) -> Result<()> {
        let w = self.walk(ctx, at, path, false)?;
        match w.special {
            Special::Dot => return Err(errno::EINVAL),
            Special::DotDot => return Err(errno::ENOTEMPTY),
            Special::Root => return Err(errno::EBUSY),
            Special::Name => {}
        }
        let found = w.found.ok_or(errno::ENOENT)?;
        let Found::Node(ino) = found else {
            return Err(errno::ENOTDIR);
        };
        match &self.node(ino)?.kind {
            Kind::Dir(d) if !d.is_empty() => return Err(errno::ENOTEMPTY),
            Kind::Dir(_) => {}
            Kind::FdDir { .. } => return Err(errno::EACCES),
            _ => return Err(errno::ENOTDIR),
        }
        if self.node(w.dir)?.sealed {
            return Err(errno::EACCES);
        }
        self.remove_entry(w.dir, &w.name, ctx.now)?;
        let parent = self.node_mut(w.dir)?;
        parent.nlink = parent.nlink.saturating_sub(1);
        let node = self.node_mut(ino)?;
        node.nlink = 0;
        node.ctime = ctx.now;
        self.maybe_free(ino);
        Ok(())
    }

    /// True if `ino` is `ancestor` or lies below it.
    fn is_within(&self, mut ino: Ino, ancestor: Ino) -> bool {
        for _ in 0..self.nodes.len() {
            if ino == ancestor {
                return true;
            }
            if ino == ROOT {
                return false;
            }
            match self.parent_of(ino) {
                Ok(parent) => ino = parent,
                Err(_) => return false,
            }
        }
        false
    }

    /// `renameat2` with `flags` 0, `RENAME_NOREPLACE` or `RENAME_EXCHANGE`.
    #[allow(clippy::too_many_arguments)] // the syscall's own shape: two (dir, path) pairs
    pub fn rename(
        &mut self,
        ctx: &Ctx<'_>,
        old_at: Ino,
        old: &[u8],
        new_at: Ino,
        new: &[u8],
        flags: u32,
    ) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
            || flags & RENAME_WHITEOUT != 0
            || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
        {
            return Err(errno::EINVAL);
        }
        let from = self.walk(ctx, old_at, old, false)?;
        let to = self.walk(ctx, new_at, new, false)?;
        if from.special != Special::Name || to.special != Special::Name {
            return Err(if flags & RENAME_NOREPLACE != 0 {
                errno::EEXIST
            } else {
                errno::EBUSY
            });
        }
        let src = match from.found.ok_or(errno::ENOENT)? {
            Found::Node(ino) => ino,
            Found::FdLink(_) => return Err(errno::EACCES),
        };
        let dst = match to.found {
            Some(Found::Node(ino)) => Some(ino),
            Some(Found::FdLink(_)) => return Err(errno::EACCES),
            None => None,
        };
        if self.node(from.dir)?.sealed || self.node(to.dir)?.sealed {
            return Err(errno::EACCES);
        }
        let src_dir = self.node(src)?.is_dir();
        let dst_dir = match dst {
            Some(d) => self.node(d)?.is_dir(),
            None => false,
        };
        if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
            return Err(errno::EEXIST);
        }
        if flags & RENAME_EXCHANGE != 0 {
            let Some(dst) = dst else {
                return Err(errno::ENOENT);
            };
            if (from.trailing && !src_dir) || (to.trailing && !dst_dir) {
                return Err(errno::ENOTDIR);
            }
            if src == dst {
                return Ok(());
            }
            if (src_dir && self.is_within(to.dir, src))
                || (dst_dir && self.is_within(from.dir, dst))
            {
                return Err(errno::EINVAL);
            }
            self.dir_mut(from.dir)?.replace(&from.name, dst);
            self.dir_mut(to.dir)?.replace(&to.name, src);
            if from.dir != to.dir {
                for (ino, is_dir, old_parent, new_parent) in [
                    (src, src_dir, from.dir, to.dir),
                    (dst, dst_dir, to.dir, from.dir),
                ] {
                    if is_dir {
                        self.dir_mut(ino)?.parent = new_parent;
                        self.node_mut(old_parent)?.nlink -= 1;
                        self.node_mut(new_parent)?.nlink += 1;
                    }
                }
            }
            for ino in [src, dst, from.dir, to.dir] {
                let node = self.node_mut(ino)?;
                node.ctime = ctx.now;
            }
            for dir in [from.dir, to.dir] {
                self.node_mut(dir)?.mtime = ctx.now;
            }
            return Ok(());
        }
        if !src_dir && (from.trailing || to.trailing) {
            return Err(errno::ENOTDIR);
        }
        if dst == Some(src) {
            return Ok(());
        }
        if src_dir && self.is_within(to.dir, src) {
            return Err(errno::EINVAL);
        }
        if let Some(dst) = dst {
            match (src_dir, &self.node(dst)?.kind) {
                (true, Kind::Dir(d)) if !d.is_empty() => return Err(errno::ENOTEMPTY),
                (true, Kind::Dir(_)) => {}
                (true, Kind::FdDir { .. }) => return Err(errno::EACCES),
                (true, _) => return Err(errno::ENOTDIR),
                (false, _) if dst_dir => return Err(errno::EISDIR),
                (false, _) => {}
            }
            if self.is_within(from.dir, dst) {
                // Renaming a/b/c over a/b: the target is an ancestor, so not empty.
                return Err(errno::ENOTEMPTY);
            }
        }
        // Charge the new entry first: the only step that can fail.
        self.budget.charge(ENTRY_COST + 2 * to.name.len() as u64)?;
        if let Some(dst) = dst {
            self.dir_mut(to.dir)?.remove(&to.name);
            let node = self.node_mut(dst)?;
            if dst_dir {
                node.nlink = 0;
            } else {
                node.nlink = node.nlink.saturating_sub(1);
            }
            node.ctime = ctx.now;
            if dst_dir {
                let parent = self.node_mut(to.dir)?;
                parent.nlink = parent.nlink.saturating_sub(1);
            }
            self.budget.refund(ENTRY_COST + 2 * to.name.len() as u64);
            self.maybe_free(dst);
        }
        self.remove_entry(from.dir, &from.name, ctx.now)?;
        self.dir_mut(to.dir)?.insert(&to.name, src);
        if src_dir && from.dir != to.dir {
            self.dir_mut(src)?.parent = to.dir;
            self.node_mut(from.dir)?.nlink -= 1;
            self.node_mut(to.dir)?.nlink += 1;
        }
        self.node_mut(src)?.ctime = ctx.now;
        let parent = self.node_mut(to.dir)?;
        parent.mtime = ctx.now;
        parent.ctime = ctx.now;
        Ok(())
    }

    /// `readlinkat`: a symbolic link's content, or what a `/proc/self/fd` entry refers to.
    pub fn readlink(&self, ctx: &Ctx<'_>, at: Ino, path: &[u8]) -> Result<Vec<u8>> {
        let w = self.walk(ctx, at, path, false)?;
        match w.found.ok_or(errno::ENOENT)? {
            Found::FdLink(fd) => ctx.fds.fd(fd).map(|f| f.path).ok_or(errno::ENOENT),
            Found::Node(ino) => match &self.node(ino)?.kind {
                Kind::Symlink(target) if !w.trailing => Ok(target.to_vec()),
                _ => Err(errno::EINVAL),
            },
        }
    }

    // ---- contents --------------------------------------------------------------------

    fn data(&self, ino: Ino) -> Result<&Data<'img>> {
        match &self.node(ino)?.kind {
            Kind::File(data) => Ok(data),
            Kind::Dir(_) | Kind::FdDir { .. } => Err(errno::EISDIR),
            _ => Err(errno::EINVAL),
        }
    }

    /// Runs `f` on the data of regular file `ino` with the tmpfs budget and whether shared
    /// mappings show its pages (the one way a file's data changes); returns what `f` did and
    /// the inode, to stamp. Errors as [`Vfs::data`].
    fn with_file<R>(
        &mut self,
        ino: Ino,
        f: impl FnOnce(&mut Data<'img>, &mut Budget, bool) -> Result<R>,
    ) -> Result<(R, &mut Inode<'img>)> {
        self.data(ino)?;
        let Vfs { nodes, budget, .. } = self;
        let node = nodes
            .get_mut(ino as usize)
            .and_then(Option::as_mut)
            .ok_or(errno::EBADF)?;
        let mapped_shared = node.mapped_shared;
        let Kind::File(file) = &mut node.kind else {
            return Err(errno::EINVAL);
        };
        let r = f(file, budget, mapped_shared)?;
        Ok((r, node))
    }

    /// `pread`: bytes of regular file `ino` from `offset` (0 at the end).
    pub fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        Ok(self.data(ino)?.read_at(offset, buf))
    }

    /// `pwrite`: writes into regular file `ino` at `offset`, growing it (a gap reads as
    /// zeros). A short count means memory ran out part-way; none at all is `ENOSPC`.
    pub fn write_at(&mut self, ctx: &Ctx<'_>, ino: Ino, offset: u64, data: &[u8]) -> Result<usize> {
        let (n, node) =
            self.with_file(ino, |file, budget, _| file.write_at(offset, data, budget))?;
        if n > 0 {
            node.mtime = ctx.now;
            node.ctime = ctx.now;
        }
        Ok(n)
    }

    /// `write` on an `O_APPEND` file: at the end. Returns the count and the new end.
    pub fn append(&mut self, ctx: &Ctx<'_>, ino: Ino, data: &[u8]) -> Result<(usize, u64)> {
        let end = self.data(ino)?.size();
        let n = self.write_at(ctx, ino, end, data)?;
        Ok((n, end + n as u64))
    }

    /// The size of `ino` (`lseek(SEEK_END)`).
    pub fn size(&self, ino: Ino) -> Result<u64> {
        let node = self.node(ino)?;
        Ok(match &node.kind {
            Kind::File(data) => data.size(),
            Kind::Symlink(target) => target.len() as u64,
            _ => 0,
        })
    }

    /// `ftruncate`: sets the size of regular file `ino`.
    pub fn truncate(&mut self, ctx: &Ctx<'_>, ino: Ino, len: u64) -> Result<()> {
        let ((), node) = self.with_file(ino, |file, budget, mapped| {
            file.truncate(len, budget, mapped)
        })?;
        node.mtime = ctx.now;
        node.ctime = ctx.now;
        Ok(())
    }

    /// `fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)` on regular file `ino`.
    pub fn punch_hole(&mut self, ctx: &Ctx<'_>, ino: Ino, offset: u64, len: u64) -> Result<()> {
        let ((), node) = self.with_file(ino, |file, budget, mapped| {
            file.punch_hole(offset, len, budget, mapped)
        })?;
        node.mtime = ctx.now;
        node.ctime = ctx.now;
        Ok(())
    }

    // ---- shared mappings -------------------------------------------------------------

    /// The address of the page of regular file `ino` that holds byte `index * PAGE_SIZE`, for
    /// a `MAP_SHARED` mapping to show (a hole becomes a zeroed page, charged like a write:
    /// `ENOSPC` past the limit); `None` when the page lies wholly past the end of the file.
    /// The page stays where it is while the file is marked with [`Vfs::set_mapped_shared`].
    pub fn shared_page(&mut self, ino: Ino, index: u64) -> Result<Option<u64>> {
        self.with_file(ino, |file, budget, _| file.page_addr(index, budget))
            .map(|(page, _)| page)
    }

    /// Marks whether shared mappings show the pages of `ino`: while they do, shrinking the
    /// file zeroes the pages past its end instead of freeing them; unmarking frees those.
    pub fn set_mapped_shared(&mut self, ino: Ino, mapped: bool) {
        let Vfs { nodes, budget, .. } = self;
        let Some(node) = nodes.get_mut(ino as usize).and_then(Option::as_mut) else {
            return;
        };
        node.mapped_shared = mapped;
        if let (Kind::File(file), false) = (&mut node.kind, mapped) {
            file.trim(budget);
        }
    }

    // ---- metadata --------------------------------------------------------------------

    /// `fstat`.
    pub fn stat(&self, ino: Ino) -> Result<Stat> {
        let node = self.node(ino)?;
        let file_type = node.kind.file_type();
        let (size, blocks) = match &node.kind {
            Kind::File(data) => (data.size(), data.blocks()),
            Kind::Symlink(target) => (target.len() as u64, 0),
            Kind::Dir(_) | Kind::FdDir { .. } => (super::PAGE_SIZE as u64, 0),
            _ => (0, 0),
        };
        Ok(Stat {
            dev: DEV,
            ino,
            mode: file_type.mode_bits() | node.perm,
            nlink: node.nlink,
            uid: node.uid,
            gid: node.gid,
            rdev: match node.kind {
                Kind::CharDev(dev) => dev.rdev(),
                _ => 0,
            },
            size,
            blksize: super::PAGE_SIZE as u32,
            blocks,
            atime: node.atime,
            mtime: node.mtime,
            ctime: node.ctime,
        })
    }

    /// `fstatat`: like [`Vfs::stat`] for a path; an unfollowed `/proc/self/fd` entry shows
    /// as a symbolic link, as on Linux.
    pub fn stat_at(&self, ctx: &Ctx<'_>, at: Ino, path: &[u8], follow: bool) -> Result<Stat> {
        let w = self.walk(ctx, at, path, follow)?;
        let found = w.found.ok_or(errno::ENOENT)?;
        if let (Found::FdLink(fd), false) = (found, follow) {
            let info = ctx.fds.fd(fd).ok_or(errno::ENOENT)?;
            let dir = self.node(w.dir)?;
            return Ok(Stat {
                dev: DEV,
                ino: 0x4000_0000 + u64::from(fd),
                mode: S_IFLNK | 0o700,
                nlink: 1,
                uid: 0,
                gid: 0,
                rdev: 0,
                size: info.path.len() as u64,
                blksize: super::PAGE_SIZE as u32,
                blocks: 0,
                atime: dir.atime,
                mtime: dir.mtime,
                ctime: dir.ctime,
            });
        }
        let ino = self.target(ctx, found)?;
        if w.trailing && !self.node(ino)?.is_dir() {
            return Err(errno::ENOTDIR);
        }
        self.stat(ino)
    }

    /// `faccessat`: `F_OK` or any of `R_OK`/`W_OK`/`X_OK` for root: read and write always
    /// pass; execute needs a directory or some execute bit.
    pub fn access(
        &self,
        ctx: &Ctx<'_>,
        at: Ino,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<()> {
        if mode & !(R_OK | W_OK | X_OK) != 0 {
            return Err(errno::EINVAL);
        }
        let st = self.stat_at(ctx, at, path, follow)?;
        if mode & X_OK != 0 && st.mode & S_IFMT != S_IFDIR && st.mode & 0o111 == 0 {
            return Err(errno::EACCES);
        }
        Ok(())
    }

    /// `fchmod`: the permission bits (`mode & 07777`).
    pub fn chmod(&mut self, ctx: &Ctx<'_>, ino: Ino, mode: u32) -> Result<()> {
        let node = self.node_mut(ino)?;
        if matches!(node.kind, Kind::Symlink(_)) {
            return Err(errno::EOPNOTSUPP);
        }
        node.perm = mode & 0o7777;
        node.ctime = ctx.now;
        Ok(())
    }

    /// `fchown`: owner and group (`None` keeps one, as -1 does).
    pub fn chown(
        &mut self,
        ctx: &Ctx<'_>,
        ino: Ino,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<()> {
        let node = self.node_mut(ino)?;
        if let Some(uid) = uid {
            node.uid = uid;
        }
        if let Some(gid) = gid {
            node.gid = gid;
        }
        node.ctime = ctx.now;
        Ok(())
    }

    /// `utimensat` on an inode.
    pub fn utimens(
        &mut self,
        ctx: &Ctx<'_>,
        ino: Ino,
        atime: TimeSet,
        mtime: TimeSet,
    ) -> Result<()> {
        let node = self.node_mut(ino)?;
        if atime == TimeSet::Omit && mtime == TimeSet::Omit {
            return Ok(());
        }
        for (set, slot) in [(atime, &mut node.atime), (mtime, &mut node.mtime)] {
            match set {
                TimeSet::Now => *slot = ctx.now,
                TimeSet::At(t) => *slot = t,
                TimeSet::Omit => {}
            }
        }
        node.ctime = ctx.now;
        Ok(())
    }

    /// `statfs`: tmpfs numbers for the whole file system.
    pub fn statfs(&self) -> StatFs {
        let bsize = super::PAGE_SIZE as u64;
        let blocks = self.budget.limit / bsize;
        let free = self.budget.limit.saturating_sub(self.budget.used) / bsize;
        let files = self.budget.limit / INODE_COST;
        let used_files = (self.nodes.len() - 1 - self.free.len()) as u64;
        StatFs {
            fs_type: TMPFS_MAGIC,
            bsize,
            blocks,
            bfree: free,
            bavail: free,
            files,
            ffree: files.saturating_sub(used_files),
            namelen: NAME_MAX as u64,
            frsize: bsize,
        }
    }

    // ---- directories -----------------------------------------------------------------

    /// `getdents64`: writes `linux_dirent64` records of directory `ino` into `out`, starting
    /// at position `cookie` (0 at first, then the returned one). Returns the bytes written
    /// (0 at the end) and the next cookie; `EINVAL` if not even one record fits.
    pub fn getdents(
        &self,
        ctx: &Ctx<'_>,
        ino: Ino,
        cookie: u64,
        out: &mut [u8],
    ) -> Result<(usize, u64)> {
        let node = self.node(ino)?;
        let mut w = super::dirent::Writer::new(out);
        let mut pos = cookie;
        let dead = node.nlink == 0;
        let parent = self.parent_of(ino)?;
        if !dead {
            for (p, name, target) in [(0, &b"."[..], ino), (1, &b".."[..], parent)] {
                if pos == p {
                    let t = self.node(target)?.kind.file_type();
                    if !w.push(target, p + 1, t, name)? {
                        return Ok((w.len(), pos));
                    }
                    pos = p + 1;
                }
            }
        }
        pos = pos.max(FIRST_POS);
        match &node.kind {
            Kind::Dir(d) => {
                for (&p, (name, child)) in d.by_pos.range(pos..) {
                    let t = self.node(*child)?.kind.file_type();
                    if !w.push(*child, p + 1, t, name)? {
                        return Ok((w.len(), p));
                    }
                    pos = p + 1;
                }
            }
            Kind::FdDir { .. } => {
                for fd in ctx.fds.fds() {
                    let p = FIRST_POS + u64::from(fd);
                    if p < pos {
                        continue;
                    }
                    let mut name = [0u8; 10];
                    let name = fmt_u32(fd, &mut name);
                    if !w.push(0x4000_0000 + u64::from(fd), p + 1, FileType::Symlink, name)? {
                        return Ok((w.len(), p));
                    }
                    pos = p + 1;
                }
            }
            _ => return Err(errno::ENOTDIR),
        }
        Ok((w.len(), pos))
    }

    // ---- building the initial tree ---------------------------------------------------

    /// Creates `path` (absolute) as `kind` with the given metadata, making missing parent
    /// directories (0755). An existing directory at `path` takes the new metadata if `kind`
    /// is a directory too; an existing non-directory is replaced by a non-directory;
    /// anything else is `EEXIST`. For archives and the standard tree.
    pub(crate) fn install(
        &mut self,
        ctx: &Ctx<'_>,
        path: &[u8],
        kind: Kind<'img>,
        perm: u32,
        owner: (u32, u32),
        mtime: Timespec,
    ) -> Result<Ino> {
        let mut dir = ROOT;
        let mut parts = components(path).peekable();
        let mut name: &[u8] = b"";
        while let Some(part) = parts.next() {
            if part == b".." || part.len() > NAME_MAX {
                return Err(errno::EINVAL);
            }
            if part == b"." {
                continue;
            }
            if parts.peek().is_none() {
                name = part;
                break;
            }
            dir = match self.child(ctx, dir, part)? {
                Some(found) => {
                    let ino = self.target(ctx, found)?;
                    match self.node(ino)?.kind {
                        Kind::Dir(_) => ino,
                        // Follow a link an earlier entry made (e.g. lib -> usr/lib).
                        Kind::Symlink(_) => self.lookup(ctx, dir, part, true)?,
                        _ => return Err(errno::ENOTDIR),
                    }
                }
                None => self.make(ctx, dir, part, Kind::Dir(Dir::new(dir)), 0o755)?,
            };
            if !self.node(dir)?.is_dir() {
                return Err(errno::ENOTDIR);
            }
        }
        let new_is_dir = matches!(kind, Kind::Dir(_) | Kind::FdDir { .. });
        let ino = if name.is_empty() {
            if !new_is_dir {
                return Err(errno::EEXIST);
            }
            ROOT
        } else {
            match self.child(ctx, dir, name)? {
                Some(Found::Node(old)) => {
                    let old_is_dir = self.node(old)?.is_dir();
                    match (old_is_dir, new_is_dir) {
                        (true, true) => old,
                        (false, false) => {
                            self.unlink(ctx, dir, name)?;
                            self.make(ctx, dir, name, kind, perm)?
                        }
                        _ => return Err(errno::EEXIST),
                    }
                }
                Some(Found::FdLink(_)) => return Err(errno::EEXIST),
                None => {
                    let is_fd_dir = matches!(kind, Kind::FdDir { .. });
                    let kind = match kind {
                        Kind::Dir(_) => Kind::Dir(Dir::new(dir)),
                        Kind::FdDir { .. } => Kind::FdDir { parent: dir },
                        other => other,
                    };
                    let ino = self.make(ctx, dir, name, kind, perm)?;
                    if is_fd_dir {
                        // make() counts only plain directories as subdirectories.
                        self.node_mut(dir)?.nlink += 1;
                    }
                    ino
                }
            }
        };
        let node = self.node_mut(ino)?;
        node.perm = perm & 0o7777;
        (node.uid, node.gid) = owner;
        node.mtime = mtime;
        Ok(ino)
    }

    /// Seals directory `ino` (as `/proc`): no names can be added, removed or renamed in it.
    pub(crate) fn seal(&mut self, ino: Ino) -> Result<()> {
        self.node_mut(ino)?.sealed = true;
        Ok(())
    }

    /// Lifts [`Vfs::seal`] (for the runtime's own changes to a sealed tree, e.g. `/proc`).
    pub(crate) fn unseal(&mut self, ino: Ino) -> Result<()> {
        self.node_mut(ino)?.sealed = false;
        Ok(())
    }

    /// Sets the contents of regular file `ino` (archive bytes, used in place).
    pub(crate) fn set_image_data(&mut self, ino: Ino, bytes: &'img [u8]) -> Result<()> {
        let Vfs { nodes, budget, .. } = self;
        let node = nodes
            .get_mut(ino as usize)
            .and_then(Option::as_mut)
            .ok_or(errno::EBADF)?;
        let Kind::File(data) = &mut node.kind else {
            return Err(errno::EINVAL);
        };
        budget.refund(data.charged());
        *data = Data::Image(bytes);
        Ok(())
    }
}

/// The non-empty components of a path.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// A descriptor number in canonical decimal (no sign, no leading zeros).
fn parse_fd(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    let mut v: u64 = 0;
    for &b in name {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    u32::try_from(v).ok().filter(|&v| v <= i32::MAX as u32)
}

/// `v` in decimal, in `buf`.
fn fmt_u32(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
#[path = "vfs_tests.rs"]
mod tests;
