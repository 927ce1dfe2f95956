-- Parts whose supply cost varies most between suppliers (Parquet and CSV departments).
SELECT p.p_partkey, p.p_name, count(*) AS suppliers, max(ps.ps_supplycost) - min(ps.ps_supplycost) AS spread
FROM part p
JOIN partsupp ps ON ps.ps_partkey = p.p_partkey
JOIN supplier s ON s.s_suppkey = ps.ps_suppkey
WHERE p.p_size > 45
GROUP BY p.p_partkey, p.p_name
ORDER BY spread DESC, p.p_partkey
LIMIT 20;
