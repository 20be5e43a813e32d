"""One drill's life, owned by the library: prepare the backup, restore it, start the target in a sandbox, tear
everything down, timing every phase in one place. The pytest fixtures (`fixtures/`) are glue over this package."""
