-- 0002: history entries keep the device clock offset measured at the sync
-- that carried them, and whether it was beyond the skew threshold.
ALTER TABLE history ADD COLUMN clock_offset BIGINT NOT NULL DEFAULT 0;
ALTER TABLE history ADD COLUMN clock_skewed BOOLEAN NOT NULL DEFAULT FALSE;
