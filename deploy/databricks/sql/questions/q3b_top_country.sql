-- Q3b: the country whose top user (q3a) has the most followers.
-- Columns: country, follower_count
--
-- Same user, join and null rules as q3a. A country's top user's follower_count is the largest follower_count
-- among its posters, so several tied posters in one country still give that country one row.
-- Ties: one row, unless several countries share the largest value exactly; then all of them, ordered by country.
WITH per_country AS (
  SELECT g.country, MAX(p.follower_count) AS follower_count
  FROM df_pin AS p
  JOIN df_geo AS g ON p.ind = g.ind
  WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL AND p.follower_count IS NOT NULL
  GROUP BY g.country
)
SELECT country, follower_count
FROM per_country
WHERE follower_count = (SELECT MAX(follower_count) FROM per_country)
ORDER BY country
