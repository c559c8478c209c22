-- df_user: the cleaned users (shared/reference/pinterest-data.md §4), built from df_user_raw.
--
-- Rules:
--   * user_name = first_name || ' ' || last_name. Empty names count as missing: with one part missing the
--     other part alone is the name, with both missing user_name is NULL. first_name and last_name are dropped.
--   * age stays INT; date_joined becomes TIMESTAMP (ISO 'T' or space form; anything else becomes NULL).
--   * Re-sent events: exactly one row per `ind` (identical copies collapse, differing copies resolve by column
--     order, never by file order). Rows without `ind` are dropped.
--   * One person (same first_name, last_name, age, date_joined) under several keys stays several rows here:
--     each key is a separate event. The questions that count people (q6) count distinct persons.
--
-- Columns: ind, user_name, age, date_joined
CREATE OR REPLACE TEMP VIEW df_user AS
WITH typed AS (
  SELECT
    ind,
    NULLIF(concat_ws(' ', NULLIF(first_name, ''), NULLIF(last_name, '')), '') AS user_name,
    age,
    try_cast(date_joined AS TIMESTAMP) AS date_joined
  FROM df_user_raw
  WHERE ind IS NOT NULL
),
numbered AS (
  SELECT *,
    ROW_NUMBER() OVER (
      PARTITION BY ind
      ORDER BY user_name NULLS LAST, age NULLS LAST, date_joined NULLS LAST
    ) AS copy_number
  FROM typed
)
SELECT ind, user_name, age, date_joined
FROM numbered
WHERE copy_number = 1
