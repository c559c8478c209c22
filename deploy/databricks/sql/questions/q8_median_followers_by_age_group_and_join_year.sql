-- Q8: the median follower count by age group and joining year, 2015 to 2020.
-- Columns: age_group, post_year, median_follower_count
--
-- Median: the lower median, computed exactly (position (n + 1) DIV 2 of the sorted values; see q5).
-- Unit: one value per event `ind`: the follower_count of the event's pin, as in q5.
-- Age groups: see user_age_group.sql (18-24, 25-35, 36-50, +50 = 51 and older; inclusive).
-- Year: the calendar year of df_user.date_joined; inclusive range 2015 to 2020.
--       Combinations without data produce no row.
-- Join: INNER JOIN df_pin with df_user and user_age_group on ind.
-- Nulls: events without a follower_count, a date_joined or an age group are left out.
-- Order: age group (youngest first), then post_year.
WITH observations AS (
  SELECT a.age_group, a.age_group_order, year(u.date_joined) AS post_year, p.follower_count
  FROM df_pin AS p
  JOIN df_user AS u ON p.ind = u.ind
  JOIN user_age_group AS a ON p.ind = a.ind
  WHERE p.follower_count IS NOT NULL AND u.date_joined IS NOT NULL
    AND year(u.date_joined) BETWEEN 2015 AND 2020
),
positioned AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY age_group, post_year ORDER BY follower_count) AS position,
    COUNT(*) OVER (PARTITION BY age_group, post_year) AS n
  FROM observations
)
SELECT age_group, post_year, follower_count AS median_follower_count
FROM positioned
WHERE position = (n + 1) DIV 2
ORDER BY age_group_order, post_year
