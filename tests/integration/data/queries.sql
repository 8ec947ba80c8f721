-- SQL workload for tests/integration/programs_test.sh (sqlite3 :memory:): inserts, indexes, joins, grouping
-- and string functions; every result is ordered, so the output is deterministic.
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, category INTEGER, price REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO items SELECT i, 'item' || (i * 7919 % 100003), i % 97, (i * 31 % 1000) / 10.0,
                         substr(hex(i * i), 1, 1 + i % 30)
FROM n;
CREATE INDEX items_by_category ON items(category, price);
CREATE TABLE categories(id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 96)
INSERT INTO categories SELECT i, 'cat-' || printf('%03d', i) FROM n;
SELECT count(*), sum(price), max(length(note)) FROM items;
SELECT c.label, count(*), round(avg(i.price), 3), max(i.name)
FROM items i JOIN categories c ON c.id = i.category
GROUP BY c.label ORDER BY c.label LIMIT 12;
SELECT name, group_concat(id, ';') FROM (SELECT name, id FROM items WHERE id % 1000 = 7 ORDER BY id)
GROUP BY name ORDER BY name LIMIT 10;
UPDATE items SET note = note || upper(note) WHERE category < 20;
DELETE FROM items WHERE price > 90;
SELECT count(*), sum(length(note)) FROM items;
SELECT category, count(DISTINCT substr(note, 1, 3)) FROM items GROUP BY category ORDER BY 2 DESC, 1 LIMIT 5;
