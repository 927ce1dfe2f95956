"""``python -m connectors.pushdown --markdown``: the README's pushdown tables."""

from connectors.pushdown.readme import main

raise SystemExit(main())
