"""`python -m deepset_cloud.cli`: the `deepset-cloud` command without relying on the script's name."""

from deepset_cloud.cli import main

raise SystemExit(main())
