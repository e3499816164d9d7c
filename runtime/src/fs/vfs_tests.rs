//! Linux semantics of the VFS operations, checked with values (no hardware).

use super::*;
use crate::errno::*;
use crate::fs::dirent;
use alloc::vec;

const T0: Timespec = Timespec { sec: 100, nsec: 0 };
const T1: Timespec = Timespec { sec: 200, nsec: 5 };

fn ctx() -> Ctx<'static> {
    Ctx::at(T0)
}

fn later() -> Ctx<'static> {
    Ctx::at(T1)
}

fn fresh() -> Vfs<'static> {
    Vfs::new(16 << 20, T0)
}

/// Creates a file with contents.
fn file(vfs: &mut Vfs<'_>, path: &str, body: &[u8]) -> Ino {
    let o = vfs
        .open(&ctx(), ROOT, path.as_bytes(), O_CREAT | O_WRONLY, 0o644)
        .unwrap();
    assert_eq!(vfs.write_at(&ctx(), o.ino, 0, body), Ok(body.len()));
    vfs.release(o.ino);
    o.ino
}

fn read(vfs: &Vfs<'_>, path: &str) -> Vec<u8> {
    let ino = vfs.lookup(&ctx(), ROOT, path.as_bytes(), true).unwrap();
    let mut buf = vec![0u8; vfs.size(ino).unwrap() as usize + 8];
    let n = vfs.read_at(ino, 0, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn names(vfs: &Vfs<'_>, path: &str) -> Vec<Vec<u8>> {
    let ino = vfs.lookup(&ctx(), ROOT, path.as_bytes(), true).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = vfs.getdents(&ctx(), ino, 0, &mut buf).unwrap();
    dirent::parse(&buf[..n]).map(|r| r.name.to_vec()).collect()
}

fn mode(vfs: &Vfs<'_>, path: &str) -> u32 {
    vfs.stat_at(&ctx(), ROOT, path.as_bytes(), false)
        .unwrap()
        .mode
}

#[test]
fn resolves_dot_dotdot_relative_and_repeated_slashes() {
    let mut v = fresh();
    let a = v.mkdir(&ctx(), ROOT, b"/a", 0o777).unwrap();
    let b = v.mkdir(&ctx(), a, b"b", 0o777).unwrap();
    assert_eq!(v.lookup(&ctx(), ROOT, b"/a//b/", true), Ok(b));
    assert_eq!(v.lookup(&ctx(), b, b"..", true), Ok(a));
    assert_eq!(v.lookup(&ctx(), b, b"../../..", true), Ok(ROOT));
    assert_eq!(v.lookup(&ctx(), b, b"./.././b/.", true), Ok(b));
    assert_eq!(v.lookup(&ctx(), b, b"/", true), Ok(ROOT));
    assert_eq!(v.lookup(&ctx(), b, b"///", true), Ok(ROOT));
    assert_eq!(v.lookup(&ctx(), ROOT, b"", true), Err(ENOENT));
    assert_eq!(v.lookup(&ctx(), ROOT, b"/nope/b", true), Err(ENOENT));
    // umask 022 applies to mkdir.
    assert_eq!(mode(&v, "/a"), S_IFDIR | 0o755);
    assert_eq!(v.dir_path(b), Ok(b"/a/b".to_vec()));
    assert_eq!(v.dir_path(ROOT), Ok(b"/".to_vec()));
}

#[test]
fn enotdir_and_trailing_slashes_follow_linux() {
    let mut v = fresh();
    file(&mut v, "/f", b"x");
    assert_eq!(v.lookup(&ctx(), ROOT, b"/f/", true), Err(ENOTDIR));
    assert_eq!(v.lookup(&ctx(), ROOT, b"/f/x", true), Err(ENOTDIR));
    assert_eq!(v.lookup(&ctx(), ROOT, b"/f/.", true), Err(ENOTDIR));
    assert_eq!(v.open(&ctx(), ROOT, b"/f/", O_RDONLY, 0), Err(ENOTDIR));
    assert_eq!(
        v.open(&ctx(), ROOT, b"/new/", O_CREAT | O_WRONLY, 0o644),
        Err(EISDIR)
    );
    assert_eq!(v.unlink(&ctx(), ROOT, b"/f/"), Err(ENOTDIR));
    assert_eq!(v.rmdir(&ctx(), ROOT, b"/f"), Err(ENOTDIR));
    // mkdir accepts a trailing slash; symlink and link do not create "x/".
    assert!(v.mkdir(&ctx(), ROOT, b"/d/", 0o755).is_ok());
    assert_eq!(v.symlink(&ctx(), b"f", ROOT, b"/s/"), Err(ENOENT));
    assert_eq!(
        v.link(&ctx(), ROOT, b"/f", ROOT, b"/l/", false),
        Err(ENOENT)
    );
    assert_eq!(v.unlink(&ctx(), ROOT, b"/d"), Err(EISDIR));
    assert!(v.rmdir(&ctx(), ROOT, b"/d/").is_ok());
    // A relative path from a non-directory.
    let f = v.lookup(&ctx(), ROOT, b"/f", true).unwrap();
    assert_eq!(v.lookup(&ctx(), f, b"x", true), Err(ENOTDIR));
}

#[test]
fn name_and_path_length_limits() {
    let mut v = fresh();
    let long = vec![b'n'; NAME_MAX + 1];
    assert_eq!(v.mkdir(&ctx(), ROOT, &long, 0o755), Err(ENAMETOOLONG));
    assert_eq!(v.lookup(&ctx(), ROOT, &long, true), Err(ENAMETOOLONG));
    assert!(v.mkdir(&ctx(), ROOT, &long[..NAME_MAX], 0o755).is_ok());
    let path = vec![b'/'; PATH_MAX];
    assert_eq!(v.lookup(&ctx(), ROOT, &path, true), Err(ENAMETOOLONG));
    assert_eq!(
        v.lookup(&ctx(), ROOT, &path[..PATH_MAX - 1], true),
        Ok(ROOT)
    );
}

#[test]
fn symlinks_follow_relative_to_their_directory_and_loop_out() {
    let mut v = fresh();
    v.mkdir(&ctx(), ROOT, b"/usr", 0o755).unwrap();
    v.mkdir(&ctx(), ROOT, b"/usr/lib", 0o755).unwrap();
    file(&mut v, "/usr/lib/libz", b"z");
    v.symlink(&ctx(), b"usr/lib", ROOT, b"/lib").unwrap();
    v.symlink(&ctx(), b"../lib/libz", ROOT, b"/usr/zlink")
        .unwrap();
    v.symlink(&ctx(), b"/", ROOT, b"/usr/root").unwrap();
    assert_eq!(read(&v, "/lib/libz"), b"z");
    assert_eq!(read(&v, "/usr/zlink"), b"z");
    assert_eq!(v.lookup(&ctx(), ROOT, b"/usr/root", true), Ok(ROOT));
    assert_eq!(
        v.lookup(&ctx(), ROOT, b"/usr/root/usr/lib/libz", true),
        v.lookup(&ctx(), ROOT, b"/lib/libz", true)
    );
    assert_eq!(mode(&v, "/lib"), S_IFLNK | 0o777);
    assert_eq!(v.stat_at(&ctx(), ROOT, b"/lib", false).unwrap().size, 7);
    assert_eq!(
        v.stat_at(&ctx(), ROOT, b"/lib", true).unwrap().mode,
        S_IFDIR | 0o755
    );
    // lstat with a trailing slash follows.
    assert_eq!(
        v.stat_at(&ctx(), ROOT, b"/lib/", false).unwrap().mode,
        S_IFDIR | 0o755
    );
    assert_eq!(v.readlink(&ctx(), ROOT, b"/lib"), Ok(b"usr/lib".to_vec()));
    assert_eq!(v.readlink(&ctx(), ROOT, b"/usr"), Err(EINVAL));
    // Loops.
    v.symlink(&ctx(), b"b", ROOT, b"/a").unwrap();
    v.symlink(&ctx(), b"a", ROOT, b"/b").unwrap();
    assert_eq!(v.lookup(&ctx(), ROOT, b"/a", true), Err(ELOOP));
    assert_eq!(v.lookup(&ctx(), ROOT, b"/a/x", false), Err(ELOOP));
    assert_eq!(
        v.open(&ctx(), ROOT, b"/a", O_CREAT | O_WRONLY, 0o644),
        Err(ELOOP)
    );
    // A chain of exactly 40 links resolves; 41 does not.
    file(&mut v, "/t0", b"end");
    for i in 1..=41 {
        let target = alloc::format!("t{}", i - 1);
        v.symlink(
            &ctx(),
            target.as_bytes(),
            ROOT,
            alloc::format!("/t{i}").as_bytes(),
        )
        .unwrap();
    }
    assert_eq!(read(&v, "/t40"), b"end");
    assert_eq!(v.lookup(&ctx(), ROOT, b"/t41", true), Err(ELOOP));
    assert!(v.lookup(&ctx(), ROOT, b"/t41", false).is_ok());
    // Dangling.
    v.symlink(&ctx(), b"/missing", ROOT, b"/dangling").unwrap();
    assert_eq!(v.lookup(&ctx(), ROOT, b"/dangling", true), Err(ENOENT));
    assert_eq!(v.symlink(&ctx(), b"", ROOT, b"/empty"), Err(ENOENT));
}

#[test]
fn open_flags_create_exclusive_truncate_directory_nofollow() {
    let mut v = fresh();
    let o = v
        .open(&ctx(), ROOT, b"/f", O_CREAT | O_RDWR, 0o666)
        .unwrap();
    assert!(o.created);
    assert_eq!(o.file_type, FileType::Regular);
    assert_eq!(mode(&v, "/f"), S_IFREG | 0o644);
    v.write_at(&ctx(), o.ino, 0, b"hello").unwrap();
    let again = v
        .open(&ctx(), ROOT, b"/f", O_CREAT | O_RDWR, 0o600)
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.ino, o.ino);
    assert_eq!(
        v.open(&ctx(), ROOT, b"/f", O_CREAT | O_EXCL | O_RDWR, 0o600),
        Err(EEXIST)
    );
    assert_eq!(read(&v, "/f"), b"hello");
    v.open(&later(), ROOT, b"/f", O_TRUNC | O_WRONLY, 0)
        .unwrap();
    assert_eq!(read(&v, "/f"), b"");
    assert_eq!(v.stat(o.ino).unwrap().mtime, T1);
    assert_eq!(v.open(&ctx(), ROOT, b"/nope", O_RDONLY, 0), Err(ENOENT));
    // Directories.
    v.mkdir(&ctx(), ROOT, b"/d", 0o755).unwrap();
    assert_eq!(v.open(&ctx(), ROOT, b"/d", O_WRONLY, 0), Err(EISDIR));
    assert_eq!(
        v.open(&ctx(), ROOT, b"/d", O_CREAT | O_RDONLY, 0),
        Err(EISDIR)
    );
    assert_eq!(
        v.open(&ctx(), ROOT, b"/d", O_RDONLY, 0).unwrap().file_type,
        FileType::Directory
    );
    assert_eq!(v.open(&ctx(), ROOT, b"/f", O_DIRECTORY, 0), Err(ENOTDIR));
    assert_eq!(
        v.open(&ctx(), ROOT, b"/x", O_DIRECTORY | O_CREAT, 0),
        Err(EINVAL)
    );
    // O_NOFOLLOW and O_CREAT through a dangling link.
    v.symlink(&ctx(), b"/f", ROOT, b"/lf").unwrap();
    assert_eq!(
        v.open(&ctx(), ROOT, b"/lf", O_RDONLY | O_NOFOLLOW, 0),
        Err(ELOOP)
    );
    let p = v
        .open(&ctx(), ROOT, b"/lf", O_PATH | O_NOFOLLOW, 0)
        .unwrap();
    assert_eq!(p.file_type, FileType::Symlink);
    v.symlink(&ctx(), b"/d/made", ROOT, b"/ld").unwrap();
    let made = v
        .open(&ctx(), ROOT, b"/ld", O_CREAT | O_WRONLY, 0o644)
        .unwrap();
    assert!(made.created);
    assert_eq!(v.lookup(&ctx(), ROOT, b"/d/made", true), Ok(made.ino));
    assert_eq!(
        v.open(&ctx(), ROOT, b"/ld", O_CREAT | O_EXCL | O_WRONLY, 0o644),
        Err(EEXIST)
    );
}

#[test]
fn o_tmpfile_makes_a_nameless_file_that_can_be_linked() {
    let mut v = fresh();
    v.mkdir(&ctx(), ROOT, b"/tmp", 0o1777).unwrap();
    assert_eq!(
        v.open(&ctx(), ROOT, b"/tmp", O_TMPFILE | O_RDONLY, 0o600),
        Err(EINVAL)
    );
    let o = v
        .open(&ctx(), ROOT, b"/tmp", O_TMPFILE | O_RDWR, 0o600)
        .unwrap();
    assert_eq!(v.stat(o.ino).unwrap().nlink, 0);
    v.write_at(&ctx(), o.ino, 0, b"data").unwrap();
    assert_eq!(names(&v, "/tmp"), [&b"."[..], b".."]);
    v.link_ino(&ctx(), o.ino, ROOT, b"/tmp/kept").unwrap();
    assert_eq!(read(&v, "/tmp/kept"), b"data");
    v.release(o.ino);
    assert_eq!(read(&v, "/tmp/kept"), b"data");
}

#[test]
fn reads_and_writes_at_offsets_with_sparse_growth() {
    let mut v = fresh();
    let f = file(&mut v, "/f", b"0123456789");
    assert_eq!(v.write_at(&later(), f, 5, b"abc"), Ok(3));
    assert_eq!(read(&v, "/f"), b"01234abc89");
    assert_eq!(v.write_at(&ctx(), f, 20, b"Z"), Ok(1));
    assert_eq!(v.size(f), Ok(21));
    let body = read(&v, "/f");
    assert_eq!(&body[10..20], &[0u8; 10]);
    let mut buf = [0u8; 4];
    assert_eq!(v.read_at(f, 19, &mut buf), Ok(2));
    assert_eq!(v.read_at(f, 21, &mut buf), Ok(0));
    assert_eq!(v.read_at(f, 1 << 40, &mut buf), Ok(0));
    assert_eq!(v.append(&ctx(), f, b"!!"), Ok((2, 23)));
    let d = v.mkdir(&ctx(), ROOT, b"/d", 0o755).unwrap();
    assert_eq!(v.read_at(d, 0, &mut buf), Err(EISDIR));
    assert_eq!(v.write_at(&ctx(), d, 0, b"x"), Err(EISDIR));
    // A write far past the end stores only the touched page.
    v.write_at(&ctx(), f, 10 << 20, b"far").unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!(st.size, (10 << 20) + 3);
    assert_eq!(st.blocks, 2 * 8);
}

#[test]
fn truncate_shrinks_and_grows() {
    let mut v = fresh();
    let f = file(&mut v, "/f", &[b'x'; 10_000]);
    v.truncate(&later(), f, 3).unwrap();
    assert_eq!(read(&v, "/f"), b"xxx");
    v.truncate(&ctx(), f, 6).unwrap();
    assert_eq!(read(&v, "/f"), b"xxx\0\0\0");
    let d = v.mkdir(&ctx(), ROOT, b"/d", 0o755).unwrap();
    assert_eq!(v.truncate(&ctx(), d, 0), Err(EISDIR));
}

#[test]
fn mkdir_rmdir_and_their_errors() {
    let mut v = fresh();
    let d = v.mkdir(&ctx(), ROOT, b"/d", 0o700).unwrap();
    assert_eq!(v.stat(ROOT).unwrap().nlink, 3);
    assert_eq!(v.stat(d).unwrap().nlink, 2);
    assert_eq!(v.mkdir(&ctx(), ROOT, b"/d", 0o700), Err(EEXIST));
    assert_eq!(v.mkdir(&ctx(), ROOT, b"/d/.", 0o700), Err(EEXIST));
    assert_eq!(v.mkdir(&ctx(), ROOT, b"/", 0o700), Err(EEXIST));
    assert_eq!(v.mkdir(&ctx(), ROOT, b"/x/y", 0o700), Err(ENOENT));
    v.mkdir(&ctx(), ROOT, b"/d/e", 0o700).unwrap();
    assert_eq!(v.stat(d).unwrap().nlink, 3);
    assert_eq!(v.rmdir(&ctx(), ROOT, b"/d"), Err(ENOTEMPTY));
    assert_eq!(v.rmdir(&ctx(), ROOT, b"/d/e/."), Err(EINVAL));
    assert_eq!(v.rmdir(&ctx(), ROOT, b"/d/e/.."), Err(ENOTEMPTY));
    assert_eq!(v.rmdir(&ctx(), ROOT, b"/"), Err(EBUSY));
    assert_eq!(v.rmdir(&ctx(), ROOT, b"/nope"), Err(ENOENT));
    v.rmdir(&ctx(), ROOT, b"/d/e").unwrap();
    assert_eq!(v.stat(d).unwrap().nlink, 2);
    // A removed directory held as a working directory: empty, no new names, no path.
    v.retain(d).unwrap();
    v.rmdir(&ctx(), ROOT, b"/d").unwrap();
    assert_eq!(v.stat(ROOT).unwrap().nlink, 2);
    assert_eq!(v.stat(d).unwrap().nlink, 0);
    assert_eq!(
        v.open(&ctx(), d, b"new", O_CREAT | O_WRONLY, 0o644),
        Err(ENOENT)
    );
    assert_eq!(v.dir_path(d), Err(ENOENT));
    let mut buf = [0u8; 128];
    assert_eq!(v.getdents(&ctx(), d, 0, &mut buf), Ok((0, FIRST_POS)));
    v.release(d);
    assert_eq!(v.stat(d), Err(EBADF));
}

#[test]
fn unlink_keeps_open_files_alive_and_frees_memory_after() {
    let mut v = Vfs::new(1 << 20, T0);
    let empty = v.usage().0;
    let o = v
        .open(&ctx(), ROOT, b"/f", O_CREAT | O_RDWR, 0o644)
        .unwrap();
    v.write_at(&ctx(), o.ino, 0, &[1u8; 50_000]).unwrap();
    v.unlink(&later(), ROOT, b"/f").unwrap();
    assert_eq!(v.lookup(&ctx(), ROOT, b"/f", true), Err(ENOENT));
    let mut buf = [0u8; 3];
    assert_eq!(v.read_at(o.ino, 49_998, &mut buf), Ok(2));
    assert_eq!(v.stat(o.ino).unwrap().nlink, 0);
    assert_eq!(v.stat(ROOT).unwrap().mtime, T1);
    v.release(o.ino);
    assert_eq!(v.usage().0, empty);
    assert_eq!(v.unlink(&ctx(), ROOT, b"/f"), Err(ENOENT));
    assert_eq!(v.unlink(&ctx(), ROOT, b"/"), Err(EISDIR));
    assert_eq!(v.unlink(&ctx(), ROOT, b"."), Err(EISDIR));
}

#[test]
fn hard_links_share_the_inode() {
    let mut v = fresh();
    let f = file(&mut v, "/a", b"x");
    v.link(&later(), ROOT, b"/a", ROOT, b"/b", false).unwrap();
    assert_eq!(v.stat(f).unwrap().nlink, 2);
    assert_eq!(v.stat(f).unwrap().ctime, T1);
    assert_eq!(v.link(&ctx(), ROOT, b"/a", ROOT, b"/b", false), Err(EEXIST));
    v.mkdir(&ctx(), ROOT, b"/d", 0o755).unwrap();
    assert_eq!(v.link(&ctx(), ROOT, b"/d", ROOT, b"/d2", false), Err(EPERM));
    v.symlink(&ctx(), b"a", ROOT, b"/s").unwrap();
    v.link(&ctx(), ROOT, b"/s", ROOT, b"/s2", false).unwrap();
    assert_eq!(mode(&v, "/s2") & S_IFMT, S_IFLNK);
    v.link(&ctx(), ROOT, b"/s", ROOT, b"/s3", true).unwrap();
    assert_eq!(v.lookup(&ctx(), ROOT, b"/s3", false), Ok(f));
    v.unlink(&ctx(), ROOT, b"/a").unwrap();
    assert_eq!(read(&v, "/b"), b"x");
    assert_eq!(v.stat(f).unwrap().nlink, 2);
}

#[test]
fn rename_files_over_files_and_into_directories() {
    let mut v = fresh();
    let a = file(&mut v, "/a", b"A");
    file(&mut v, "/b", b"B");
    v.rename(&later(), ROOT, b"/a", ROOT, b"/b", 0).unwrap();
    assert_eq!(read(&v, "/b"), b"A");
    assert_eq!(v.lookup(&ctx(), ROOT, b"/a", true), Err(ENOENT));
    assert_eq!(v.stat(a).unwrap().ctime, T1);
    assert_eq!(v.rename(&ctx(), ROOT, b"/a", ROOT, b"/c", 0), Err(ENOENT));
    v.mkdir(&ctx(), ROOT, b"/d", 0o755).unwrap();
    assert_eq!(v.rename(&ctx(), ROOT, b"/b", ROOT, b"/d", 0), Err(EISDIR));
    assert_eq!(v.rename(&ctx(), ROOT, b"/b/", ROOT, b"/e", 0), Err(ENOTDIR));
    assert_eq!(v.rename(&ctx(), ROOT, b"/b", ROOT, b"/e/", 0), Err(ENOTDIR));
    v.rename(&ctx(), ROOT, b"/b", ROOT, b"/d/b", 0).unwrap();
    assert_eq!(read(&v, "/d/b"), b"A");
    // Hard links of one inode: a no-op.
    v.link(&ctx(), ROOT, b"/d/b", ROOT, b"/d/b2", false)
        .unwrap();
    v.rename(&ctx(), ROOT, b"/d/b", ROOT, b"/d/b2", 0).unwrap();
    assert!(v.lookup(&ctx(), ROOT, b"/d/b", true).is_ok());
    // Flags.
    file(&mut v, "/x", b"X");
    assert_eq!(
        v.rename(&ctx(), ROOT, b"/x", ROOT, b"/d/b", RENAME_NOREPLACE),
        Err(EEXIST)
    );
    assert_eq!(
        v.rename(&ctx(), ROOT, b"/x", ROOT, b"/y", RENAME_WHITEOUT),
        Err(EINVAL)
    );
    assert_eq!(
        v.rename(&ctx(), ROOT, b"/x", ROOT, b"/y", RENAME_EXCHANGE),
        Err(ENOENT)
    );
    v.rename(&ctx(), ROOT, b"/x", ROOT, b"/d/b", RENAME_EXCHANGE)
        .unwrap();
    assert_eq!(read(&v, "/x"), b"A");
    assert_eq!(read(&v, "/d/b"), b"X");
    assert_eq!(v.rename(&ctx(), ROOT, b"/.", ROOT, b"/z", 0), Err(EBUSY));
    assert_eq!(v.rename(&ctx(), ROOT, b"/x", ROOT, b"/d/..", 0), Err(EBUSY));
}

#[test]
fn rename_directories_keeps_link_counts_and_refuses_cycles() {
    let mut v = fresh();
    let a = v.mkdir(&ctx(), ROOT, b"/a", 0o755).unwrap();
    let sub = v.mkdir(&ctx(), ROOT, b"/a/sub", 0o755).unwrap();
    let b = v.mkdir(&ctx(), ROOT, b"/b", 0o755).unwrap();
    assert_eq!(
        v.rename(&ctx(), ROOT, b"/a", ROOT, b"/a/sub/x", 0),
        Err(EINVAL)
    );
    assert_eq!(v.rename(&ctx(), ROOT, b"/a", ROOT, b"/a/x", 0), Err(EINVAL));
    assert_eq!(
        v.rename(&ctx(), ROOT, b"/a/sub", ROOT, b"/a", 0),
        Err(ENOTEMPTY)
    );
    file(&mut v, "/f", b"");
    assert_eq!(v.rename(&ctx(), ROOT, b"/a", ROOT, b"/f", 0), Err(ENOTDIR));
    v.rename(&ctx(), ROOT, b"/a/sub", ROOT, b"/b/sub", 0)
        .unwrap();
    assert_eq!(v.stat(a).unwrap().nlink, 2);
    assert_eq!(v.stat(b).unwrap().nlink, 3);
    assert_eq!(v.lookup(&ctx(), sub, b"..", true), Ok(b));
    assert_eq!(v.dir_path(sub), Ok(b"/b/sub".to_vec()));
    // Over an empty directory (which goes away) — and the moved one keeps its entries.
    file(&mut v, "/b/sub/inner", b"i");
    v.rename(&ctx(), ROOT, b"/b/sub", ROOT, b"/a", 0).unwrap();
    assert_eq!(read(&v, "/a/inner"), b"i");
    assert_eq!(v.stat(ROOT).unwrap().nlink, 4);
    assert_eq!(v.stat(b).unwrap().nlink, 2);
    assert_eq!(v.stat(a), Err(EBADF), "the replaced directory is freed");
    // Exchange a directory and a file across directories.
    file(&mut v, "/b/file", b"F");
    v.rename(&ctx(), ROOT, b"/a", ROOT, b"/b/file", RENAME_EXCHANGE)
        .unwrap();
    assert_eq!(read(&v, "/a"), b"F");
    assert_eq!(read(&v, "/b/file/inner"), b"i");
    assert_eq!(v.stat(b).unwrap().nlink, 3);
    assert_eq!(v.stat(ROOT).unwrap().nlink, 3);
}

#[test]
fn metadata_chmod_chown_utimens_and_access() {
    let mut v = fresh();
    let f = file(&mut v, "/f", b"abc");
    v.chmod(&later(), f, 0o104755).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!(st.mode, S_IFREG | 0o4755);
    assert_eq!(st.ctime, T1);
    v.chown(&ctx(), f, Some(1000), None).unwrap();
    v.chown(&ctx(), f, None, Some(50)).unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.uid, st.gid), (1000, 50));
    let t = Timespec { sec: 7, nsec: 9 };
    v.utimens(&later(), f, TimeSet::At(t), TimeSet::Omit)
        .unwrap();
    let st = v.stat(f).unwrap();
    assert_eq!((st.atime, st.mtime), (t, T0));
    v.utimens(&later(), f, TimeSet::Omit, TimeSet::Now).unwrap();
    assert_eq!(v.stat(f).unwrap().mtime, T1);
    let s = v.symlink(&ctx(), b"f", ROOT, b"/s").unwrap();
    assert_eq!(v.chmod(&ctx(), s, 0o600), Err(EOPNOTSUPP));
    // access as root.
    assert_eq!(
        v.access(&ctx(), ROOT, b"/f", R_OK | W_OK | X_OK, true),
        Ok(())
    );
    v.chmod(&ctx(), f, 0o644).unwrap();
    assert_eq!(v.access(&ctx(), ROOT, b"/f", X_OK, true), Err(EACCES));
    assert_eq!(v.access(&ctx(), ROOT, b"/f", R_OK | W_OK, true), Ok(()));
    assert_eq!(v.access(&ctx(), ROOT, b"/", X_OK, true), Ok(()));
    assert_eq!(v.access(&ctx(), ROOT, b"/nope", F_OK, true), Err(ENOENT));
    assert_eq!(v.access(&ctx(), ROOT, b"/f", 8, true), Err(EINVAL));
    let st = v.stat(f).unwrap();
    assert_eq!(
        (st.dev, st.ino, st.blksize, st.size, st.blocks),
        (DEV, f, 4096, 3, 8)
    );
}

