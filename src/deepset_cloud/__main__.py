"""`python -m deepset_cloud`: the `deepset-cloud` command, also where `deepset-cloud-sdk`'s script of the same
name was installed last or no script directory is on PATH."""

from deepset_cloud.cli import main

raise SystemExit(main())
