"""Tests of the async core: converter, config, retry, transport, client, download."""
