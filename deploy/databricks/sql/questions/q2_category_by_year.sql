-- Q2: the most popular category in each year from 2018 to 2022.
-- Columns: post_year, category, category_count
--
-- Year: the calendar year of the geolocation timestamp; the range is inclusive, 2018-01-01 00:00:00 up to
--       2022-12-31 23:59:59. Years without any post produce no row.
-- Unit: one post is one event `ind` (re-sent events were already collapsed).
-- Join: INNER JOIN df_pin with df_geo on ind (the year comes from df_geo, the category from df_pin).
-- Nulls: posts without a timestamp or a category are not counted.
-- Ties: every category sharing the top count of a year is kept; rows ordered by post_year, then category.
WITH counts AS (
  SELECT year(g.`timestamp`) AS post_year, p.category, COUNT(*) AS category_count
  FROM df_pin AS p
  JOIN df_geo AS g ON p.ind = g.ind
  WHERE g.`timestamp` IS NOT NULL AND p.category IS NOT NULL
    AND year(g.`timestamp`) BETWEEN 2018 AND 2022
  GROUP BY year(g.`timestamp`), p.category
),
ranked AS (
  SELECT *, RANK() OVER (PARTITION BY post_year ORDER BY category_count DESC) AS place
  FROM counts
)
SELECT post_year, category, category_count
FROM ranked
WHERE place = 1
ORDER BY post_year, category
