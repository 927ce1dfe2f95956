-- Suppliers (CSV department) and customers (MariaDB department) per nation, with balances.
SELECT n.n_name, s.suppliers, s.supplier_balance, c.customers, c.customer_balance
FROM nation n
JOIN (SELECT s_nationkey, count(*) AS suppliers, sum(s_acctbal) AS supplier_balance FROM supplier GROUP BY s_nationkey) s
  ON s.s_nationkey = n.n_nationkey
JOIN (SELECT c_nationkey, count(*) AS customers, sum(c_acctbal) AS customer_balance FROM customer GROUP BY c_nationkey) c
  ON c.c_nationkey = n.n_nationkey
ORDER BY n.n_name;
