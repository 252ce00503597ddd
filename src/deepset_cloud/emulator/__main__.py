"""`python -m deepset_cloud.emulator`."""

from __future__ import annotations

from deepset_cloud.emulator.cli import main

raise SystemExit(main())
