"""fedquery benchmarks: TPC-H split across departments, compared with DuckDB holding everything."""
