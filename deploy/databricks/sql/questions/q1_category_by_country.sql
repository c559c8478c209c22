-- Q1: the most popular category in each country.
-- Columns: country, category, category_count
--
-- Unit: one post is one event `ind` (re-sent events were already collapsed in df_pin and df_geo).
-- Join: INNER JOIN df_pin with df_geo on ind; a pin without a location, or a location without a pin, has no
--       (country, category) pair to count.
-- Nulls: posts whose country or category is NULL are not counted.
-- Ties: every category sharing the top count of a country is kept; rows ordered by country, then category.
WITH counts AS (
  SELECT g.country, p.category, COUNT(*) AS category_count
  FROM df_pin AS p
  JOIN df_geo AS g ON p.ind = g.ind
  WHERE g.country IS NOT NULL AND p.category IS NOT NULL
  GROUP BY g.country, p.category
),
ranked AS (
  SELECT *, RANK() OVER (PARTITION BY country ORDER BY category_count DESC) AS place
  FROM counts
)
SELECT country, category, category_count
FROM ranked
WHERE place = 1
ORDER BY country, category
