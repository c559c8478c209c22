-- df_geo: the cleaned locations (shared/reference/pinterest-data.md §4), built from df_geo_raw.
--
-- Rules:
--   * coordinates = array(latitude, longitude), in that order, as ARRAY<DOUBLE>; NULL when either is missing
--     (half a coordinate pair is not a position). latitude and longitude are dropped.
--   * timestamp becomes TIMESTAMP; both '2020-08-28T03:52:47' and '2020-08-28 03:52:47' are read, text that is
--     not a timestamp becomes NULL. Times without an offset are taken as they are (the session time zone is UTC).
--   * An empty country becomes NULL.
--   * Re-sent events: exactly one row per `ind` (the same rule as df_pin: identical copies collapse, differing
--     copies resolve by column order, never by file order). Rows without `ind` are dropped.
--
-- Columns: ind, country, coordinates, timestamp
CREATE OR REPLACE TEMP VIEW df_geo AS
WITH typed AS (
  SELECT
    ind,
    NULLIF(country, '') AS country,
    latitude,
    longitude,
    try_cast(`timestamp` AS TIMESTAMP) AS `timestamp`
  FROM df_geo_raw
  WHERE ind IS NOT NULL
),
numbered AS (
  SELECT *,
    ROW_NUMBER() OVER (
      PARTITION BY ind
      ORDER BY country NULLS LAST, `timestamp` NULLS LAST, latitude NULLS LAST, longitude NULLS LAST
    ) AS copy_number
  FROM typed
)
SELECT
  ind,
  country,
  CASE WHEN latitude IS NULL OR longitude IS NULL THEN NULL ELSE array(latitude, longitude) END AS coordinates,
  `timestamp`
FROM numbered
WHERE copy_number = 1
