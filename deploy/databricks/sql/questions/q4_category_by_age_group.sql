-- Q4: the most popular category in each age group.
-- Columns: age_group, category, category_count
--
-- Age groups: see user_age_group.sql; inclusive bounds 18-24, 25-35, 36-50, and +50 = 51 and older; an age
--             under 18 or a missing age has no group.
-- Unit: one post is one event `ind` (re-sent events were already collapsed).
-- Join: INNER JOIN df_pin with user_age_group (from df_user) on ind.
-- Nulls: posts without a category are not counted.
-- Ties: every category sharing the top count of a group is kept; rows ordered by age group (youngest first),
--       then category.
WITH counts AS (
  SELECT a.age_group, a.age_group_order, p.category, COUNT(*) AS category_count
  FROM df_pin AS p
  JOIN user_age_group AS a ON p.ind = a.ind
  WHERE p.category IS NOT NULL
  GROUP BY a.age_group, a.age_group_order, p.category
),
ranked AS (
  SELECT *, RANK() OVER (PARTITION BY age_group ORDER BY category_count DESC) AS place
  FROM counts
)
SELECT age_group, category, category_count
FROM ranked
WHERE place = 1
ORDER BY age_group_order, category