#[test]
fn getdents_lists_in_creation_order_and_resumes_by_cookie() {
    let mut v = fresh();
    let d = v.mkdir(&ctx(), ROOT, b"/d", 0o755).unwrap();
    for name in ["one", "two", "three", "four"] {
        file(&mut v, &alloc::format!("/d/{name}"), b"");
    }
    v.mkdir(&ctx(), ROOT, b"/d/sub", 0o755).unwrap();
    assert_eq!(
        names(&v, "/d"),
        [&b"."[..], b"..", b"one", b"two", b"three", b"four", b"sub"]
    );
    // Read with a buffer that holds two records at a time; remove one entry mid-way and add
    // another: every surviving entry is seen exactly once.
    let mut seen = Vec::new();
    let mut cookie = 0;
    let mut buf = [0u8; 48];
    loop {
        let (n, next) = v.getdents(&ctx(), d, cookie, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        for r in dirent::parse(&buf[..n]) {
            seen.push((r.name.to_vec(), r.d_type));
        }
        if cookie == 0 {
            v.unlink(&ctx(), ROOT, b"/d/three").unwrap();
            file(&mut v, "/d/five", b"");
        }
        cookie = next;
    }
    let seen_names: Vec<_> = seen.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        seen_names,
        [&b"."[..], b"..", b"one", b"two", b"four", b"sub", b"five"]
    );
    assert_eq!(seen[5].1, 4, "sub is DT_DIR");
    assert_eq!(seen[2].1, 8, "one is DT_REG");
    let mut tiny = [0u8; 8];
    assert_eq!(v.getdents(&ctx(), d, 0, &mut tiny), Err(EINVAL));
    let f = v.lookup(&ctx(), ROOT, b"/d/one", true).unwrap();
    assert_eq!(v.getdents(&ctx(), f, 0, &mut buf), Err(ENOTDIR));
}

