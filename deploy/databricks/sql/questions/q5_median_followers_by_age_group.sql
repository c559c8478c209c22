-- Q5: the median follower count in each age group.
-- Columns: age_group, median_follower_count
--
-- Median: the lower median, computed exactly: of the n values sorted ascending, the one at position
--         (n + 1) DIV 2 (1-based). It is the value Spark's percentile_approx(x, 0.5) aims at, without the
--         approximation. It is always one of the observed follower counts, an INT.
-- Unit: one value per event `ind`: the follower_count of that event's pin (re-sent events were already
--       collapsed, so a re-sent pin does not weigh twice). A person with several distinct events contributes
--       one value per event, because the follower count belongs to each pin's poster.
-- Age groups: see user_age_group.sql (18-24, 25-35, 36-50, +50 = 51 and older; inclusive).
-- Join: INNER JOIN df_pin with user_age_group (from df_user) on ind.
-- Nulls: events without a follower_count are left out.
-- Order: age groups youngest first.
WITH observations AS (
  SELECT a.age_group, a.age_group_order, p.follower_count
  FROM df_pin AS p
  JOIN user_age_group AS a ON p.ind = a.ind
  WHERE p.follower_count IS NOT NULL
),
positioned AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY age_group ORDER BY follower_count) AS position,
    COUNT(*) OVER (PARTITION BY age_group) AS n
  FROM observations
)
SELECT age_group, follower_count AS median_follower_count
FROM positioned
WHERE position = (n + 1) DIV 2
ORDER BY age_group_order
