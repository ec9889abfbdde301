-- 0004: drop the two indexes 0003 added for statistics. The statistics query
-- tests cases.updated_at inside an OR with a NOT IN, and history.at after
-- joining history to cases by case id, so neither planner can use them
-- (EXPLAIN QUERY PLAN shows cases_created_at and history_case_version), while
-- every sync push paid an entry in each for every case and history row it
-- wrote: two of the eleven index entries of a report.
DROP INDEX IF EXISTS cases_updated_at;
DROP INDEX IF EXISTS history_at;
