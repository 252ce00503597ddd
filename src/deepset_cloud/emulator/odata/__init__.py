"""OData `$filter` on file metadata: `parse` (odata-query's parser, wrapped) and `compile` (AST -> SQL)."""
