-- SQLite reading its database through mmap (PRAGMA mmap_size): pages come from a MAP_SHARED
-- view of the file while SQLite writes with pwrite(2), so the view must see every write at
-- once; VACUUM shrinks the file under the view. Run by sqlite_driver on the host and in the
-- VM; the outputs are compared.
PRAGMA mmap_size = 268435456;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 50000)
INSERT INTO t(id, v, n) SELECT i, printf('value-%06d', i), i % 977 FROM k;
COMMIT;
SELECT count(*), sum(n), min(v), max(v) FROM t;
UPDATE t SET n = n * 2 WHERE id % 3 = 0;
SELECT sum(n) FROM t;
DELETE FROM t WHERE id > 40000;
SELECT count(*), sum(n) FROM t;
CREATE INDEX t_n ON t(n);
SELECT count(*) FROM t WHERE n BETWEEN 100 AND 200;
VACUUM;
SELECT count(*), sum(n), max(v) FROM t;
.reopen
PRAGMA mmap_size = 268435456;
SELECT count(*), sum(n) FROM t WHERE id % 7 = 0;
PRAGMA integrity_check;
.print done
