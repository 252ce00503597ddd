"""The emulator's HTTP layer: routes and middleware (`app`), handlers that parse requests and answer
(`files`, `sessions`, `admin`), JSON errors and parameter parsing. Handlers never run SQL: they call the
store."""
