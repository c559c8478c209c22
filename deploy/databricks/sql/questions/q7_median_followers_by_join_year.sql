-- Q7: the median follower count of users by the year they joined, 2015 to 2020.
-- Columns: post_year, median_follower_count
--
-- Median: the lower median, computed exactly (position (n + 1) DIV 2 of the sorted values; see q5).
-- Unit: one value per event `ind`: the follower_count of the event's pin, as in q5.
-- Year: the calendar year of df_user.date_joined; inclusive range 2015 to 2020. Years without data: no row.
-- Join: INNER JOIN df_pin with df_user on ind.
-- Nulls: events without a follower_count or a date_joined are left out.
-- Order: post_year.
WITH observations AS (
  SELECT year(u.date_joined) AS post_year, p.follower_count
  FROM df_pin AS p
  JOIN df_user AS u ON p.ind = u.ind
  WHERE p.follower_count IS NOT NULL AND u.date_joined IS NOT NULL
    AND year(u.date_joined) BETWEEN 2015 AND 2020
),
positioned AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY post_year ORDER BY follower_count) AS position,
    COUNT(*) OVER (PARTITION BY post_year) AS n
  FROM observations
)
SELECT post_year, follower_count AS median_follower_count
FROM positioned
WHERE position = (n + 1) DIV 2
ORDER BY post_year
