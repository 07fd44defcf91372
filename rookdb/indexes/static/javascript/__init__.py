"""JavaScript indexes: maps and reduces run in the embedded V8 engine, in the script host process
(``rookdb.ai.scripting``'s `HostedScript` with the host's ``index`` engine)."""
