-- 0005: drop cases_org_path on SQLite. Every org-path condition fieldsync
-- issues is (org_path = ? OR org_path LIKE 'p/%' ESCAPE '\'), and SQLite
-- turns a LIKE into an index range only for a NOCASE column or with
-- case_sensitive_like on, so the OR as a whole cannot use the index: of the
-- 282 query plans of every list, statistics, pull, conflict and audit query
-- under every scope, none used it, with or without ANALYZE, and none changed
-- when it was dropped. Each case write still paid an entry in it. (On
-- PostgreSQL the index is built with text_pattern_ops, serves the LIKE, and
-- stays.)
DROP INDEX IF EXISTS cases_org_path;
