"""`python -m deepset_cloud.emulator`."""

from __future__ import annotations

import sys

try:
    from deepset_cloud.emulator import main
except ModuleNotFoundError as error:
    if error.name != "odata_query":
        raise
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(2) from None

raise SystemExit(main())
