-- Late deliveries (PostgreSQL department) by customer market segment (MariaDB department), 1996.
SELECT c.c_mktsegment, count(*) AS late_lines, avg(l.l_receiptdate - l.l_commitdate) AS avg_days_late
FROM lineitem l
JOIN orders o ON o.o_orderkey = l.l_orderkey
JOIN customer c ON c.c_custkey = o.o_custkey
WHERE l.l_receiptdate > l.l_commitdate AND o.o_orderdate >= DATE '1996-01-01' AND o.o_orderdate < DATE '1997-01-01'
GROUP BY c.c_mktsegment
ORDER BY c.c_mktsegment;
