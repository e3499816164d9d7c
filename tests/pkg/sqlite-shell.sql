-- The SQLite shell's workload for tests/pkg.rs (after tests/thirdparty/sql/workload.sql):
-- schema, 100,000 rows in one transaction, an index, joins, aggregates, window and JSON
-- functions, a rolled-back transaction, the database closed and reopened, FTS5 and R*Tree.
-- The shell reads it with `.read`; the database is test.db in the current directory (the
-- VM's tmpfs there). No statement fails: the VM's console carries stderr with stdout.
.print -- schema
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id),
                    amount REAL, note TEXT);
INSERT INTO customers(id, name, city) VALUES
  (1, 'ada', 'London'), (2, 'brian', 'Toronto'), (3, 'claude', 'Paris'),
  (4, 'dennis', 'New York'), (5, 'edsger', NULL);
.print -- 100000 rows in one transaction
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO orders(id, customer, amount, note)
  SELECT i, 1 + i % 5, (i % 1000) / 4.0, printf('order-%06d', i) FROM n;
COMMIT;
SELECT count(*), sum(amount), min(note), max(note) FROM orders;
CREATE INDEX orders_by_customer ON orders(customer, amount);
.print -- joins and aggregates
SELECT c.name, count(o.id), round(sum(o.amount), 2), round(avg(o.amount), 4), max(o.amount)
  FROM customers c LEFT JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY c.id;
SELECT coalesce(c.city, 'nowhere'), count(*) FROM customers c JOIN orders o ON o.customer = c.id
  WHERE o.amount > 200 GROUP BY c.city ORDER BY 2 DESC, 1;
SELECT note FROM orders WHERE customer = 3 AND amount BETWEEN 10 AND 10.5 ORDER BY id LIMIT 5;
SELECT coalesce(city, 'nowhere'), length(name), upper(name) FROM customers ORDER BY name;
SELECT customer, id, amount, sum(amount) OVER (PARTITION BY customer ORDER BY id ROWS 2 PRECEDING)
  FROM orders WHERE id <= 12 ORDER BY customer, id;
SELECT json_object('n', count(*), 'top', max(amount)), json_extract('{"a":[1,2,{"b":3}]}', '$.a[2].b')
  FROM orders WHERE customer = 4;
SELECT count(*) FROM orders o1 JOIN orders o2 ON o2.id = o1.id + 1 WHERE o1.amount > o2.amount;
.print -- a rolled-back transaction
BEGIN;
DELETE FROM orders WHERE customer = 1;
UPDATE customers SET city = 'Nowhere';
SELECT count(*), (SELECT city FROM customers WHERE id = 1) FROM orders;
ROLLBACK;
SELECT count(*), (SELECT city FROM customers WHERE id = 1) FROM orders;
.print -- closed and reopened
.open test.db
SELECT count(*), sum(amount) FROM orders;
SELECT name FROM sqlite_schema ORDER BY name;
PRAGMA integrity_check;
UPDATE orders SET note = 'changed' WHERE id = 7;
.open test.db
SELECT note FROM orders WHERE id = 7;
.print -- full-text search and an R*Tree
CREATE VIRTUAL TABLE docs USING fts5(body);
INSERT INTO docs(body) VALUES ('unikernels boot fast'), ('the kernel and the program'), ('kiln turns programs into VMs');
SELECT rowid, highlight(docs, 0, '[', ']') FROM docs WHERE docs MATCH 'program*' ORDER BY rowid;
CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1);
INSERT INTO boxes VALUES (1, 0, 10, 0, 10), (2, 5, 15, 5, 15), (3, 20, 30, 20, 30);
SELECT id FROM boxes WHERE x1 >= 8 AND x0 <= 12 AND y1 >= 8 AND y0 <= 12 ORDER BY id;
SELECT sqlite_compileoption_used('ENABLE_FTS5'), sqlite_compileoption_used('THREADSAFE=1');
.print done
