-- user_age_group: the age group of each cleaned user event, shared by q4, q5 and q8.
--
-- Bounds (inclusive): '18-24' = 18..24, '25-35' = 25..35, '36-50' = 36..50, '+50' = 51 and older.
-- An age under 18, or a missing age, has no group: such events take no part in the age-group questions.
-- age_group_order (1..4) orders the groups youngest first; the labels themselves do not sort that way.
--
-- Columns: ind, age_group, age_group_order
CREATE OR REPLACE TEMP VIEW user_age_group AS
SELECT ind, age_group,
  CASE age_group WHEN '18-24' THEN 1 WHEN '25-35' THEN 2 WHEN '36-50' THEN 3 WHEN '+50' THEN 4 END
    AS age_group_order
FROM (
  SELECT ind,
    CASE
      WHEN age BETWEEN 18 AND 24 THEN '18-24'
      WHEN age BETWEEN 25 AND 35 THEN '25-35'
      WHEN age BETWEEN 36 AND 50 THEN '36-50'
      WHEN age > 50 THEN '+50'
    END AS age_group
  FROM df_user
) AS grouped
WHERE age_group IS NOT NULL
