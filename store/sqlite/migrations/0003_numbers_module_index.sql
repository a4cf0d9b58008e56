-- The schema of store/postgres/migrations/0003_numbers_module_index.sql in SQLite's types;
-- each backend keeps its own DDL.
-- A search of one carrier module (knm_local, knm_inventory, knm_voxbone's pool) filters on
-- module, state and a number prefix. Led by state alone, the scan walks every number of
-- that state under the prefix whatever its module: 1,000,000 available numbers in one
-- area code made a knm_local search take a quarter of a second. Led by module and state,
-- it is a range scan of exactly the rows wanted.
CREATE INDEX numbers_module_state_number ON numbers (module_name, state, number);
