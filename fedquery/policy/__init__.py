"""Governed sharing: per-department access rules, enforced by a planner pass before anything is pushed.

* :mod:`fedquery.policy.rules`   the rules file (Trino-like, TOML or JSON), loaded and reloaded on change
* :mod:`fedquery.policy.access`  what one principal may see of one table (shared by every entry point)
* :mod:`fedquery.policy.enforce` the planner pass: views with masks and filters replace governed tables
* :mod:`fedquery.policy.views`   the same decisions applied to ``tables``, ``statistics`` and ``inventory``
"""

from __future__ import annotations

from fedquery.policy.access import Access, key_flow_allowed, table_access, visible_columns

__all__ = ["Access", "key_flow_allowed", "table_access", "visible_columns"]