#[test]
fn tmpfs_full_is_enospc_and_memory_comes_back() {
    let mut v = Vfs::new(64 * 1024, T0);
    let f = file(&mut v, "/f", b"");
    let mut written = 0;
    loop {
        match v.write_at(&ctx(), f, written as u64, &[7u8; 10_000]) {
            Ok(n) => written += n,
            Err(e) => {
                assert_eq!(e, ENOSPC);
                break;
            }
        }
    }
    assert!(written > 40_000 && written < 64 * 1024, "{written}");
    let sfs = v.statfs();
    assert_eq!(sfs.fs_type, TMPFS_MAGIC);
    assert_eq!(sfs.bfree, 0);
    assert_eq!(sfs.blocks, 16);
    // Creating more names fails too, until the file shrinks.
    let mut created = 0;
    while v
        .open(
            &ctx(),
            ROOT,
            alloc::format!("/n{created}").as_bytes(),
            O_CREAT | O_WRONLY,
            0o644,
        )
        .is_ok()
    {
        created += 1;
        assert!(created < 1000);
    }
    assert_eq!(
        v.open(&ctx(), ROOT, b"/last", O_CREAT | O_WRONLY, 0o644),
        Err(ENOSPC)
    );
    assert_eq!(v.mkdir(&ctx(), ROOT, b"/dir", 0o755), Err(ENOSPC));
    v.truncate(&ctx(), f, 0).unwrap();
    assert!(v.mkdir(&ctx(), ROOT, b"/dir", 0o755).is_ok());
    assert!(v.statfs().bfree > 10);
}

#[test]
fn anonymous_inodes_for_pipes_and_sockets() {
    let mut v = fresh();
    let p = v.create_anon(&ctx(), FileType::Fifo, 0o600).unwrap();
    let st = v.stat(p).unwrap();
    assert_eq!(st.mode, S_IFIFO | 0o600);
    assert_eq!(st.nlink, 0);
    assert_eq!(v.read_at(p, 0, &mut [0u8; 1]), Err(EINVAL));
    assert_eq!(v.link_ino(&ctx(), p, ROOT, b"/p"), Err(ENOENT));
    v.release(p);
    assert_eq!(v.stat(p), Err(EBADF));
    assert_eq!(v.create_anon(&ctx(), FileType::Directory, 0), Err(EINVAL));
}
